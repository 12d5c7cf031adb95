from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One security-relevant fact. Rows are only ever added; each carries the hash of the previous
    one, so that editing or deleting any row breaks the chain (see services.audit_verify)."""

    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True)
    occurred_at = models.DateTimeField(_("time"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        # The actor's id is part of the hashed content: deleting the person must not rewrite it.
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=80, blank=True)
    subject_id = models.CharField(
        pgettext_lazy("audit event", "subject"), max_length=64, blank=True
    )
    subject_label = models.CharField(_("subject label"), max_length=200, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    #: "Acting for whom": the economic operator the actor acted for (empty: for themself).
    on_behalf_of = models.JSONField(_("on behalf of"), default=dict, blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["subject_type", "subject_id", "sequence"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action}"


class AuditChainHead(models.Model):
    """A single row that holds the last sequence and hash: locking it serialises appends, and
    comparing it with the last event detects the deletion of the newest rows."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"head #{self.sequence}"
