"""Identifiers of economic operators: EORI numbers and national company numbers.

EORI numbers (Regulation (EU) 952/2013, Delegated Regulation 2015/2446 art. 1(18)): a country code
then at most 15 letters or digits, 17 characters in all. Comptoir accepts the codes of the 27 EU
member states and XI (Northern Ireland); Greece uses GR (not EL, its VAT prefix); GB numbers, issued
by the UK for Great Britain, are refused. Where the national rule is known, it is checked too, with
its check digits (see docs/eori.md).

Every failure raises a ValidationError with its own code and a message that says how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from stdnum import iso6346
from stdnum.be import vat as be_vat
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret
from stdnum.lu import tva as lu_tva

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

EORI_MAX_LENGTH = 17

#: The 27 EU member states (ISO 3166-1 alpha-2, GR for Greece) and XI for Northern Ireland.
EORI_COUNTRY_CODES = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
        "XI",
    }
)  # fmt: skip

_WHITESPACE = re.compile(r"\s+")
_ALPHANUMERIC = re.compile(r"[A-Z0-9]+")
_DIGITS = re.compile(r"[0-9]+")
_COMPANY_NUMBER_SEPARATORS = re.compile(r"[\s.\-]+")

MESSAGES: dict[str, StrPromise] = {
    "eori_empty": _("Enter an EORI number"),
    "eori_no_country": _(
        "Enter an EORI number that starts with a country code, like FR123456789"
    ),
    "eori_invalid_characters": _(
        "An EORI number can only contain letters and numbers: remove any dots, hyphens or "
        "other symbols"
    ),
    "eori_too_long": _("An EORI number must be 17 characters or fewer"),
    "eori_gb": _(
        "EORI numbers that start with GB are issued for Great Britain and are not accepted: "
        "enter an EORI number issued in the EU or in Northern Ireland (XI)"
    ),
    "eori_el": _("Greek EORI numbers start with GR, not EL: enter the number with GR"),
    "eori_unknown_country": _(
        "%(code)s is not the code of an EU member state or of Northern Ireland (XI): enter an "
        "EORI number that starts with one of these codes"
    ),
    "eori_no_number": _("Enter the rest of the EORI number after the country code %(code)s"),
    "eori_fr_format": _(
        "A French EORI number is FR followed by the 9-digit SIREN number or the 14-digit "
        "SIRET number"
    ),
    "eori_fr_siren_checksum": _(
        "The SIREN number in this EORI number is not valid: check the digits"
    ),
    "eori_fr_siret_checksum": _(
        "The SIRET number in this EORI number is not valid: check the digits"
    ),
    "eori_lu_format": _(
        "A Luxembourg EORI number is LU followed by the 8-digit VAT number"
    ),
    "eori_lu_checksum": _(
        "The VAT number in this Luxembourg EORI number is not valid: check the digits"
    ),
    "eori_be_format": _(
        "A Belgian EORI number is BE followed by the 10-digit enterprise number, which starts "
        "with 0 or 1"
    ),
    "eori_be_checksum": _(
        "The enterprise number in this Belgian EORI number is not valid: check the digits"
    ),
    "eori_nl_format": _("A Dutch EORI number is NL followed by 9 digits"),
    "eori_de_format": _("A German EORI number is DE followed by 7 or 15 digits"),
    "siren_empty": _("Enter a SIREN number"),
    "siren_format": _("A SIREN number is 9 digits, like 123 456 782"),
    "siren_checksum": _("This SIREN number is not valid: check the digits"),
    "siret_empty": _("Enter a SIRET number"),
    "siret_format": _("A SIRET number is 14 digits, like 123 456 782 00010"),
    "siret_checksum": _("This SIRET number is not valid: check the digits"),
    "fr_company_number_format": _(
        "Enter the 9-digit SIREN number or the 14-digit SIRET number"
    ),
    "be_enterprise_number_empty": _("Enter an enterprise number"),
    "be_enterprise_number_format": _(
        "A Belgian enterprise number is 10 digits and starts with 0 or 1, like 0403.170.701"
    ),
    "be_enterprise_number_checksum": _(
        "This Belgian enterprise number is not valid: check the digits"
    ),
    "company_number_country": _(
        "Company numbers can only be checked for France (SIREN or SIRET) and Belgium "
        "(enterprise number)"
    ),
}  # fmt: skip


def _fail(message_code: str, **params: str) -> ValidationError:
    return ValidationError(MESSAGES[message_code], code=message_code, params=params or None)


# --- EORI numbers ---------------------------------------------------------------------------


def eori_normalise(*, value: str) -> str:
    """The EORI number as stored and compared: no whitespace anywhere, upper case.

    Dots, hyphens and other symbols are kept, so that validation can say they are not allowed."""
    return _WHITESPACE.sub("", value or "").upper()


def _check_fr(rest: str) -> None:
    if not _DIGITS.fullmatch(rest) or len(rest) not in (9, 14):
        raise _fail("eori_fr_format")
    if len(rest) == 9:
        try:
            fr_siren.validate(rest)
        except StdnumValidationError:
            raise _fail("eori_fr_siren_checksum") from None
        return
    try:
        fr_siret.validate(rest)
    except StdnumValidationError:
        raise _fail("eori_fr_siret_checksum") from None


def _check_lu(rest: str) -> None:
    if not _DIGITS.fullmatch(rest) or len(rest) != 8:
        raise _fail("eori_lu_format")
    try:
        lu_tva.validate(rest)
    except StdnumValidationError:
        raise _fail("eori_lu_checksum") from None


def _check_be(rest: str) -> None:
    if not _DIGITS.fullmatch(rest) or len(rest) != 10 or rest[0] not in "01":
        raise _fail("eori_be_format")
    try:
        be_vat.validate(rest)
    except StdnumValidationError:
        raise _fail("eori_be_checksum") from None


def _check_nl(rest: str) -> None:
    # No check digit: the number is the RSIN or the fiscal number, and customs also issue
    # numbers to non-established operators; a wrong digit is left to the EU service check.
    if not _DIGITS.fullmatch(rest) or len(rest) != 9:
        raise _fail("eori_nl_format")


def _check_de(rest: str) -> None:
    # The customs number (Zollnummer) has no published check digit.
    if not _DIGITS.fullmatch(rest) or len(rest) not in (7, 15):
        raise _fail("eori_de_format")


NATIONAL_RULES: dict[str, Callable[[str], None]] = {
    "FR": _check_fr,
    "LU": _check_lu,
    "BE": _check_be,
    "NL": _check_nl,
    "DE": _check_de,
}


def eori_validate(*, value: str) -> str:
    """Return the normalised EORI number, or raise ValidationError (one code per failure)."""
    number = eori_normalise(value=value)
    if not number:
        raise _fail("eori_empty")
    code, rest = number[:2], number[2:]
    if len(code) < 2 or not code.isascii() or not code.isalpha():
        raise _fail("eori_no_country")
    if rest and not _ALPHANUMERIC.fullmatch(rest):
        raise _fail("eori_invalid_characters")
    if len(number) > EORI_MAX_LENGTH:
        raise _fail("eori_too_long")
    if code == "GB":
        raise _fail("eori_gb")
    if code == "EL":
        raise _fail("eori_el")
    if code not in EORI_COUNTRY_CODES:
        raise _fail("eori_unknown_country", code=code)
    if not rest:
        raise _fail("eori_no_number", code=code)
    rule = NATIONAL_RULES.get(code)
    if rule is not None:
        rule(rest)
    return number


def eori_is_valid(*, value: str) -> bool:
    try:
        eori_validate(value=value)
    except ValidationError:
        return False
    return True


@deconstructible
class EoriValidator:
    """A Django validator (models and forms) for EORI numbers; called with the value as given."""

    def __call__(self, value: Any) -> None:
        eori_validate(value=str(value))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EoriValidator)

    def __hash__(self) -> int:
        return hash(EoriValidator)


class EoriField(forms.CharField):
    """A form field that normalises the EORI number (spaces, case) and validates it.

    `cleaned_data` holds the normalised number. There is no maxlength on the input, so that a
    number typed with spaces is not cut; the 17-character rule is checked with its own message."""

    default_error_messages = {"required": MESSAGES["eori_empty"]}
    default_validators = [EoriValidator()]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)  # given by model fields; the validator says it better
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        return eori_normalise(value=value)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.update({"spellcheck": "false", "autocapitalize": "characters", "autocomplete": "off"})
        return attrs


class EoriModelField(models.CharField):  # type: ignore[type-arg]
    """A CharField of 17 characters that validates EORI numbers and uses EoriField in forms.

    For an optional EORI that is unique when present: `blank=True, default=""` with a
    UniqueConstraint on the field with `condition=~Q(eori="")` (or `null=True, unique=True`).
    Validators do not run on empty values. Normalise in the service (`eori_validate`) first."""

    default_validators = [EoriValidator()]
    description = _("EORI number")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EORI_MAX_LENGTH)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == EORI_MAX_LENGTH:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        return super().formfield(
            form_class=form_class or EoriField, choices_form_class=choices_form_class, **kwargs
        )


# --- National company numbers (for "attach by national company number") ---------------------


def company_number_normalise(*, value: str) -> str:
    """Digits as typed with spaces, dots or hyphens between them: keep the digits only."""
    return _COMPANY_NUMBER_SEPARATORS.sub("", value or "")


def siren_validate(*, value: str) -> str:
    """Return the 9-digit SIREN number, or raise ValidationError."""
    number = company_number_normalise(value=value)
    if not number:
        raise _fail("siren_empty")
    if not _DIGITS.fullmatch(number) or len(number) != 9:
        raise _fail("siren_format")
    try:
        return str(fr_siren.validate(number))
    except StdnumValidationError:
        raise _fail("siren_checksum") from None


def siret_validate(*, value: str) -> str:
    """Return the 14-digit SIRET number, or raise ValidationError."""
    number = company_number_normalise(value=value)
    if not number:
        raise _fail("siret_empty")
    if not _DIGITS.fullmatch(number) or len(number) != 14:
        raise _fail("siret_format")
    try:
        return str(fr_siret.validate(number))
    except StdnumValidationError:
        raise _fail("siret_checksum") from None


def be_enterprise_number_validate(*, value: str) -> str:
    """Return the 10-digit Belgian enterprise number (BCE/KBO), or raise ValidationError.

    A leading "BE" (VAT form) is accepted and dropped."""
    number = company_number_normalise(value=value).upper()
    number = number.removeprefix("BE")
    if not number:
        raise _fail("be_enterprise_number_empty")
    if not _DIGITS.fullmatch(number) or len(number) != 10 or number[0] not in "01":
        raise _fail("be_enterprise_number_format")
    try:
        return str(be_vat.validate(number))
    except StdnumValidationError:
        raise _fail("be_enterprise_number_checksum") from None


def company_number_validate(*, country: str, value: str) -> str:
    """The national company number of `country` (FR: SIREN or SIRET; BE: enterprise number)."""
    country = (country or "").upper()
    if country == "FR":
        number = company_number_normalise(value=value)
        if not number:
            raise _fail("siret_empty")
        if len(number) == 9:
            return siren_validate(value=number)
        if len(number) == 14:
            return siret_validate(value=number)
        raise _fail("fr_company_number_format")
    if country == "BE":
        return be_enterprise_number_validate(value=value)
    raise _fail("company_number_country")


def company_number_eori_candidates(*, country: str, number: str) -> list[str]:
    """The EORI numbers an operator with this (validated) national number may hold, most usual
    first: FR + SIREN, then the legacy FR + SIRET; BE + enterprise number."""
    country = (country or "").upper()
    if country == "FR":
        if len(number) == 14:
            return [f"FR{number[:9]}", f"FR{number}"]
        return [f"FR{number}"]
    if country == "BE":
        return [f"BE{number}"]
    return []


# --- Movement Reference Numbers (MRN) -----------------------------------------------------------
#
# Union Customs Code, Annex B (data element 12 01 000 000 / MRN): 18 characters —
#   2 digits   the last two digits of the year of acceptance;
#   2 letters  the country of the customs office that issued it (ISO 3166-1 alpha-2);
#   12 letters or digits, unique per year and country (the national serial);
#   1 letter   the procedure category (e.g. J transit, R import); MRNs issued before the Union
#              Customs Code (like the published example below) have a 13th serial character
#              there, so a digit is accepted when validating;
#   1 check character, computed over the first 17 with the ISO 6346 (container number) method:
#   each character takes its ISO 6346 value (digits 0–9, letters 10–38 skipping multiples of 11),
#   weighted by 2**position, summed, modulo 11, and a remainder of 10 becomes 0.
# Published example: 21GB00014210026352 (check character 2).

MRN_LENGTH = 18
_MRN_YEAR = re.compile(r"[0-9]{2}")
_MRN_COUNTRY = re.compile(r"[A-Z]{2}")
_MRN_SERIAL = re.compile(r"[A-Z0-9]{12}")
_MRN_PROCEDURE = re.compile(r"[A-Z0-9]")
_MRN_FIRST17 = re.compile(r"[0-9]{2}[A-Z]{2}[A-Z0-9]{13}")

MRN_MESSAGES: dict[str, StrPromise] = {
    "mrn_empty": _("Enter an MRN"),
    "mrn_length": _(
        "An MRN must be 18 characters, like 21GB00014210026352: you entered %(length)s"
    ),
    "mrn_year": _("An MRN starts with the last two digits of a year, like 24"),
    "mrn_country": _(
        "Characters 3 and 4 of an MRN are the two-letter country code, like LU"
    ),
    "mrn_serial": _(
        "Characters 5 to 16 of an MRN can only be letters and numbers"
    ),
    "mrn_procedure": _(
        "Character 17 of an MRN is the letter of the procedure, like J for transit (or a "
        "digit in older MRNs)"
    ),
    "mrn_check": _(
        "The last character of this MRN is not the right check character: check the number"
    ),
}  # fmt: skip


def _mrn_fail(message_code: str, **params: object) -> ValidationError:
    return ValidationError(MRN_MESSAGES[message_code], code=message_code, params=params or None)


def mrn_check_character(first17: str) -> str:
    """The ISO 6346 check character of the first 17 characters of an MRN (stdnum.iso6346's
    calc_check_digit weighs any length of characters by 2**position, as the MRN rule does)."""
    if not _MRN_FIRST17.fullmatch(first17 or ""):
        raise ValueError(f"not the first 17 characters of an MRN: {first17!r}")
    return iso6346.calc_check_digit(first17)


def mrn_build(*, year: int, country: str, serial: int | str, procedure: str) -> str:
    """The MRN for this year (four or two digits), issuing country, national serial (an integer
    is zero-padded to 12 digits) and procedure letter, with its check character. ValueError
    for parts that do not fit."""
    if isinstance(serial, int):
        if not 0 <= serial < 10**12:
            raise ValueError(f"MRN serial out of range: {serial}")
        serial_text = f"{serial:012d}"
    else:
        serial_text = str(serial).upper()
    if not (
        _MRN_COUNTRY.fullmatch(country.upper())
        and _MRN_SERIAL.fullmatch(serial_text)
        and re.fullmatch(r"[A-Z]", procedure.upper())
    ):
        raise ValueError(f"not the parts of an MRN: {country!r}, {serial!r}, {procedure!r}")
    first17 = f"{year % 100:02d}{country.upper()}{serial_text}{procedure.upper()}"
    return first17 + mrn_check_character(first17)


def mrn_validate(value: str) -> str:
    """The MRN normalised (no whitespace, upper case), or a ValidationError whose code and
    message say what is wrong: mrn_empty, mrn_length, mrn_year, mrn_country, mrn_serial,
    mrn_procedure, mrn_check."""
    mrn = _WHITESPACE.sub("", value or "").upper()
    if not mrn:
        raise _mrn_fail("mrn_empty")
    if len(mrn) != MRN_LENGTH:
        raise _mrn_fail("mrn_length", length=len(mrn))
    if not _MRN_YEAR.fullmatch(mrn[0:2]):
        raise _mrn_fail("mrn_year")
    if not _MRN_COUNTRY.fullmatch(mrn[2:4]):
        raise _mrn_fail("mrn_country")
    if not _MRN_SERIAL.fullmatch(mrn[4:16]):
        raise _mrn_fail("mrn_serial")
    if not _MRN_PROCEDURE.fullmatch(mrn[16]):
        raise _mrn_fail("mrn_procedure")
    if mrn_check_character(mrn[:17]) != mrn[17]:
        raise _mrn_fail("mrn_check")
    return mrn


def mrn_is_valid(value: str) -> bool:
    try:
        mrn_validate(value)
    except ValidationError:
        return False
    return True
