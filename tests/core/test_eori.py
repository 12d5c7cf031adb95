"""EORI numbers and national company numbers: normalisation, general and national rules, each
failure with its own code and message."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils import translation
from stdnum import luhn
from stdnum.fr import siren as fr_siren
from stdnum.lu import tva as lu_tva

from comptoir.core.identifiers import (
    EORI_COUNTRY_CODES,
    EORI_MAX_LENGTH,
    EoriField,
    EoriModelField,
    EoriValidator,
    be_enterprise_number_validate,
    company_number_eori_candidates,
    company_number_validate,
    eori_is_valid,
    eori_normalise,
    eori_validate,
    siren_validate,
    siret_validate,
)

VALID_SIREN = "552100554"  # public SIREN (Luhn-valid)
VALID_SIRET = "55210055400013"  # its head office
VALID_LU_VAT = "15027442"
VALID_BE_ENTERPRISE = "0403170701"


def _with_bad_check_digit(number: str) -> str:
    """The same number with its last digit changed, so that the check digit fails."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def _failure(value: str) -> tuple[str, str]:
    with pytest.raises(ValidationError) as caught, translation.override("en"):
        eori_validate(value=value)
    error = caught.value
    with translation.override("en"):
        return error.code or "", str(error.messages[0])


def test_the_known_valid_numbers_used_here_are_valid_for_stdnum():
    assert fr_siren.is_valid(VALID_SIREN)
    assert lu_tva.is_valid(VALID_LU_VAT)
    assert not fr_siren.is_valid(_with_bad_check_digit(VALID_SIREN))


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("fr552100554", "FR552100554"),
        ("  FR 552 100 554  ", "FR552100554"),
        ("fr\t552100554\n", "FR552100554"),
        ("FR\u00a0552\u00a0100\u00a0554", "FR552100554"),  # non-breaking spaces pasted
        ("de-1234567", "DE-1234567"),  # symbols are kept, for validation to name them
        ("", ""),
    ],
)
def test_normalise_removes_whitespace_and_upper_cases(raw, normalised):
    assert eori_normalise(value=raw) == normalised


def test_validate_returns_the_normalised_number():
    assert eori_validate(value=" fr 552 100 554 ") == "FR552100554"


# --- general rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("", "eori_empty", "Enter an EORI number"),
        ("   ", "eori_empty", "Enter an EORI number"),
        (
            "552100554",
            "eori_no_country",
            "Enter an EORI number that starts with a country code, like FR123456789",
        ),
        (
            "F",
            "eori_no_country",
            "Enter an EORI number that starts with a country code, like FR123456789",
        ),
        (
            "1FR552100554",
            "eori_no_country",
            "Enter an EORI number that starts with a country code, like FR123456789",
        ),
        (
            "ÉS12345678",
            "eori_no_country",
            "Enter an EORI number that starts with a country code, like FR123456789",
        ),
        (
            "DE-1234567",
            "eori_invalid_characters",
            "An EORI number can only contain letters and numbers: remove any dots, hyphens "
            "or other symbols",
        ),
        (
            "FR552.100.554",
            "eori_invalid_characters",
            "An EORI number can only contain letters and numbers: remove any dots, hyphens "
            "or other symbols",
        ),
        (
            "GB123456789000",
            "eori_gb",
            "EORI numbers that start with GB are issued for Great Britain and are not "
            "accepted: enter an EORI number issued in the EU or in Northern Ireland (XI)",
        ),
        (
            "EL123456789",
            "eori_el",
            "Greek EORI numbers start with GR, not EL: enter the number with GR",
        ),
        (
            "US123456789",
            "eori_unknown_country",
            "US is not the code of an EU member state or of Northern Ireland (XI): enter an "
            "EORI number that starts with one of these codes",
        ),
        (
            "IT",
            "eori_no_number",
            "Enter the rest of the EORI number after the country code IT",
        ),
    ],
)
def test_general_rule_failures_have_their_own_message(value, code, message):
    assert _failure(value) == (code, message)


def test_the_country_codes_are_the_27_member_states_and_northern_ireland():
    assert len(EORI_COUNTRY_CODES) == 28
    assert "XI" in EORI_COUNTRY_CODES
    assert "GR" in EORI_COUNTRY_CODES
    assert not {"GB", "EL", "CH", "NO"} & EORI_COUNTRY_CODES


def test_seventeen_characters_is_the_limit():
    at_limit = "IT" + "1" * 15
    assert len(at_limit) == EORI_MAX_LENGTH
    assert eori_validate(value=at_limit) == at_limit
    assert _failure(at_limit + "1") == (
        "eori_too_long",
        "An EORI number must be 17 characters or fewer",
    )


def test_the_limit_counts_after_normalisation():
    spaced = "IT 11111 11111 11111"  # 20 characters typed, 17 once the spaces are gone
    assert eori_validate(value=spaced) == "IT111111111111111"


