"""Acting for whom: after sign-in a person says whether they act for themself or for an
economic operator identified by its EORI number, either directly (they hold a valid position in
it) or holding a mandate (a company where they hold a valid position has a mandate in force from
it for portal actions), with their consent to share their profile with it.

The choice lives in the session (web pages) or comes with each API call (headers, see
``acting_from_headers``); it is checked against the person's positions and mandates when made
and again on every request, so that an ended position or mandate ends it at once. The
middleware binds it to the request context, and the audit log records it on every event
(``AuditEvent.on_behalf_of``)."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.core import request_context
from comptoir.core.identifiers import eori_normalise, eori_validate
from comptoir.operators import mandates
from comptoir.operators import selectors as operator_selectors
from comptoir.operators.models import Mandate, Operator, Position

SESSION_KEY = "comptoir_acting_for"
ACTOR_TYPE_EO = "EO"
IDENTIFIER_TYPE_EORI = "EORI"


class Capacity(models.TextChoices):
    DIRECT = "direct", _("Directly")
    MANDATE = "mandate", _("Holding a mandate")


class ActorType(models.TextChoices):
    EO = ACTOR_TYPE_EO, _("Economic operator")


class IdentifierType(models.TextChoices):
    EORI = IDENTIFIER_TYPE_EORI, _("EORI number")


@dataclass(frozen=True)
class ActingFor:
    """An economic operator the person acts for, and how."""

    operator_id: int
    name: str
    identifier: str
    capacity: str
    #: The mandate's public id when acting holding a mandate.
    mandate: str = ""
    #: The provider (the person's company) that holds the mandate.
    provider_name: str = ""
    actor_type: str = ACTOR_TYPE_EO
    identifier_type: str = IDENTIFIER_TYPE_EORI

    @property
    def capacity_label(self) -> str:
        return str(Capacity(self.capacity).label)

    @property
    def capacity_in_sentence(self) -> str:
        """The capacity inside a sentence ("Acting for …, holding a mandate"): its own words,
        as lowering the label's case would be wrong in German."""
        if self.capacity == Capacity.MANDATE:
            return str(_("holding a mandate"))
        return str(_("directly"))

    def record(self) -> dict[str, Any]:
        """What the audit log keeps on every event done under this choice."""
        recorded: dict[str, Any] = {
            "actor_type": self.actor_type,
            "identifier_type": self.identifier_type,
            "identifier": self.identifier,
            "capacity": self.capacity,
            "operator": self.operator_id,
            "name": self.name,
        }
        if self.mandate:
            recorded["mandate"] = self.mandate
        return recorded


class ActingRefused(ValidationError):
    """The person may not act for this operator in this capacity (one message, one field);
    nothing was changed."""

    def __init__(self, field: str, message: Any, code: str) -> None:
        super().__init__({field: [ValidationError(message, code=code)]})
        self.field = field
        self.code = code
        self.message_text = str(message)


# --- Selectors ----------------------------------------------------------------------------------


def _usable_operators() -> models.QuerySet[Operator]:
    return Operator.objects.filter(
        status=Operator.Status.ACTIVE, deleted_at__isnull=True, merged_into__isnull=True
    ).exclude(eori="")


def _direct_positions(*, person: User) -> models.QuerySet[Position]:
    return Position.objects.filter(
        person=person,
        status=Position.Status.VALID,
        role__in=Position.OPERATOR_ROLES,
        operator__in=_usable_operators(),
    ).select_related("operator")


def _mandates(*, person: User) -> models.QuerySet[Mandate]:
    """The portal-actions mandates in force by which the person may act for a principal with
    an EORI number (a company without one cannot be chosen)."""
    return mandates.mandates_in_force_for_person(person=person).exclude(principal__eori="")


def _mandates_in_force(*, person: User) -> list[Mandate]:
    """One mandate in force per principal (the earliest)."""
    found: dict[int, Mandate] = {}
    for mandate in _mandates(person=person):
        found.setdefault(mandate.principal_id, mandate)
    return list(found.values())


