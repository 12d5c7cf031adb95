"""ICS2 PartyIds `[system_id@]EORI[@MS]`: each form accepted, each malformation refused with its
own code."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from comptoir.b2g.party import PARTY_ID_TYPE_EORI, PartyId, party_id_parse

EORI_FR = "FR552100554"  # SIREN 552 100 554 (valid check digit)
EORI_LU = "LU15027442"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (EORI_FR, PartyId(eori=EORI_FR)),
        (f"SYS1@{EORI_FR}", PartyId(eori=EORI_FR, system_id="SYS1")),
        (f"{EORI_FR}@LU", PartyId(eori=EORI_FR, member_state="LU")),
        (
            f"ap-01.prod_2@{EORI_LU}@BE",
            PartyId(eori=EORI_LU, system_id="ap-01.prod_2", member_state="BE"),
        ),
        (f"  {EORI_LU}@XI\n", PartyId(eori=EORI_LU, member_state="XI")),
        ("IT12345678901@GR", PartyId(eori="IT12345678901", member_state="GR")),
        # a system id of two characters is read as such only when three parts are given
        (f"AB@{EORI_FR}@FR", PartyId(eori=EORI_FR, system_id="AB", member_state="FR")),
    ],
)
def test_accepted(value, expected):
    parsed = party_id_parse(value, PARTY_ID_TYPE_EORI)
    assert parsed == expected
    assert parsed.value == value.strip()


@pytest.mark.parametrize(
    ("value", "type_", "code"),
    [
        (EORI_FR, "urn:oasis:names:tc:ebcore:partyid-type:unregistered", "party_type"),
        (EORI_FR, "", "party_type"),
        (EORI_FR, PARTY_ID_TYPE_EORI + " extra", "party_type"),
        ("", PARTY_ID_TYPE_EORI, "party_empty"),
        ("   ", PARTY_ID_TYPE_EORI, "party_empty"),
        ("FR 552100554", PARTY_ID_TYPE_EORI, "party_whitespace"),
        (f"a@b@{EORI_FR}@LU", PARTY_ID_TYPE_EORI, "party_too_many_at"),
        (f"@{EORI_FR}", PARTY_ID_TYPE_EORI, "party_empty_part"),
        (f"{EORI_FR}@", PARTY_ID_TYPE_EORI, "party_empty_part"),
        (f"SYS@@{EORI_FR}", PARTY_ID_TYPE_EORI, "party_empty_part"),
        (f"sys!@{EORI_FR}", PARTY_ID_TYPE_EORI, "party_system_id"),
        (f"-sys@{EORI_FR}", PARTY_ID_TYPE_EORI, "party_system_id"),
        (f"{'S' * 36}@{EORI_FR}", PARTY_ID_TYPE_EORI, "party_system_id"),
        (f"{EORI_FR}@lu", PARTY_ID_TYPE_EORI, "party_member_state"),
        (f"{EORI_FR}@GB", PARTY_ID_TYPE_EORI, "party_member_state"),
        (f"{EORI_FR}@EL", PARTY_ID_TYPE_EORI, "party_member_state"),
        (f"SYS@{EORI_FR}@LUX", PARTY_ID_TYPE_EORI, "party_member_state"),
        ("fr552100554", PARTY_ID_TYPE_EORI, "party_eori_case"),
        ("FR552100555", PARTY_ID_TYPE_EORI, "eori_fr_siren_checksum"),
        ("GB123456789000", PARTY_ID_TYPE_EORI, "eori_gb"),
        ("ZZ123456", PARTY_ID_TYPE_EORI, "eori_unknown_country"),
        ("FR1234.5678", PARTY_ID_TYPE_EORI, "eori_invalid_characters"),
        (f"SYS@{EORI_FR}X@LU", PARTY_ID_TYPE_EORI, "eori_fr_format"),
        # two parts: the last one is a member state only when it has two characters, so this
        # is system id FR552100554 and EORI number LUX
        (f"{EORI_FR}@LUX", PARTY_ID_TYPE_EORI, "eori_lu_format"),
    ],
)
def test_refused(value, type_, code):
    with pytest.raises(ValidationError) as excinfo:
        party_id_parse(value, type_)
    assert excinfo.value.code == code
    message = excinfo.value.messages[0]
    assert message and "%(" not in message


def test_wrong_type_message_names_both_types():
    with pytest.raises(ValidationError) as excinfo:
        party_id_parse(EORI_FR, "urn:x")
    message = excinfo.value.messages[0]
    assert PARTY_ID_TYPE_EORI in message and "urn:x" in message
