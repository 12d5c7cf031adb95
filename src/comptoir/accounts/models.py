from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.validators import username_validator


class User(AbstractUser):
    """A person with an account. The username rule follows the national portal's."""

    username = models.CharField(
        _("username"),
        max_length=20,
        unique=True,
        validators=[username_validator],
        help_text=_("8 to 20 characters: letters, digits, hyphens and underscores."),
        error_messages={"unique": _("This username is already taken. Choose another one.")},
    )
    email = models.EmailField(_("email address"), blank=True)
    phone = models.CharField(_("phone number"), max_length=32, blank=True)
    postal_address = models.TextField(_("postal address"), blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        verbose_name = _("person")
        verbose_name_plural = _("people")

    @property
    def is_portal_staff(self) -> bool:
        """Officers, service desk and administrators: TOTP is mandatory for them."""
        if self.is_staff or self.is_superuser:
            return True
        if self.groups.filter(name__in=settings.COMPTOIR_STAFF_GROUPS).exists():
            return True
        # A valid position at an authority (officer, service desk) makes a person staff too.
        return self.positions.filter(authority__isnull=False, status="valid").exists()


class TermsVersionQuerySet(models.QuerySet["TermsVersion"]):
    def published(self) -> TermsVersionQuerySet:
        return self.filter(published_at__isnull=False, published_at__lte=timezone.now())


class TermsVersion(models.Model):
    version = models.CharField(_("version"), max_length=20, unique=True)
    title_fr = models.CharField(_("title (French)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_de = models.CharField(_("title (German)"), max_length=200)
    text_fr = models.TextField(_("text (French)"))
    text_en = models.TextField(_("text (English)"))
    text_de = models.TextField(_("text (German)"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)

    objects = TermsVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        verbose_name = _("terms of use version")
        verbose_name_plural = _("terms of use versions")

    def __str__(self) -> str:
        return self.version

    def title_in(self, language: str) -> str:
        return getattr(self, f"title_{language[:2]}", None) or self.title_en

    def text_in(self, language: str) -> str:
        return getattr(self, f"text_{language[:2]}", None) or self.text_en


class TermsAcceptance(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="terms_acceptances"
    )
    terms = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(_("accepted"), default=timezone.now)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "terms"], name="terms_accepted_once")
        ]
        verbose_name = _("terms acceptance")
        verbose_name_plural = _("terms acceptances")

    def __str__(self) -> str:
        return f"{self.user_id} accepted {self.terms_id}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 digest is stored; the token is shown once."""

    PREFIX = "cpt_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(_("starts with"), max_length=12)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