@pytest.mark.parametrize(
    "value",
    ["AT1234", "XI123456789000", "IEA1B2C3D4", "ES B12345678", "GR123456789", "pl1234567890"],
)
def test_countries_without_a_national_rule_follow_the_general_rule(value):
    assert eori_validate(value=value) == eori_normalise(value=value)
    assert eori_is_valid(value=value)


# --- France ------------------------------------------------------------------------------------

FR_FORMAT = (
    "eori_fr_format",
    "A French EORI number is FR followed by the 9-digit SIREN number or the 14-digit SIRET number",
)


def test_french_eori_with_a_siren_number():
    assert eori_validate(value=f"FR{VALID_SIREN}") == f"FR{VALID_SIREN}"


def test_french_eori_with_a_legacy_siret_number():
    assert eori_validate(value=f"FR{VALID_SIRET}") == f"FR{VALID_SIRET}"


def test_french_eori_with_a_computed_siren_number():
    body = "73282932"
    siren = body + luhn.calc_check_digit(body)
    assert eori_validate(value=f"fr {siren}") == f"FR{siren}"


@pytest.mark.parametrize(
    "value", ["FR12345678", "FR1234567890", "FR55210055400", "FRA52100554", "FR5521005540001X"]
)
def test_french_eori_of_the_wrong_shape(value):
    assert _failure(value) == FR_FORMAT


def test_french_eori_with_a_wrong_siren_check_digit():
    assert _failure(f"FR{_with_bad_check_digit(VALID_SIREN)}") == (
        "eori_fr_siren_checksum",
        "The SIREN number in this EORI number is not valid: check the digits",
    )


def test_french_eori_with_a_wrong_siret_check_digit():
    assert _failure(f"FR{_with_bad_check_digit(VALID_SIRET)}") == (
        "eori_fr_siret_checksum",
        "The SIRET number in this EORI number is not valid: check the digits",
    )


# --- Luxembourg --------------------------------------------------------------------------------


def test_luxembourg_eori():
    assert eori_validate(value=f"LU{VALID_LU_VAT}") == f"LU{VALID_LU_VAT}"
    body = "123456"
    computed = body + lu_tva.calc_check_digits(body)
    assert eori_validate(value=f"LU{computed}") == f"LU{computed}"


@pytest.mark.parametrize("value", ["LU1502744", "LU150274420", "LUB1502744"])
def test_luxembourg_eori_of_the_wrong_shape(value):
    assert _failure(value) == (
        "eori_lu_format",
        "A Luxembourg EORI number is LU followed by the 8-digit VAT number",
    )


def test_luxembourg_eori_with_wrong_check_digits():
    assert _failure(f"LU{_with_bad_check_digit(VALID_LU_VAT)}") == (
        "eori_lu_checksum",
        "The VAT number in this Luxembourg EORI number is not valid: check the digits",
    )


# --- Belgium -----------------------------------------------------------------------------------


def test_belgian_eori():
    assert eori_validate(value=f"BE{VALID_BE_ENTERPRISE}") == f"BE{VALID_BE_ENTERPRISE}"
    body = "10000000"  # new-style numbers start with 1
    computed = body + f"{97 - int(body) % 97:02d}"
    assert eori_validate(value=f"be {computed}") == f"BE{computed}"


@pytest.mark.parametrize(
    "value",
    [
        "BE403170701",  # the old 9-digit form: the EORI uses the 10-digit number
        "BE04031707010",
        "BE2403170701",  # enterprise numbers start with 0 or 1
        "BE040317070A",
    ],
)
def test_belgian_eori_of_the_wrong_shape(value):
    assert _failure(value) == (
        "eori_be_format",
        "A Belgian EORI number is BE followed by the 10-digit enterprise number, which starts "
        "with 0 or 1",
    )


def test_belgian_eori_with_wrong_check_digits():
    assert _failure(f"BE{_with_bad_check_digit(VALID_BE_ENTERPRISE)}") == (
        "eori_be_checksum",
        "The enterprise number in this Belgian EORI number is not valid: check the digits",
    )


# --- Netherlands and Germany -------------------------------------------------------------------


def test_dutch_eori():
    assert eori_validate(value="NL 123456789") == "NL123456789"


@pytest.mark.parametrize("value", ["NL12345678", "NL1234567890", "NL123456789B01"])
def test_dutch_eori_of_the_wrong_shape(value):
    assert _failure(value) == ("eori_nl_format", "A Dutch EORI number is NL followed by 9 digits")


@pytest.mark.parametrize("value", ["DE1234567", "DE123456789012345"])
def test_german_eori(value):
    assert eori_validate(value=value) == value


@pytest.mark.parametrize("value", ["DE123456", "DE12345678", "DE12345678901234", "DE123456A"])
def test_german_eori_of_the_wrong_shape(value):
    assert _failure(value) == (
        "eori_de_format",
        "A German EORI number is DE followed by 7 or 15 digits",
    )