def _from_position(position: Position) -> ActingFor:
    operator = position.operator
    assert operator is not None
    return ActingFor(
        operator_id=operator.pk,
        name=operator.name,
        identifier=operator.eori,
        capacity=Capacity.DIRECT,
    )


def _from_mandate(mandate: Mandate) -> ActingFor:
    return ActingFor(
        operator_id=mandate.principal_id,
        name=mandate.principal.name,
        identifier=mandate.principal.eori,
        capacity=Capacity.MANDATE,
        mandate=str(mandate.public_id),
        provider_name=mandate.provider.name,
    )


def acting_options(*, person: User) -> list[ActingFor]:
    """Every economic operator the person may act for today, directly first, by name."""
    if not person.is_authenticated:
        return []
    direct = {
        position.operator_id: _from_position(position)
        for position in _direct_positions(person=person).order_by("operator__name", "pk")
    }
    through_mandates = [_from_mandate(mandate) for mandate in _mandates_in_force(person=person)]
    return list(direct.values()) + through_mandates


def acting_has_options(*, person: User) -> bool:
    """Whether the person may act for anyone but themself (asked once, after sign-in)."""
    return _direct_positions(person=person).exists() or _mandates(person=person).exists()


def _refuse_if_malformed(eori: str) -> None:
    try:
        eori_validate(value=eori)
    except ValidationError as error:
        raise ActingRefused("identifier", error.messages[0], "identifier_invalid") from None


def acting_check(
    *,
    person: User,
    identifier: str,
    capacity: str,
    actor_type: str = ACTOR_TYPE_EO,
    identifier_type: str = IDENTIFIER_TYPE_EORI,
) -> ActingFor:
    """The operator the person may act for under this identifier and capacity, or
    ActingRefused with a message that says why (without telling whether another person's
    company holds that EORI number)."""
    if actor_type != ACTOR_TYPE_EO:
        raise ActingRefused(
            "actor_type", _("Only an economic operator (EO) can be chosen."), "actor_type"
        )
    if identifier_type != IDENTIFIER_TYPE_EORI:
        raise ActingRefused(
            "identifier_type",
            _("Economic operators are identified by their EORI number."),
            "identifier_type",
        )
    # Matched as stored first: a company's EORI number on record is good enough to act for it.
    eori = eori_normalise(value=identifier)
    if not eori:
        raise ActingRefused(
            "identifier", _("Enter the EORI number of the company you act for."), "identifier"
        )
    if capacity == Capacity.DIRECT:
        position = (
            _direct_positions(person=person)
            .filter(operator__in=operator_selectors.operators_with_eori(eori))
            .order_by("pk")
            .first()
        )
        if position is None:
            _refuse_if_malformed(eori)
            raise ActingRefused(
                "identifier",
                _(
                    "You hold no valid position in a company with EORI number %(eori)s. If "
                    "your company acts for it under a mandate, choose “holding a mandate”."
                )
                % {"eori": eori},
                "no_position",
            )
        return _from_position(position)
    if capacity == Capacity.MANDATE:
        mandate = (
            _mandates(person=person)
            .filter(principal__in=operator_selectors.operators_with_eori(eori))
            .first()
        )
        if mandate is not None:
            return _from_mandate(mandate)
        _refuse_if_malformed(eori)
        raise ActingRefused(
            "identifier",
            _(
                "None of your companies holds a mandate in force for portal actions from the "
                "company with EORI number %(eori)s."
            )
            % {"eori": eori},
            "no_mandate",
        )
    raise ActingRefused("capacity", _("Choose “directly” or “holding a mandate”."), "capacity")


def _stored(session: Mapping[str, Any]) -> dict[str, Any] | None:
    stored = session.get(SESSION_KEY)
    return stored if isinstance(stored, dict) else None


@dataclass(frozen=True)
class SessionChoice:
    """What the session holds for this request: the choice still allowed (None: themself), and
    why an earlier choice lapsed, if it did."""

    acting_for: ActingFor | None
    lapsed: str = ""


