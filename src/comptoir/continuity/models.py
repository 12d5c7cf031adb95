from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Outage(models.Model):
    """One outage and the procedure it opens (DESIGN procedure 10).

    - OPERATOR: an operator's B2G system is down. The operator reports it (REPORTED); the service
      desk acknowledges it, which opens the operator's fallback (OPEN): it may lodge through the
      portal; the operator reports recovery (CLOSED).
    - ADMINISTRATION: the administration's B2G system is down. The service desk opens the fallback
      (OPEN at once): portal lodging is open to every operator until it closes it.
    - EXCEPTION: the national system is down. The service desk opens it (OPEN): online lodging is
      refused, operators contact the customs office named and follow the instructions.
    Rows are never deleted: closed outages are the history."""

    class Kind(models.TextChoices):
        OPERATOR = "operator", _("Operator's B2G system down")
        ADMINISTRATION = "administration", _("Administration's B2G system down (fallback)")
        EXCEPTION = "exception", _("National system down (exception)")

    class Status(models.TextChoices):
        REPORTED = "reported", _("Reported")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.REPORTED: frozenset({Status.OPEN, Status.CLOSED}),
        Status.OPEN: frozenset({Status.CLOSED}),
        Status.CLOSED: frozenset(),
    }

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    operator = models.ForeignKey(
        "operators.Operator",
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outages",
    )
    description = models.TextField(_("what happened"), blank=True)
    contact_office = models.CharField(_("customs office to contact"), max_length=200, blank=True)
    instructions = models.TextField(_("instructions"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("reported"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closing_note = models.TextField(_("closing note"), blank=True)

    class Meta:
        ordering = ["-reported_at", "-pk"]
        verbose_name = _("outage")
        verbose_name_plural = _("outages")
        constraints = [
            # One outage not yet closed per operator, and one per administration-wide kind.
            models.UniqueConstraint(
                fields=["kind", "operator"],
                condition=~Q(status="closed") & Q(operator__isnull=False),
                name="outage_one_unclosed_per_operator",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=~Q(status="closed") & Q(operator__isnull=True),
                name="outage_one_unclosed_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="operator", operator__isnull=False)
                | (~Q(kind="operator") & Q(operator__isnull=True)),
                name="outage_operator_only_for_operator_kind",
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_status_display()}"

    @property
    def reference(self) -> str:
        """The number people quote to the service desk (OUT-2026-000042)."""
        return f"OUT-{self.reported_at:%Y}-{self.pk or 0:06d}"

    @property
    def is_administration_wide(self) -> bool:
        return self.kind in (self.Kind.ADMINISTRATION, self.Kind.EXCEPTION)


class FanOut(models.Model):
    """Telling every operator's people that an administration fallback or an exception opened or
    closed: one row per outage and event, written with the state change; the background task
    works through the people in batches by primary key and records here how far it got, so that
    a task run again (or twice at once) carries on where the last batch committed and never
    tells anyone twice."""

    class Event(models.TextChoices):
        OPENED = "opened", _("Opened")
        CLOSED = "closed", _("Closed")

    outage = models.ForeignKey(
        Outage, verbose_name=_("outage"), on_delete=models.PROTECT, related_name="fan_outs"
    )
    event = models.CharField(_("event"), max_length=10, choices=Event.choices)
    #: The primary key of the last person told (people are told in primary key order).
    cursor = models.BigIntegerField(_("last person told"), default=0)
    notices = models.PositiveIntegerField(_("notices written"), default=0)
    emails = models.PositiveIntegerField(_("e-mails queued"), default=0)
    batches = models.PositiveIntegerField(_("batches"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("fan-out of notices")
        verbose_name_plural = _("fan-outs of notices")
        constraints = [
            models.UniqueConstraint(fields=["outage", "event"], name="fan_out_once_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.outage_id} · {self.event}"