def test_every_message_is_lazily_translated():
    from django.utils.functional import Promise

    from comptoir.core.identifiers import MESSAGES

    assert MESSAGES
    assert all(isinstance(message, Promise) for message in MESSAGES.values())


# --- form field, validator, model field --------------------------------------------------------


class _Form(forms.Form):
    eori = EoriField()


def test_form_field_gives_the_normalised_number():
    form = _Form(data={"eori": " fr 552 100 554 "})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["eori"] == "FR552100554"


def test_form_field_accepts_a_number_typed_with_spaces_past_17_characters():
    form = _Form(data={"eori": "IT 11111 11111 11111"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["eori"] == "IT111111111111111"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter an EORI number"),
        ("FR552100555", "The SIREN number in this EORI number is not valid: check the digits"),
        ("IT1111111111111111", "An EORI number must be 17 characters or fewer"),
    ],
)
def test_form_field_shows_one_specific_error(value, message):
    with translation.override("en"):
        form = _Form(data={"eori": value})
        assert not form.is_valid()
        assert form.errors["eori"] == [message]


def test_form_field_input_is_not_cut_and_not_spell_checked():
    html = str(_Form()["eori"])
    assert "maxlength" not in html
    assert 'spellcheck="false"' in html


def test_validator_and_model_field():
    validator = EoriValidator()
    validator("FR552100554")
    with pytest.raises(ValidationError):
        validator("FR552100555")
    assert validator == EoriValidator()

    field = EoriModelField(null=True, blank=True, unique=True)
    assert field.max_length == EORI_MAX_LENGTH
    _name, path, _args, kwargs = field.deconstruct()
    assert path == "comptoir.core.identifiers.EoriModelField"
    assert "max_length" not in kwargs
    field.run_validators("FR552100554")
    with pytest.raises(ValidationError) as caught:
        field.run_validators("FR55210055")
    assert caught.value.error_list[0].code == "eori_fr_format"
    form_field = field.formfield()
    assert isinstance(form_field, EoriField)
    assert form_field.clean("fr552100554") == "FR552100554"


# --- national company numbers ------------------------------------------------------------------


def test_siren_and_siret():
    assert siren_validate(value="552 100 554") == VALID_SIREN
    assert siret_validate(value="552 100 554 00013") == VALID_SIRET
    assert siret_validate(value="552.100.554.00013") == VALID_SIRET


@pytest.mark.parametrize(
    ("function", "value", "code"),
    [
        (siren_validate, "", "siren_empty"),
        (siren_validate, "55210055", "siren_format"),
        (siren_validate, "55210055A", "siren_format"),
        (siren_validate, "552100555", "siren_checksum"),
        (siret_validate, " ", "siret_empty"),
        (siret_validate, "5521005540001", "siret_format"),
        (siret_validate, "55210055400014", "siret_checksum"),
        (be_enterprise_number_validate, "", "be_enterprise_number_empty"),
        (be_enterprise_number_validate, "403.170.701", "be_enterprise_number_format"),
        (be_enterprise_number_validate, "2403170701", "be_enterprise_number_format"),
        (be_enterprise_number_validate, "0403.170.702", "be_enterprise_number_checksum"),
    ],
)
def test_company_number_failures(function, value, code):
    with pytest.raises(ValidationError) as caught:
        function(value=value)
    assert caught.value.code == code


def test_the_examples_in_the_company_number_messages_are_valid():
    assert siren_validate(value="123 456 782") == "123456782"
    assert siret_validate(value="123 456 782 00010") == "12345678200010"
    assert be_enterprise_number_validate(value="0403.170.701") == VALID_BE_ENTERPRISE


def test_belgian_enterprise_number_in_its_vat_form():
    assert be_enterprise_number_validate(value="BE 0403.170.701") == VALID_BE_ENTERPRISE


def test_company_number_by_country_and_its_eori_candidates():
    assert company_number_validate(country="fr", value="552 100 554") == VALID_SIREN
    siret = company_number_validate(country="FR", value="55210055400013")
    assert siret == VALID_SIRET
    assert company_number_eori_candidates(country="FR", number=siret) == [
        f"FR{VALID_SIREN}",
        f"FR{VALID_SIRET}",
    ]
    assert all(
        eori_is_valid(value=c) for c in company_number_eori_candidates(country="FR", number=siret)
    )
    be = company_number_validate(country="BE", value="0403.170.701")
    assert company_number_eori_candidates(country="BE", number=be) == [f"BE{be}"]
    assert eori_is_valid(value=f"BE{be}")
    with pytest.raises(ValidationError) as caught:
        company_number_validate(country="FR", value="1234567890")
    assert caught.value.code == "fr_company_number_format"
    with pytest.raises(ValidationError) as caught:
        company_number_validate(country="DE", value="1234567")
    assert caught.value.code == "company_number_country"
    assert company_number_eori_candidates(country="DE", number="1234567") == []
