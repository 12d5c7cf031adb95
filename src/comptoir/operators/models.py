"""Operators, authorities, the people's positions in them, and the customs operations granted."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

country_validator = RegexValidator(
    r"^[A-Z]{2}\Z", _("Enter a two-letter country code (ISO 3166), for example FR.")
)


class Operator(models.Model):
    """An economic operator (trader, forwarder, representative…), known by its EORI number."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    class LodgingChannel(models.TextChoices):
        B2G = "b2g", _("B2G system")
        PORTAL = "portal", _("Portal only")

    eori = models.CharField(_("EORI number"), max_length=17, blank=True, default="")
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2, validators=[country_validator])
    address_line1 = models.CharField(_("address line 1"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    city = models.CharField(_("town or city"), max_length=100, blank=True)
    phone = models.CharField(_("phone number"), max_length=32, blank=True)
    email = models.EmailField(_("email address"), blank=True)
    website = models.URLField(_("website"), blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    fax = models.CharField(_("fax number"), max_length=32, blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    # The name in lower case without accents or punctuation runs, for directory search; kept
    # in step by operator_search_name() wherever a name is written (bulk imports included).
    search_name = models.CharField(_("name for search"), max_length=200, blank=True, editable=False)
    national_id = models.CharField(
        _("national identification number"),
        max_length=40,
        blank=True,
        help_text=_("For operators established outside the European Union."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    lodging_channel = models.CharField(
        _("lodging channel"),
        max_length=10,
        choices=LodgingChannel.choices,
        default=LodgingChannel.PORTAL,
        # Also a database default: bulk imports (COPY) leave the column out.
        db_default=LodgingChannel.PORTAL,
        help_text=_(
            "B2G operators lodge through their own system and use the portal only during a "
            "fallback; portal-only operators always lodge through the portal."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    modified_at = models.DateTimeField(_("modified"), auto_now=True)
    # A space merged into another one is closed and its pages redirect to the one kept.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
    )
    # Soft delete of the professional space: closed now, purged after the retention period.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("operator")
        verbose_name_plural = _("operators")
        constraints = [
            models.UniqueConstraint(
                fields=["eori"], condition=~Q(eori=""), name="operator_eori_unique"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "active", "suspended", "closed"]),
                name="operator_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.eori})" if self.eori else self.name


class Authority(models.Model):
    """A customs office, a border control post or a national administration."""

    class Kind(models.TextChoices):
        CUSTOMS_OFFICE = "customs_office", _("Customs office")
        BORDER_CONTROL_POST = "border_control_post", _("Border control post")
        NATIONAL_ADMINISTRATION = "national_administration", _("National administration")

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2, validators=[country_validator])
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = _("authority")
        verbose_name_plural = _("authorities")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Position(models.Model):
    """A person's role in one operator or one authority. A person may hold several."""

    class Role(models.TextChoices):
        LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")
        MANAGER = "manager", _("Manager")
        EMPLOYEE = "employee", _("Employee")
        OFFICER = "officer", _("Officer")
        SERVICE_DESK = "service_desk", _("Service desk")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        VALID = "valid", _("Valid")
        SUSPENDED = "suspended", _("Suspended")
        REJECTED = "rejected", _("Rejected")
        ENDED = "ended", _("Ended")

    OPERATOR_ROLES = frozenset({Role.LEGAL_REPRESENTATIVE, Role.MANAGER, Role.EMPLOYEE})
    AUTHORITY_ROLES = frozenset({Role.OFFICER, Role.SERVICE_DESK})
    # Positions still in force or waiting: a person holds at most one per organisation and role.
    OPEN_STATUSES = frozenset({Status.REQUESTED, Status.VALID, Status.SUSPENDED})

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="positions",
    )
    operator = models.ForeignKey(
        Operator,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="positions",
    )
    authority = models.ForeignKey(
        Authority,
        verbose_name=_("authority"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="positions",
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    since = models.DateTimeField(_("since"), null=True, blank=True)
    until = models.DateTimeField(_("until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(operator__isnull=False, authority__isnull=True)
                    | Q(operator__isnull=True, authority__isnull=False)
                ),
                name="position_one_organisation",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        operator__isnull=False,
                        role__in=["legal_representative", "manager", "employee"],
                    )
                    | Q(authority__isnull=False, role__in=["officer", "service_desk"])
                ),
                name="position_role_fits_organisation",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "valid", "suspended", "rejected", "ended"]),
                name="position_status_valid",
            ),
            models.UniqueConstraint(
                fields=["operator"],
                condition=Q(role="legal_representative", status="valid"),
                name="position_one_valid_legal_representative",
            ),
            models.UniqueConstraint(
                fields=["person", "operator", "role"],
                condition=Q(operator__isnull=False, status__in=["requested", "valid", "suspended"]),
                name="position_open_once_per_operator_role",
            ),
            models.UniqueConstraint(
                fields=["person", "authority", "role"],
                condition=Q(
                    authority__isnull=False, status__in=["requested", "valid", "suspended"]
                ),
                name="position_open_once_per_authority_role",
            ),
        ]
        indexes = [models.Index(fields=["person", "status"])]

    def __str__(self) -> str:
        organisation = self.operator if self.operator_id else self.authority
        return f"{self.person} · {self.get_role_display()} · {organisation}"


class CustomsOperation(models.Model):
    """The catalogue of customs operations an operator may hold; administrators edit it."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    label_fr = models.CharField(_("label (French)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200)
    label_de = models.CharField(_("label (German)"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    ordering = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["ordering", "code"]
        verbose_name = _("customs operation")
        verbose_name_plural = _("customs operations")

    def __str__(self) -> str:
        return self.code

    def label_in(self, language: str) -> str:
        return getattr(self, f"label_{language[:2]}", None) or self.label_en


class OperatorOperation(models.Model):
    """One grant of a customs operation to an operator. Rows are never deleted: the current set is
    the rows not revoked, the others are the history. The request that granted or revoked is kept
    by its public id (operators sit below approvals and do not point at its tables)."""

    operator = models.ForeignKey(
        Operator,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        related_name="operation_grants",
    )
    operation = models.ForeignKey(
        CustomsOperation,
        verbose_name=_("customs operation"),
        on_delete=models.PROTECT,
        related_name="grants",
    )
    granted_at = models.DateTimeField(_("granted"), default=timezone.now)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("granted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    granted_by_request = models.UUIDField(_("granting request"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_by_request = models.UUIDField(_("revoking request"), null=True, blank=True)

    class Meta:
        ordering = ["-granted_at"]
        verbose_name = _("granted customs operation")
        verbose_name_plural = _("granted customs operations")
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "operation"],
                condition=Q(revoked_at__isnull=True),
                name="operator_operation_current_once",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(revoked_at__gte=models.F("granted_at")),
                name="operator_operation_revoked_after_granted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operator} · {self.operation}"


class Invitation(models.Model):
    """An e-mailed invitation to join an operator with a role. The link's token is kept only as
    its SHA-256 digest; it works once, until it expires or a manager revokes it."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.PROTECT, related_name="invitations"
    )
    email = models.EmailField(_("email address"))
    role = models.CharField(_("role"), max_length=30, choices=Position.Role.choices)
    token_digest = models.CharField(_("token digest"), max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["manager", "employee"]), name="invitation_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(revoked_at__isnull=True),
                name="invitation_accepted_or_revoked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.operator}"


class ActivitySection(models.Model):
    """A sector of the directory (plant health, CITES…); administrators edit the catalogue."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    label_fr = models.CharField(_("label (French)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200)
    label_de = models.CharField(_("label (German)"), max_length=200)
    ordering = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["ordering", "code"]
        verbose_name = _("activity section")
        verbose_name_plural = _("activity sections")

    def __str__(self) -> str:
        return self.code

    def label_in(self, language: str) -> str:
        return getattr(self, f"label_{language[:2]}", None) or self.label_en


class ActivityType(models.Model):
    """An activity type within a section (EUPO, EURPO, QUA-CONF…)."""

    section = models.ForeignKey(
        ActivitySection,
        verbose_name=_("section"),
        on_delete=models.PROTECT,
        related_name="activity_types",
    )
    code = models.CharField(_("code"), max_length=40)
    label_fr = models.CharField(_("label (French)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200)
    label_de = models.CharField(_("label (German)"), max_length=200)
    active = models.BooleanField(_("active"), default=True)
    ordering = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["section__ordering", "ordering", "code"]
        verbose_name = _("activity type")
        verbose_name_plural = _("activity types")
        constraints = [
            models.UniqueConstraint(fields=["section", "code"], name="activity_type_code_once")
        ]

    def __str__(self) -> str:
        return f"{self.section.code} · {self.code}"

    def label_in(self, language: str) -> str:
        return getattr(self, f"label_{language[:2]}", None) or self.label_en


class OperatorActivity(models.Model):
    """An activity an operator carries out, with the identifier it holds for it (for example
    its plant-health registration number)."""

    operator = models.ForeignKey(
        Operator, verbose_name=_("operator"), on_delete=models.CASCADE, related_name="activities"
    )
    activity_type = models.ForeignKey(
        ActivityType,
        verbose_name=_("activity type"),
        on_delete=models.PROTECT,
        related_name="operator_activities",
    )
    identifier = models.CharField(_("identifier"), max_length=60, blank=True)
    added_at = models.DateTimeField(_("added"), default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["activity_type__section__ordering", "activity_type__ordering"]
        verbose_name = _("operator activity")
        verbose_name_plural = _("operator activities")
        constraints = [
            models.UniqueConstraint(
                fields=["operator", "activity_type"], name="operator_activity_once"
            )
        ]
        indexes = [models.Index(fields=["activity_type", "operator"])]

    def __str__(self) -> str:
        return f"{self.operator} · {self.activity_type}"


class Mandate(models.Model):
    """An operator (the principal) mandates a service provider, another operator known by its
    EORI, for one scope and a period of days (valid_until empty: open-ended; both days
    included, in the deployment's time zone). The provider accepts or declines; either side
    ends it. Transitions and their guards live in comptoir.operators.mandates."""

    class Scope(models.TextChoices):
        ICS2_FILING = "ics2_filing", _("ICS2 filing (B2G messages)")
        PORTAL_ACTIONS = "portal_actions", _("Portal actions")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        ENDED = "ended", _("Ended")

    class Side(models.TextChoices):
        PRINCIPAL = "principal", _("Principal")
        PROVIDER = "provider", _("Service provider")

    #: Mandates that still count: waiting for the provider, or accepted and not ended.
    OPEN_STATUSES = frozenset({Status.PROPOSED, Status.ACCEPTED})

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    principal = models.ForeignKey(
        Operator,
        verbose_name=_("principal"),
        on_delete=models.PROTECT,
        related_name="mandates_given",
    )
    provider = models.ForeignKey(
        Operator,
        verbose_name=_("service provider"),
        on_delete=models.PROTECT,
        related_name="mandates_received",
    )
    scope = models.CharField(_("scope"), max_length=30, choices=Scope.choices)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("proposed"), default=timezone.now)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    declined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("declined by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    declined_at = models.DateTimeField(_("declined"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ended by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    ended_side = models.CharField(
        _("ended by the side"), max_length=10, choices=Side.choices, blank=True
    )
    #: Why it was ended, or declined.
    end_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["proposed", "accepted", "declined", "ended"]),
                name="mandate_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(scope__in=["ics2_filing", "portal_actions"]),
                name="mandate_scope_valid",
            ),
            models.CheckConstraint(
                condition=~Q(principal=models.F("provider")), name="mandate_not_self"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="mandate_period_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "scope", "status"]),
            models.Index(fields=["principal", "provider", "scope", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.principal} → {self.provider} ({self.scope})"

    @property
    def reference(self) -> str:
        """A short reference for people (notices, pages): MDT- and the id's first ten hex."""
        return f"MDT-{self.public_id.hex[:10].upper()}"