def acting_from_session(*, person: User, session: MutableMapping[str, Any]) -> SessionChoice:
    """The choice in the session, checked again against today's positions and mandates. A
    choice no longer allowed is dropped (audited) and the person acts for themself again."""
    stored = _stored(session)
    if stored is None or not person.is_authenticated:
        return SessionChoice(None)
    if stored.get("person") != person.pk:
        session.pop(SESSION_KEY, None)
        return SessionChoice(None)
    if stored.get("myself"):
        return SessionChoice(None)
    try:
        acting = acting_check(
            person=person,
            identifier=str(stored.get("identifier", "")),
            capacity=str(stored.get("capacity", "")),
        )
    except ActingRefused as refusal:
        session.pop(SESSION_KEY, None)
        audit_record(
            action="acting.lapse",
            actor=person,
            subject=person,
            data={"identifier": stored.get("identifier"), "reason": refusal.code},
        )
        return SessionChoice(None, lapsed=refusal.message_text)
    return SessionChoice(acting)


# --- Services -----------------------------------------------------------------------------------


def consent_refused() -> ActingRefused:
    return ActingRefused(
        "consent",
        _("Give your consent to share your profile with the company you act for."),
        "consent",
    )


def acting_choose(
    *,
    person: User,
    session: MutableMapping[str, Any],
    identifier: str,
    capacity: str,
    consent: bool,
    actor_type: str = ACTOR_TYPE_EO,
    identifier_type: str = IDENTIFIER_TYPE_EORI,
) -> ActingFor:
    """Act for an economic operator from now on in this session (audited with the consent)."""
    acting = acting_check(
        person=person,
        identifier=identifier,
        capacity=capacity,
        actor_type=actor_type,
        identifier_type=identifier_type,
    )
    if not consent:
        raise consent_refused()
    token = request_context.bind_on_behalf_of(acting.record())
    try:
        with transaction.atomic():
            audit_record(
                action="acting.choose",
                actor=person,
                subject=person,
                data={**acting.record(), "consent": True},
            )
    finally:
        request_context.reset(token)
    session[SESSION_KEY] = {
        "person": person.pk,
        "identifier": acting.identifier,
        "capacity": acting.capacity,
    }
    return acting


def acting_choose_myself(*, person: User, session: MutableMapping[str, Any]) -> None:
    """Act for oneself from now on in this session (audited when it changes anything)."""
    previous = _stored(session)
    session[SESSION_KEY] = {"person": person.pk, "myself": True}
    if previous is not None and not previous.get("myself"):
        # Recorded as done for themself, the choice being made (as acting.choose records its own).
        token = request_context.bind_on_behalf_of({})
        try:
            with transaction.atomic():
                audit_record(
                    action="acting.myself",
                    actor=person,
                    subject=person,
                    data={"previous": previous.get("identifier")},
                )
        finally:
            request_context.reset(token)


def acting_chosen(*, session: Mapping[str, Any]) -> bool:
    """Whether the person has made a choice in this session (themself included)."""
    return _stored(session) is not None


def acting_token_call(*, headers: Mapping[str, str]) -> bool:
    """Whether the call signs in with a bearer token (a personal API token, a B2G client): it
    never uses a session's choice, even when a session cookie comes along (perhaps another
    person's); it says on whose behalf it acts with its own headers."""
    scheme, _space, _token = headers.get("Authorization", "").strip().partition(" ")
    return scheme.lower() == "bearer"


def acting_from_headers(*, person: User, headers: Mapping[str, str]) -> ActingFor | None:
    """The API's way: `Comptoir-Acting-For: <EORI>`, `Comptoir-Acting-Capacity: direct|mandate`
    (direct by default) and `Comptoir-Acting-Consent: yes` on each call. None without the
    first header (the person acts for themself, or for the session's choice)."""
    identifier = headers.get("Comptoir-Acting-For", "").strip()
    if not identifier:
        return None
    acting = acting_check(
        person=person,
        identifier=identifier,
        capacity=headers.get("Comptoir-Acting-Capacity", Capacity.DIRECT).strip().lower(),
    )
    if headers.get("Comptoir-Acting-Consent", "").strip().lower() not in {"yes", "true", "1"}:
        raise consent_refused()
    return acting
