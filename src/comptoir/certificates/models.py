"""EORI identities and the certificates registered against them (DESIGN procedure 7).

A certificate goes DRAFT → SEALED (Comptoir issued and sealed its registration PDF) →
SIGNING_PENDING (the signed PDF was uploaded) → ACTIVE or REFUSED; an ACTIVE certificate ends
REVOKED (by the operator or customs, with a reason) or EXPIRED (at the end of its validity).
``Certificate.TRANSITIONS`` is the only table of allowed moves; services change the status with
a conditional UPDATE guarded by it."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EoriIdentity(models.Model):
    """The identity an operator's certificates are bound to (UUM&DS style): one per operator
    with an EORI number, created with it (``identity_receivers``; ``identities`` fills in the
    operators written in bulk) through ``services.eori_identity_for``."""

    class IdentifierType(models.TextChoices):
        EORI = "EORI", _("EORI number")

    class ActorType(models.TextChoices):
        EO = "EO", _("Economic operator")

    public_id = models.UUIDField(_("identity id"), default=uuid.uuid4, unique=True, editable=False)
    operator = models.OneToOneField(
        "operators.Operator",
        verbose_name=_("operator"),
        # Goes with its operator (a purged space); its certificates still protect both.
        on_delete=models.CASCADE,
        related_name="eori_identity",
    )
    identifier = models.CharField(_("identifier"), max_length=17, unique=True)
    identifier_type = models.CharField(
        _("identifier type"),
        max_length=10,
        choices=IdentifierType.choices,
        default=IdentifierType.EORI,
    )
    actor_type = models.CharField(
        _("actor type"), max_length=10, choices=ActorType.choices, default=ActorType.EO
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    modified_at = models.DateTimeField(_("modified"), default=timezone.now)

    class Meta:
        ordering = ["identifier"]
        verbose_name = _("EORI identity")
        verbose_name_plural = _("EORI identities")

    def __str__(self) -> str:
        return f"{self.identifier_type} {self.identifier}"


class Certificate(models.Model):
    """A signing or sealing certificate registered against an EORI identity."""

    class Purpose(models.TextChoices):
        SIGNATURE = "signature", _("Electronic signature")
        SEAL = "seal", _("Electronic seal")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SEALED = "sealed", _("Registration document issued")
        SIGNING_PENDING = "signing_pending", _("Signature being checked")
        ACTIVE = "active", _("Active")
        REFUSED = "refused", _("Refused")
        REVOKED = "revoked", _("Revoked")
        EXPIRED = "expired", _("Expired")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.DRAFT: frozenset({Status.SEALED}),
        Status.SEALED: frozenset({Status.SIGNING_PENDING}),
        Status.SIGNING_PENDING: frozenset({Status.ACTIVE, Status.REFUSED}),
        Status.ACTIVE: frozenset({Status.REVOKED, Status.EXPIRED}),
        Status.REFUSED: frozenset(),
        Status.REVOKED: frozenset(),
        Status.EXPIRED: frozenset(),
    }

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    identity = models.ForeignKey(
        EoriIdentity,
        verbose_name=_("EORI identity"),
        on_delete=models.PROTECT,
        related_name="certificates",
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    purpose = models.CharField(_("purpose"), max_length=10, choices=Purpose.choices)
    key_holder = models.BooleanField(_("key holder"), default=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )

    # The certificate itself and what was read from it (empty until it is known: a key holder's
    # certificate is taken from the signature of the registration PDF).
    der = models.BinaryField(_("certificate (DER)"), null=True, blank=True, editable=False)
    serial = models.CharField(_("serial number"), max_length=128, blank=True)
    version = models.PositiveSmallIntegerField(_("version"), null=True, blank=True)
    subject = models.TextField(_("subject"), blank=True)
    issuer = models.TextField(_("issuer"), blank=True)
    sha256 = models.CharField(_("SHA-256 digest"), max_length=64, blank=True, db_index=True)
    not_before = models.DateTimeField(_("valid from"), null=True, blank=True)
    not_after = models.DateTimeField(_("valid until"), null=True, blank=True)
    signature_algorithm = models.CharField(_("signature algorithm"), max_length=100, blank=True)
    qualified = models.BooleanField(_("qualified"), default=False)
    #: The trust service (CA) the chain ended at, as found on a trusted list.
    trust_service = models.CharField(_("trust service"), max_length=300, blank=True)

    registration_pdf_id = models.UUIDField(
        _("registration document id"), default=uuid.uuid4, unique=True, editable=False
    )
    refusal_code = models.CharField(_("refusal code"), max_length=40, blank=True)
    refusal_reason = models.TextField(_("refusal reason"), blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    revocation_reason = models.TextField(_("revocation reason"), blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    modified_at = models.DateTimeField(_("modified"), default=timezone.now)
    modified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("modified by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        indexes = [
            models.Index(fields=["identity", "status"]),
            models.Index(fields=["status", "not_after"]),
            models.Index(fields=["serial"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    @classmethod
    def can_move(cls, source: str, target: str) -> bool:
        return target in cls.TRANSITIONS.get(source, frozenset())


class RegistrationDocument(models.Model):
    """A file of a certificate's registration, kept as it was issued or received: the registration
    PDF sealed by Comptoir, the PDF signed by the registrant (or the detached CAdES signature
    over the issued PDF), the certificate file uploaded by a non-key-holder, and the proof of
    registration sealed by Comptoir. One of each kind per certificate; never changed."""

    class Kind(models.TextChoices):
        ISSUED = "issued", _("Registration document (sealed by the administration)")
        SIGNED = "signed", _("Signed registration document")
        SIGNATURE = "signature", _("Detached signature (CAdES)")
        CERTIFICATE = "certificate", _("Certificate file")
        PROOF = "proof", _("Proof of registration")

    certificate = models.ForeignKey(
        Certificate,
        verbose_name=_("certificate"),
        on_delete=models.PROTECT,
        related_name="documents",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    content = models.BinaryField(_("content"), editable=False)
    sha256 = models.CharField(_("SHA-256 digest"), max_length=64, editable=False)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["certificate", "created_at"]
        verbose_name = _("registration document")
        verbose_name_plural = _("registration documents")
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "kind"], name="registration_document_one_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.certificate_id} · {self.get_kind_display()}"


class CertificateReminder(models.Model):
    """An expiry reminder sent (60, 30 and 7 days before the end of validity): one row per
    certificate and delay, so that a reminder goes out once whatever the task's runs."""

    certificate = models.ForeignKey(
        Certificate,
        verbose_name=_("certificate"),
        on_delete=models.CASCADE,
        related_name="reminders",
    )
    days_before = models.PositiveSmallIntegerField(_("days before expiry"))
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("expiry reminder")
        verbose_name_plural = _("expiry reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "days_before"], name="certificate_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.certificate_id} · {self.days_before}"


