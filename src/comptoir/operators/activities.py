"""An operator's activities (plant health, CITES, organic imports, FLEGT timber…): the catalogue
administrators edit (sections and activity types), and the activities an operator's legal
representative and managers add or remove, each with the identifier the operator holds for it.

Services write (keyword-only, one transaction each with its audit event); the reads below are
scoped by the caller: the professional space has already been resolved for the person (views
and API), and the services check again who may change the list."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import User
from comptoir.audit.services import audit_record
from comptoir.operators import selectors
from comptoir.operators.models import ActivitySection, ActivityType, Operator, OperatorActivity
from comptoir.operators.services import NotAllowed

IDENTIFIER_MAX = OperatorActivity._meta.get_field("identifier").max_length or 60


# --- Reads --------------------------------------------------------------------------------------


def operator_activities(*, operator: Operator) -> QuerySet[OperatorActivity]:
    """The operator's activities in catalogue order (section, then type). The caller has checked
    that the person may see the operator (a member of its space)."""
    return (
        OperatorActivity.objects.filter(operator=operator)
        .select_related("activity_type__section", "added_by")
        .order_by(
            "activity_type__section__ordering",
            "activity_type__section__code",
            "activity_type__ordering",
            "activity_type__code",
            "pk",
        )
    )


def operator_activity(*, operator: Operator, activity_id: int) -> OperatorActivity:
    """One activity of the operator; OperatorActivity.DoesNotExist (a 404) for any other."""
    return operator_activities(operator=operator).get(pk=activity_id)


def activity_types_catalogue() -> QuerySet[ActivityType]:
    """The activity types an operator may add now (active ones), in catalogue order."""
    return (
        ActivityType.objects.filter(active=True)
        .select_related("section")
        .order_by("section__ordering", "section__code", "ordering", "code")
    )


def activity_sections_catalogue() -> list[ActivitySection]:
    """The sections that offer at least one active type, each with `offered`: its active types
    in order."""
    sections = ActivitySection.objects.filter(activity_types__active=True).distinct()
    return list(
        sections.order_by("ordering", "code").prefetch_related(
            Prefetch(
                "activity_types",
                queryset=ActivityType.objects.filter(active=True).order_by("ordering", "code"),
                to_attr="offered",
            )
        )
    )


@dataclass(frozen=True)
class ActivityRow:
    """One activity as a page shows it, labels in the page's language."""

    activity: OperatorActivity
    section: str
    label: str
    code: str
    identifier: str


def operator_activity_rows(*, operator: Operator, language: str) -> list[ActivityRow]:
    return [
        ActivityRow(
            activity=item,
            section=item.activity_type.section.label_in(language),
            label=item.activity_type.label_in(language),
            code=item.activity_type.code,
            identifier=item.identifier,
        )
        for item in operator_activities(operator=operator)
    ]


def activity_can_manage(*, actor: User, operator: Operator) -> bool:
    """Whether the person may add and remove the operator's activities: its legal
    representative or a manager, with a valid position."""
    return selectors.space_can_manage(
        position=selectors.space_position_of(person=actor, operator=operator)
    )


# --- Services -----------------------------------------------------------------------------------


def _check_manager(*, actor: User, operator: Operator) -> None:
    if not activity_can_manage(actor=actor, operator=operator):
        raise NotAllowed(
            _("Only the legal representative and managers can change the company's activities.")
        )


def _space_usable(operator: Operator) -> Operator:
    """The operator, locked for this change; refused when its space was deleted or merged."""
    locked = Operator.objects.select_for_update().filter(pk=operator.pk).first()
    if locked is None or locked.deleted_at is not None or locked.merged_into_id is not None:
        raise ValidationError(
            {"operator": [_("This company's professional space no longer exists.")]}
        )
    return locked


def _type_code(activity_type: ActivityType) -> str:
    return f"{activity_type.section.code}/{activity_type.code}"


def _already_there(activity_type: ActivityType) -> ValidationError:
    return ValidationError(
        {
            "activity_type": [
                _(
                    "The company already has the activity “%(label)s”. To change its "
                    "identifier, remove it first and add it again."
                )
                % {"label": activity_type.label_in((get_language() or "en")[:2])}
            ]
        }
    )


@transaction.atomic
def operator_activity_add(
    *, actor: User, operator: Operator, activity_type: ActivityType, identifier: str = ""
) -> OperatorActivity:
    """Add an activity from the catalogue to the operator, with the identifier it holds for it
    (optional, trimmed, 60 characters at most). A type the operator already has, or one the
    administration no longer offers, is refused."""
    _check_manager(actor=actor, operator=operator)
    locked = _space_usable(operator)
    identifier = " ".join((identifier or "").split())
    errors: dict[str, list[object]] = {}
    stored_type = ActivityType.objects.select_related("section").filter(pk=activity_type.pk).first()
    if stored_type is None or not stored_type.active:
        errors["activity_type"] = [
            _("This activity type is no longer offered. Choose another one from the list.")
        ]
    if len(identifier) > IDENTIFIER_MAX:
        errors["identifier"] = [
            _("Enter an identifier of %(max)s characters or fewer.") % {"max": IDENTIFIER_MAX}
        ]
    if errors:
        raise ValidationError(errors)
    assert stored_type is not None
    if OperatorActivity.objects.filter(operator=locked, activity_type=stored_type).exists():
        raise _already_there(stored_type)
    try:
        with transaction.atomic():
            activity = OperatorActivity.objects.create(
                operator=locked,
                activity_type=stored_type,
                identifier=identifier,
                added_at=timezone.now(),
                added_by=actor,
            )
    except IntegrityError as exc:  # added by someone else a moment ago
        raise _already_there(stored_type) from exc
    audit_record(
        action="operator.activity_added",
        actor=actor,
        subject=locked,
        data={
            "activity": activity.pk,
            "activity_type": _type_code(stored_type),
            "identifier": identifier,
        },
    )
    return activity


@transaction.atomic
def operator_activity_remove(
    *, actor: User, operator: Operator, activity: OperatorActivity
) -> OperatorActivity:
    """Take the activity off the operator's list."""
    _check_manager(actor=actor, operator=operator)
    locked = _space_usable(operator)
    if activity.operator_id != locked.pk:
        raise OperatorActivity.DoesNotExist
    deleted, _rows = OperatorActivity.objects.filter(pk=activity.pk, operator=locked).delete()
    if not deleted:
        raise ValidationError(
            {"activity": [_("This activity has already been removed. Nothing was changed.")]}
        )
    audit_record(
        action="operator.activity_removed",
        actor=actor,
        subject=locked,
        data={
            "activity": activity.pk,
            "activity_type": _type_code(activity.activity_type),
            "identifier": activity.identifier,
        },
    )
    return activity
