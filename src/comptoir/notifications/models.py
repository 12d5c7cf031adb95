from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """An e-mail waiting to be delivered, or delivered. Written in the same transaction as the
    state change that causes it; a background task delivers it after commit."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    to = models.EmailField(_("to"))
    subject = models.CharField(_("subject"), max_length=255)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    template = models.CharField(_("template"), max_length=120, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"

    @property
    def message_id(self) -> str:
        return f"<{self.id}@comptoir>"


class Notice(models.Model):
    """An in-app notice for one person, written in their language in the same transaction as the
    state change it tells about. An operator's notices also show in its professional space."""

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notices",
    )
    operator = models.ForeignKey(
        "operators.Operator",
        verbose_name=_("operator"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notices",
    )
    topic = models.CharField(_("topic"), max_length=120)
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    #: The area of work it belongs to (company, customs, continuity, lodging, certificates…).
    sector = models.CharField(_("sector"), max_length=30, blank=True)
    #: The reference number it is about (a request reference, an MRN…), for search and filters.
    reference = models.CharField(_("reference"), max_length=40, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        indexes = [
            models.Index(fields=["recipient", "read_at"]),
            models.Index(fields=["operator", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.title


class NoticePreference(models.Model):
    """Whether a person also gets the notices of one category by e-mail (in-app always).
    No row means the default: by e-mail too."""

    class Category(models.TextChoices):
        TO_DECIDE = "to_decide", _("Requests waiting for my decision")
        MY_REQUESTS = "my_requests", _("Decisions on my requests")
        COMPANY = "company", _("News of my companies (invitations, new members)")

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="notice_preferences",
    )
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    by_email = models.BooleanField(_("also by e-mail"), default=True)

    class Meta:
        verbose_name = _("notice preference")
        verbose_name_plural = _("notice preferences")
        constraints = [
            models.UniqueConstraint(fields=["person", "category"], name="notice_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.person_id} · {self.category}: {'e-mail' if self.by_email else 'in-app'}"
