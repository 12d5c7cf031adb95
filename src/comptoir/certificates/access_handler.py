"""Access to certificate registration as a kind of approvals request ("certificate_access"),
registered with the approvals state machine when the app is ready (approvals, a lower layer,
does not import certificates).

The operator's legal representative or a manager asks customs for access to certificate
registration in one environment (comptoir.certificates.rights.registration_right_request, which
creates the RegistrationRight it names in the payload); the officers of the competent authority
decide. Approved: the right is GRANTED; rejected: REFUSED; withdrawn or expired: WITHDRAWN."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.approvals.handlers import KindHandler, Submission, register, require_authority
from comptoir.approvals.models import Request
from comptoir.certificates import rights
from comptoir.certificates.models import RegistrationRight
from comptoir.operators.models import Position

Role = Position.Role


def _certificate_access_validate(submission: Submission) -> None:
    require_authority(submission)
    operator = submission.operator
    if operator is None:
        raise ValidationError({"operator": _("Choose the company that asks for access.")})
    rights.registration_right_operator_check(operator=operator)
    if not rights.registration_right_can_request(person=submission.requester, operator=operator):
        raise ValidationError(
            {
                "operator": _(
                    "Only the company's legal representative and its managers can ask customs "
                    "for access to certificate registration."
                )
            }
        )
    right_id = submission.payload.get(rights.PAYLOAD_RIGHT)
    right = (
        RegistrationRight.objects.filter(public_id=right_id).first()
        if isinstance(right_id, str) and _is_uuid(right_id)
        else None
    )
    if (
        right is None
        or right.operator_id != operator.pk
        or right.requested_by_id != submission.requester.pk
        or right.status != RegistrationRight.Status.REQUESTED
        or right.request_id is not None
        or submission.payload.get("environment") != right.environment
    ):
        raise ValidationError(
            {"operator": _("The request must name the access to certificate registration asked.")}
        )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _certificate_access_approved(request: Request, actor: User) -> None:
    if rights.registration_right_settle(request=request, actor=actor) is None:
        raise ValidationError(
            {
                "decision": _(
                    "The access asked for is no longer waiting for a decision. Nothing was changed."
                )
            }
        )


def _certificate_access_closed(request: Request, actor: User | None) -> None:
    rights.registration_right_settle(request=request, actor=actor)


def _certificate_access_rows(request: Request) -> list[tuple[Any, str]]:
    """What an operator asked of customs for certificate registration, as it was asked."""
    payload = request.payload or {}
    try:
        wanted = formats.date_format(date.fromisoformat(str(payload.get("wanted_on"))))
    except ValueError:
        wanted = "—"
    environment = str(payload.get("environment") or "")
    environments = dict(RegistrationRight.Environment.choices)
    return [
        (_("EORI number"), str(payload.get("eori") or "—")),
        (_("Company name"), str(payload.get("company_name") or "—")),
        (_("Account name"), str(payload.get("account_name") or "—")),
        (_("Access wanted from"), wanted),
        (_("Environment"), str(environments.get(environment, environment or "—"))),
    ]


register(
    Request.Kind.CERTIFICATE_ACCESS,
    KindHandler(
        decided_in="authority",
        decider_roles=frozenset({Role.OFFICER}),
        validate=_certificate_access_validate,
        on_approved=_certificate_access_approved,
        on_closed=_certificate_access_closed,
        detail_rows=_certificate_access_rows,
    ),
)
