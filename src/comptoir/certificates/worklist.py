"""The certificate tasks on each person's dashboard: the ACTIVE certificates of the operators
where the person is legal representative or manager that reach the end of their validity within
REMINDER_DAYS (the first reminder); high priority within the dashboard's "due soon" window."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.certificates.models import Certificate
from comptoir.notifications.models import Notice
from comptoir.notifications.worklist import WorkItem, task_due_soon_days, work_source
from comptoir.operators.models import Position

if TYPE_CHECKING:
    from comptoir.accounts.models import User

SECTOR = "certificates"
#: The first expiry reminder (60, 30 and 7 days before the end of validity).
REMINDER_DAYS = 60
#: Tasks listed at most.
LIMIT = 200


@work_source("certificates")
def certificate_work(person: User) -> list[WorkItem]:
    if not person.is_authenticated:
        return []
    now = timezone.now()
    managed = Position.objects.filter(
        person=person,
        operator__isnull=False,
        status=Position.Status.VALID,
        role__in=[Position.Role.LEGAL_REPRESENTATIVE, Position.Role.MANAGER],
    ).values("operator_id")
    expiring = (
        Certificate.objects.filter(
            identity__operator_id__in=managed,
            status=Certificate.Status.ACTIVE,
            not_after__gte=now,
            not_after__lte=now + timedelta(days=REMINDER_DAYS),
        )
        .select_related("identity__operator")
        .order_by("not_after")[:LIMIT]
    )
    soon = now + timedelta(days=task_due_soon_days())
    return [
        WorkItem(
            type="certificate",
            title=_("Certificate “%(name)s” of %(operator)s expires soon: register its successor")
            % {"name": certificate.name, "operator": certificate.identity.operator.name},
            link=reverse(
                "certificates:detail",
                kwargs={
                    "operator_id": certificate.identity.operator_id,
                    "certificate_id": certificate.public_id,
                },
            ),
            sector=SECTOR,
            priority=Notice.Priority.HIGH
            if certificate.not_after and certificate.not_after <= soon
            else Notice.Priority.NORMAL,
            reference=certificate.serial[:40],
            created_at=certificate.activated_at or certificate.created_at,
            due_at=certificate.not_after,
        )
        for certificate in expiring
    ]