class RegistrationRight(models.Model):
    """An operator's access to certificate registration, asked of customs and granted through
    the approvals queue (request kind "certificate_access"). Until one is GRANTED for the
    operator, the registration wizard stays closed."""

    class Environment(models.TextChoices):
        PRODUCTION = "production", _("Production")
        CONFORMANCE = "conformance", _("Conformance testing")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        GRANTED = "granted", _("Granted")
        REFUSED = "refused", _("Refused")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.REQUESTED: frozenset({Status.GRANTED, Status.REFUSED, Status.WITHDRAWN}),
        Status.GRANTED: frozenset({Status.WITHDRAWN}),
        Status.REFUSED: frozenset(),
        Status.WITHDRAWN: frozenset(),
    }

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    operator = models.ForeignKey(
        "operators.Operator",
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        related_name="registration_rights",
    )
    eori = models.CharField(_("EORI number"), max_length=17)
    company_name = models.CharField(_("company name"), max_length=200)
    account_name = models.CharField(_("account name"), max_length=150)
    wanted_on = models.DateField(_("wanted from"))
    environment = models.CharField(_("environment"), max_length=20, choices=Environment.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED
    )
    #: The approvals request that decides it.
    request_id = models.UUIDField(_("request"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("certificate registration right")
        verbose_name_plural = _("certificate registration rights")
        constraints = [
            # One request waiting or one right granted per operator and environment.
            models.UniqueConstraint(
                fields=["operator", "environment"],
                condition=Q(status__in=["requested", "granted"]),
                name="registration_right_one_live_per_environment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.eori} · {self.get_environment_display()} · {self.get_status_display()}"
