"""ICS2 party identifiers: the `eb:From` PartyId of an AS4 message.

ICS2 (harmonised trader interface) identifies the sender as `[system_id@]EORI[@MS]` with the type
`urn:oasis:names:tc:ebcore:partyid-type:unregistered:eu-customs:EORI`:

- `EORI`: the EORI number of the operator (checked with `comptoir.core.identifiers`);
- `system_id@` (optional): the operator's own identifier of one of its systems;
- `@MS` (optional): the two-letter code of the member state whose national system is addressed.

`party_id_parse` returns the three parts or raises a ValidationError whose code and message say
what is wrong; nothing else is accepted (an access point must refuse a malformed party id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from comptoir.core.identifiers import EORI_COUNTRY_CODES, eori_validate

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

PARTY_ID_TYPE_EORI = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:eu-customs:EORI"

#: Longest system id accepted (the party id as a whole stays short enough for logs and keys).
SYSTEM_ID_MAX_LENGTH = 35

_SYSTEM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]*")
_MEMBER_STATE = re.compile(r"[A-Z]{2}")
_WHITESPACE = re.compile(r"\s")

MESSAGES: dict[str, StrPromise] = {
    "party_type": _(
        "The PartyId type must be %(expected)s: the message gives %(given)s"
    ),
    "party_empty": _("The PartyId is empty: give the EORI number of the sender"),
    "party_whitespace": _("The PartyId must not contain spaces or line breaks"),
    "party_too_many_at": _(
        "The PartyId has too many @ signs: use [system id@]EORI[@member state], like "
        "SYS1@FR123456782@LU"
    ),
    "party_empty_part": _(
        "A part of the PartyId is empty: remove the extra @ or fill in the part"
    ),
    "party_system_id": _(
        "The system id before the @ must be 1 to %(max)s letters, digits, dots, hyphens or "
        "underscores, starting with a letter or a digit"
    ),
    "party_member_state": _(
        "The member state after the last @ must be the two-letter code of an EU member state "
        "or XI, in capitals, like LU: the message gives %(given)s"
    ),
}  # fmt: skip


@dataclass(frozen=True)
class PartyId:
    eori: str
    system_id: str | None = None
    member_state: str | None = None

    @property
    def value(self) -> str:
        """The party id written back as `[system_id@]EORI[@MS]`."""
        parts = [p for p in (self.system_id, self.eori, self.member_state) if p]
        return "@".join(parts)


def _fail(code: str, **params: object) -> ValidationError:
    return ValidationError(MESSAGES[code], code=code, params=params or None)


def _member_state(value: str) -> str:
    if not _MEMBER_STATE.fullmatch(value) or value not in EORI_COUNTRY_CODES:
        raise _fail("party_member_state", given=value)
    return value


def _system_id(value: str) -> str:
    if len(value) > SYSTEM_ID_MAX_LENGTH or not _SYSTEM_ID.fullmatch(value):
        raise _fail("party_system_id", max=SYSTEM_ID_MAX_LENGTH)
    return value


def _eori(value: str) -> str:
    """The EORI part exactly as written: the validation of core.identifiers, and no lower case
    (the party id is compared as it is sent)."""
    number = eori_validate(value=value)
    if number != value:
        # eori_validate only normalises case here (whitespace was refused before).
        raise ValidationError(
            _("The EORI number in the PartyId must be written in capitals, like %(number)s"),
            code="party_eori_case",
            params={"number": number},
        )
    return number


def party_id_parse(value: str, type_: str) -> PartyId:
    """Parse an ICS2 PartyId (`[system_id@]EORI[@MS]`) of type PARTY_ID_TYPE_EORI.

    Leading and trailing whitespace (XML indentation) is ignored; anything else that does not fit
    raises ValidationError with one code per failure: party_type, party_empty, party_whitespace,
    party_too_many_at, party_empty_part, party_system_id, party_member_state, party_eori_case and
    the eori_* codes of comptoir.core.identifiers."""
    given_type = (type_ or "").strip()
    if given_type != PARTY_ID_TYPE_EORI:
        raise _fail("party_type", expected=PARTY_ID_TYPE_EORI, given=given_type or "no type")
    text = (value or "").strip()
    if not text:
        raise _fail("party_empty")
    if _WHITESPACE.search(text):
        raise _fail("party_whitespace")
    parts = text.split("@")
    if len(parts) > 3:
        raise _fail("party_too_many_at")
    if any(not part for part in parts):
        raise _fail("party_empty_part")
    if len(parts) == 1:
        return PartyId(eori=_eori(parts[0]))
    if len(parts) == 3:
        system_id, eori, member_state = parts
        return PartyId(
            eori=_eori(eori),
            system_id=_system_id(system_id),
            member_state=_member_state(member_state),
        )
    # Two parts: an EORI number is at least three characters (country code and number), so a
    # last part of two characters is a member state (EORI@MS), otherwise it is system_id@EORI.
    first, last = parts
    if len(last) == 2:
        return PartyId(eori=_eori(first), member_state=_member_state(last))
    return PartyId(eori=_eori(last), system_id=_system_id(first))
