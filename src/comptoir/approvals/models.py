"""Requests and their decisions: one state machine for every kind of request."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from comptoir.operators.models import Authority, Operator


class Request(models.Model):
    class Kind(models.TextChoices):
        OPERATOR_REGISTRATION = "operator_registration", _("Operator registration")
        MEMBERSHIP = "membership", _("Request to join an operator")
        OPERATION_CHANGE = "operation_change", _("Change of customs operations")
        LEGAL_REPRESENTATIVE_TRANSFER = (
            "legal_representative_transfer",
            _("Transfer of the legal representation"),
        )
        AUTHORITY_ROLE = "authority_role", _("Request for a role at an authority")
        OPERATOR_ROLE = (
            "operator_role",
            _("Request for a role at an operator, validated by the national authority"),
        )
        CERTIFICATE_ACCESS = "certificate_access", _("Access to certificate registration")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", pgettext_lazy("request status", "Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        EXPIRED = "expired", _("Expired")

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requester"),
        on_delete=models.PROTECT,
        related_name="approval_requests",
    )
    operator = models.ForeignKey(
        Operator,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
    )
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("competent authority"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
    )
    payload = models.JSONField(_("details"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["submitted", "approved", "rejected", "withdrawn", "expired"]
                ),
                name="request_status_valid",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="submitted", decided_at__isnull=True)
                    | (~Q(status="submitted") & Q(decided_at__isnull=False))
                ),
                name="request_decided_when_closed",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(reason=""),
                name="request_rejection_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["authority", "status"]),
            models.Index(fields=["operator", "status"]),
        ]

    def __str__(self) -> str:
        return self.reference


class RequestCounter(models.Model):
    """The last reference number issued in a year (REQ-<year>-<number>)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("request counter")

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class RequestEvent(models.Model):
    """One step in a request's life, from its submission to its end."""

    request = models.ForeignKey(
        Request, verbose_name=_("request"), on_delete=models.PROTECT, related_name="events"
    )
    from_status = models.CharField(_("previous status"), max_length=10, blank=True)
    to_status = models.CharField(_("new status"), max_length=10, choices=Request.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("request event")
        verbose_name_plural = _("request events")

    def __str__(self) -> str:
        return f"{self.request_id}: {self.from_status or '∅'} → {self.to_status}"
