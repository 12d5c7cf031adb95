"""Professional spaces at the approvals level: what a space's legal representative asks customs
(a change of operations, a transfer of the representation), merging two spaces of the same
company, deleting a space and purging the deleted ones after the retention period. These move or
close approvals' requests, so they live here, above operators."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.approvals import services as approvals
from comptoir.approvals.models import Request, RequestEvent
from comptoir.audit.services import audit_record
from comptoir.notifications.models import Notice
from comptoir.operators import selectors as operator_selectors
from comptoir.operators import services as operators
from comptoir.operators.models import Invitation, Operator, OperatorOperation, Position
from comptoir.operators.services import NotAllowed

logger = logging.getLogger(__name__)

RS = Request.Status
PS = Position.Status
Role = Position.Role


def _is_legal_representative(person: User, operator: Operator) -> bool:
    return Position.objects.filter(
        person=person, operator=operator, role=Role.LEGAL_REPRESENTATIVE, status=PS.VALID
    ).exists()


def _is_administrator(person: User) -> bool:
    return bool(person.is_active and person.is_superuser)


def _competent_authority(operator: Operator):
    authority = operator_selectors.competent_authority_for(operator.country)
    if authority is None:
        raise ValidationError(
            {
                "authority": [
                    _(
                        "No customs authority can receive requests at the moment. Try again "
                        "later or contact the service desk."
                    )
                ]
            }
        )
    return authority


# --- Reads --------------------------------------------------------------------------------------


def space_requests(*, operator: Operator) -> QuerySet[Request]:
    """Every request about the operator, newest first (for its legal representative and
    managers)."""
    return (
        Request.objects.filter(operator=operator)
        .select_related("requester", "authority")
        .order_by("-submitted_at", "-pk")
    )


def space_waiting_request(*, operator: Operator, kind: str) -> Request | None:
    """The request of this kind about the operator still waiting for a decision, if any."""
    return (
        Request.objects.filter(operator=operator, kind=kind, status=RS.SUBMITTED)
        .order_by("-submitted_at", "-pk")
        .first()
    )


def request_references(*, public_ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """The references of the requests with these public ids (those that still exist)."""
    wanted = {public_id for public_id in public_ids if public_id is not None}
    if not wanted:
        return {}
    return dict(Request.objects.filter(public_id__in=wanted).values_list("public_id", "reference"))


# --- What the legal representative asks customs -------------------------------------------------


def space_operation_change_submit(
    *, actor: User, operator: Operator, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> Request:
    """The legal representative asks the competent authority to add or remove operations.
    One change waits at a time (the request's handler refuses a second one)."""
    if not _is_legal_representative(actor, operator):
        raise NotAllowed(
            _("Only the legal representative can ask to change the company's customs operations.")
        )
    return approvals.operation_change_submit(
        requester=actor,
        operator=operator,
        authority=_competent_authority(operator),
        add=list(add),
        remove=list(remove),
    )


def space_transfer_submit(*, actor: User, operator: Operator, to_person_id: int) -> Request:
    """The legal representative hands the representation to a valid member; customs decide."""
    if not _is_legal_representative(actor, operator):
        raise NotAllowed(_("Only the legal representative can transfer the legal representation."))
    to_person = User.objects.filter(pk=to_person_id, is_active=True).first()
    if to_person is None:
        raise ValidationError(
            {
                "to_person": [
                    _("Choose a member of the operator to become its legal representative.")
                ]
            }
        )
    return approvals.legal_representative_transfer_submit(
        requester=actor,
        operator=operator,
        authority=_competent_authority(operator),
        to_person=to_person,
    )


# --- Closing a space's waiting requests ---------------------------------------------------------


def _close_waiting_requests(*, actor: User | None, operator: Operator, reason: str) -> int:
    """Withdraw every request about the operator still waiting (those whose time has run out
    are expired instead); each requester is told. Runs inside the caller's transaction."""
    closed = 0
    waiting = (
        Request.objects.select_related("requester", "operator", "authority")
        .filter(operator=operator, status=RS.SUBMITTED)
        .order_by("pk")
    )
    for request in waiting:
        approvals.request_close(actor=actor, request=request, reason=reason)
        closed += 1
    return closed


# --- Merge ----------------------------------------------------------------------------------


def _merge_refusal(*, kept: Operator, merged: Operator) -> object | None:
    """Why these two spaces cannot be merged (None when they can)."""
    if kept.pk == merged.pk:
        return _("Choose another space than this one.")
    for operator in (kept, merged):
        if (
            operator.status != Operator.Status.ACTIVE
            or operator.deleted_at is not None
            or operator.merged_into_id is not None
        ):
            return _("Both spaces must be active to be merged: %(name)s is not.") % {
                "name": operator.name
            }
    if kept.country != merged.country:
        return _("These spaces belong to companies of different countries: they cannot be merged.")
    if kept.eori and merged.eori:
        return _(
            "Both spaces have their own EORI number: they are two different companies and "
            "cannot be merged."
        )
    return None


def space_merge_candidates(*, actor: User, operator: Operator) -> list[Operator]:
    """The spaces the actor may merge into this one: active spaces of the same company (same
    country, at most one EORI number between the two) that the actor also represents
    (administrators: any)."""
    if not (_is_administrator(actor) or _is_legal_representative(actor, operator)):
        return []
    candidates = Operator.objects.filter(
        status=Operator.Status.ACTIVE,
        deleted_at__isnull=True,
        merged_into__isnull=True,
        country=operator.country,
    ).exclude(pk=operator.pk)
    if operator.eori:
        candidates = candidates.filter(eori="")
    if not _is_administrator(actor):
        candidates = candidates.filter(
            positions__person=actor,
            positions__role=Role.LEGAL_REPRESENTATIVE,
            positions__status=PS.VALID,
        )
    return list(candidates.distinct().order_by("name", "pk"))


@transaction.atomic
def space_merge(*, actor: User, kept: Operator, merged: Operator) -> Operator:
    """Merge the space `merged` into `kept`: its positions, requests, operation grants,
    notices and invitations move to `kept`; it is closed and points to `kept`. A position
    that `kept` already has open for the same person and role is ended and stays behind; a
    grant that `kept` already holds is revoked and moved as history. One audit event on each
    operator, with the counts."""
    if not (
        _is_administrator(actor)
        or (_is_legal_representative(actor, kept) and _is_legal_representative(actor, merged))
    ):
        raise NotAllowed(_("Only the legal representative of both spaces can merge them."))
    # Lock both rows in a fixed order (two merges of the same pair cannot interleave).
    locked = {
        operator.pk: operator
        for operator in Operator.objects.select_for_update().filter(pk__in=[kept.pk, merged.pk])
    }
    kept, merged = locked[kept.pk], locked[merged.pk]
    refusal = _merge_refusal(kept=kept, merged=merged)
    if refusal is not None:
        raise ValidationError({"other_operator": [refusal]})
    busy = Request.objects.filter(
        operator=merged,
        status=RS.SUBMITTED,
        kind__in=(Request.Kind.OPERATION_CHANGE, Request.Kind.LEGAL_REPRESENTATIVE_TRANSFER),
    ).first()
    if busy is not None:
        raise ValidationError(
            {
                "other_operator": [
                    _(
                        "Request %(reference)s (%(kind)s) of the space to merge is waiting for "
                        "customs: wait for the decision or withdraw it first."
                    )
                    % {"reference": busy.reference, "kind": busy.get_kind_display()}
                ]
            }
        )
    kept_lr = set(
        Position.objects.filter(
            operator=kept, role=Role.LEGAL_REPRESENTATIVE, status=PS.VALID
        ).values_list("person_id", flat=True)
    )
    merged_lr = set(
        Position.objects.filter(
            operator=merged, role=Role.LEGAL_REPRESENTATIVE, status=PS.VALID
        ).values_list("person_id", flat=True)
    )
    if kept_lr and merged_lr and kept_lr != merged_lr:
        raise ValidationError(
            {
                "other_operator": [
                    _(
                        "The two spaces have different legal representatives: transfer the "
                        "legal representation of one of them first."
                    )
                ]
            }
        )

    reason = _("Merged into %(name)s.") % {"name": kept.name}
    counts = {
        "positions_moved": 0,
        "positions_ended": 0,
        "requests_moved": 0,
        "requests_closed": 0,
        "grants_moved": 0,
        "grants_revoked": 0,
        "notices_moved": 0,
        "invitations_moved": 0,
    }

    # Positions: an open one that `kept` already has for the same person and role is ended and
    # stays behind (with a waiting request to join closed); every other one moves.
    kept_open = set(
        Position.objects.filter(operator=kept, status__in=Position.OPEN_STATUSES).values_list(
            "person_id", "role"
        )
    )
    duplicates: list[int] = []
    for position in Position.objects.filter(operator=merged).order_by("pk"):
        if position.status in Position.OPEN_STATUSES and (
            (position.person_id, position.role) in kept_open
        ):
            duplicates.append(position.pk)
    if duplicates:
        for request in Request.objects.select_related("requester", "operator").filter(
            operator=merged, status=RS.SUBMITTED, kind=Request.Kind.MEMBERSHIP
        ):
            if request.payload.get("position") in duplicates:
                approvals.request_close(actor=actor, request=request, reason=str(reason))
                counts["requests_closed"] += 1
        # Closing a request to join has already ended its position: end the others.
        for position in Position.objects.filter(pk__in=duplicates).order_by("pk"):
            if position.status in Position.OPEN_STATUSES:
                operators.position_end(actor=actor, position=position)
            counts["positions_ended"] += 1
    counts["positions_moved"] = (
        Position.objects.filter(operator=merged).exclude(pk__in=duplicates).update(operator=kept)
    )

    # Grants: one that `kept` holds now too is revoked first, then every grant moves.
    kept_current = set(
        OperatorOperation.objects.filter(operator=kept, revoked_at__isnull=True).values_list(
            "operation_id", flat=True
        )
    )
    for grant in OperatorOperation.objects.select_related("operation").filter(
        operator=merged, revoked_at__isnull=True, operation_id__in=kept_current
    ):
        operators.operation_revoke(actor=actor, operator=merged, operation=grant.operation)
        counts["grants_revoked"] += 1
    counts["grants_moved"] = OperatorOperation.objects.filter(operator=merged).update(operator=kept)
    counts["requests_moved"] = Request.objects.filter(operator=merged).update(operator=kept)
    counts["notices_moved"] = Notice.objects.filter(operator=merged).update(operator=kept)
    counts["invitations_moved"] = Invitation.objects.filter(operator=merged).update(operator=kept)
    # Spaces merged into this one earlier now point straight at the one kept.
    Operator.objects.filter(merged_into=merged).update(merged_into=kept)

    operators.operator_close(actor=actor, operator=merged)
    Operator.objects.filter(pk=merged.pk).update(merged_into=kept, modified_at=timezone.now())
    merged.merged_into = kept
    audit_record(
        action="operator.merged_into",
        actor=actor,
        subject=merged,
        data={"kept": kept.pk, "kept_eori": kept.eori, **counts},
    )
    audit_record(
        action="operator.merged",
        actor=actor,
        subject=kept,
        data={"merged": merged.pk, "merged_eori": merged.eori, **counts},
    )
    return kept


# --- Delete and purge -----------------------------------------------------------------------


def retention_days() -> int:
    return int(getattr(settings, "COMPTOIR_SPACE_RETENTION_DAYS", 30))


@transaction.atomic
def space_delete(*, actor: User, operator: Operator) -> Operator:
    """Soft-delete the professional space: closed and marked deleted now, its waiting requests
    withdrawn, every open position ended and open invitations revoked. A task purges it once
    COMPTOIR_SPACE_RETENTION_DAYS have passed."""
    if not (_is_administrator(actor) or _is_legal_representative(actor, operator)):
        raise NotAllowed(_("Only the legal representative can delete the company's space."))
    operator = Operator.objects.select_for_update().get(pk=operator.pk)
    if operator.deleted_at is not None or operator.merged_into_id is not None:
        raise ValidationError({"operator": [_("This space has already been deleted or merged.")]})
    now = timezone.now()
    reason = str(_("The company's professional space was deleted."))
    requests_closed = _close_waiting_requests(actor=actor, operator=operator, reason=reason)
    positions_ended = 0
    for position in Position.objects.filter(
        operator=operator, status__in=Position.OPEN_STATUSES
    ).order_by("pk"):
        operators.position_end(actor=actor, position=position)
        positions_ended += 1
    invitations_revoked = Invitation.objects.filter(
        operator=operator, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    operator.refresh_from_db()
    if operator.status != Operator.Status.CLOSED:
        operators.operator_close(actor=actor, operator=operator)
    Operator.objects.filter(pk=operator.pk).update(deleted_at=now, modified_at=now)
    operator.deleted_at = now
    audit_record(
        action="operator.deleted",
        actor=actor,
        subject=operator,
        data={
            "requests_closed": requests_closed,
            "positions_ended": positions_ended,
            "invitations_revoked": invitations_revoked,
            "purge_after_days": retention_days(),
        },
    )
    return operator


def _purge(operator: Operator) -> int:
    """Hard-delete one operator and what hangs on it (spaces merged into it first)."""
    purged = 0
    for earlier in Operator.objects.filter(merged_into=operator).order_by("pk"):
        purged += _purge(earlier)
    requests = Request.objects.filter(operator=operator)
    counts = {
        "request_events": RequestEvent.objects.filter(request__in=requests).count(),
        "requests": requests.count(),
        "grants": OperatorOperation.objects.filter(operator=operator).count(),
        "positions": Position.objects.filter(operator=operator).count(),
        "invitations": Invitation.objects.filter(operator=operator).count(),
        "notices": Notice.objects.filter(operator=operator).count(),
    }
    audit_record(
        action="operator.purged",
        actor=None,
        subject=operator,
        data={
            "eori": operator.eori,
            "deleted_at": operator.deleted_at,
            "merged_into": operator.merged_into_id,
            **counts,
        },
    )
    RequestEvent.objects.filter(request__operator=operator).delete()
    Request.objects.filter(operator=operator).delete()
    OperatorOperation.objects.filter(operator=operator).delete()
    Position.objects.filter(operator=operator).delete()
    Invitation.objects.filter(operator=operator).delete()
    Notice.objects.filter(operator=operator).delete()
    operator.delete()
    return purged + 1


def spaces_purge_deleted(*, now: datetime | None = None) -> int:
    """Hard-delete the spaces deleted more than COMPTOIR_SPACE_RETENTION_DAYS ago, each in its
    own transaction with one audit event per operator (no actor); returns how many operators
    were purged. A space that something else still refers to is left for later (logged)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=retention_days())
    due = list(
        Operator.objects.filter(deleted_at__isnull=False, deleted_at__lte=cutoff)
        .order_by("deleted_at", "pk")
        .values_list("pk", flat=True)
    )
    purged = 0
    for operator_id in due:
        try:
            with transaction.atomic():
                operator = (
                    Operator.objects.select_for_update()
                    .filter(pk=operator_id, deleted_at__isnull=False, deleted_at__lte=cutoff)
                    .first()
                )
                if operator is None:  # purged or restored meanwhile
                    continue
                purged += _purge(operator)
        except ProtectedError:
            logger.warning("Deleted space %s is still referred to; not purged.", operator_id)
    return purged
