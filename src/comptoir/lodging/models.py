"""Declarations lodged through the portal or the B2G API, their MRN and their hand-over to the
national system (DESIGN procedure 11)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DeclarationType(models.Model):
    """A kind of declaration that can be lodged, the customs operation an operator must hold to
    lodge it, and the procedure letter of its MRN. Data: administrators edit the catalogue."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    label_fr = models.CharField(_("label (French)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200)
    label_de = models.CharField(_("label (German)"), max_length=200)
    operation = models.ForeignKey(
        "operators.CustomsOperation",
        verbose_name=_("customs operation needed"),
        on_delete=models.PROTECT,
        related_name="declaration_types",
    )
    procedure_letter = models.CharField(
        _("MRN procedure letter"),
        max_length=1,
        help_text=_("Character 17 of the MRNs issued for this type, e.g. J for transit."),
    )
    active = models.BooleanField(_("active"), default=True)
    ordering = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["ordering", "code"]
        verbose_name = _("declaration type")
        verbose_name_plural = _("declaration types")
        constraints = [
            models.CheckConstraint(
                condition=Q(procedure_letter__regex=r"^[A-Z]$"),
                name="declaration_type_procedure_letter",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def label_in(self, language: str) -> str:
        return getattr(self, f"label_{(language or 'en')[:2]}", None) or self.label_en


class MrnCounter(models.Model):
    """The last serial issued per year and issuing country. Issuance increments the row with a
    conditional UPDATE inside the lodging transaction: the row lock serialises concurrent
    issuers, and a rolled-back lodging gives its number back."""

    year = models.PositiveSmallIntegerField(_("year"))
    country = models.CharField(_("country"), max_length=2)
    last = models.PositiveBigIntegerField(_("last serial"), default=0)

    class Meta:
        verbose_name = _("MRN counter")
        verbose_name_plural = _("MRN counters")
        constraints = [
            models.UniqueConstraint(fields=["year", "country"], name="mrn_counter_once"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.country}: {self.last}"


class Declaration(models.Model):
    """One accepted declaration. Refused ones are never stored (their refusal is audited)."""

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        B2G = "b2g", _("B2G system")

    class Format(models.TextChoices):
        XML = "xml", _("XML")
        JSON = "json", _("JSON")

    class Delivery(models.TextChoices):
        PENDING = "pending", _("Waiting to be handed over")
        DELIVERED = "delivered", _("Handed over")
        FAILED = "failed", _("Hand-over failed")

    DELIVERY_TRANSITIONS: dict[str, frozenset[str]] = {
        Delivery.PENDING: frozenset({Delivery.DELIVERED, Delivery.FAILED}),
        Delivery.FAILED: frozenset({Delivery.PENDING}),  # retried by hand: lodging_deliver --failed
        Delivery.DELIVERED: frozenset(),
    }

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    mrn = models.CharField(_("MRN"), max_length=18, unique=True)
    operator = models.ForeignKey(
        "operators.Operator",
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        related_name="declarations",
    )
    declaration_type = models.ForeignKey(
        DeclarationType,
        verbose_name=_("declaration type"),
        on_delete=models.PROTECT,
        related_name="declarations",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    lodged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lodged by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    client = models.ForeignKey(
        "b2g.B2GClient",
        verbose_name=_("B2G client"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="declarations",
    )
    format = models.CharField(_("format"), max_length=4, choices=Format.choices)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    payload = models.BinaryField(_("payload"))
    payload_size = models.PositiveIntegerField(_("payload size (bytes)"))
    payload_sha256 = models.CharField(_("payload SHA-256"), max_length=64)
    lodged_at = models.DateTimeField(_("lodged"), default=timezone.now)
    delivery_status = models.CharField(
        _("hand-over"), max_length=10, choices=Delivery.choices, default=Delivery.PENDING
    )
    delivery_attempts = models.PositiveSmallIntegerField(_("hand-over attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("handed over"), null=True, blank=True)

    class Meta:
        ordering = ["-lodged_at", "-pk"]
        verbose_name = _("declaration")
        verbose_name_plural = _("declarations")
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=["portal", "b2g"]), name="declaration_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(format__in=["xml", "json"]), name="declaration_format_valid"
            ),
            models.CheckConstraint(
                condition=Q(delivery_status__in=["pending", "delivered", "failed"]),
                name="declaration_delivery_status_valid",
            ),
            # A portal declaration has a person behind it, a B2G one a client.
            models.CheckConstraint(
                condition=Q(channel="portal", lodged_by__isnull=False)
                | Q(channel="b2g", client__isnull=False),
                name="declaration_channel_actor",
            ),
        ]
        indexes = [
            models.Index(fields=["operator", "lodged_at"]),
            models.Index(fields=["delivery_status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return self.mrn
