from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class B2GClient(models.Model):
    """A system that calls the B2G API: an access point of the administration (no operator), or
    an operator's own B2G system (lodging for that operator). It authenticates with a bearer
    token (only its SHA-256 digest is kept) or with a client certificate forwarded by a trusted
    TLS-terminating proxy (matched by the certificate's SHA-256 fingerprint)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    token_digest = models.CharField(_("token digest"), max_length=64, unique=True, editable=False)
    certificate_fingerprint = models.CharField(
        _("client certificate SHA-256 fingerprint"), max_length=64, blank=True, db_index=True
    )
    operator = models.ForeignKey(
        "operators.Operator",
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="b2g_clients",
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    calls = models.PositiveBigIntegerField(_("allowed calls"), default=0)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # A certificate identifies one enabled client (checked by the services; this makes
            # it hold when two administrators act at the same moment).
            models.UniqueConstraint(
                fields=["certificate_fingerprint"],
                condition=models.Q(enabled=True) & ~models.Q(certificate_fingerprint=""),
                name="b2g_client_certificate_enabled_unique",
            )
        ]
        verbose_name = _("B2G client")
        verbose_name_plural = _("B2G clients")

    def __str__(self) -> str:
        return self.name
