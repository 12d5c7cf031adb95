"""Comptoir settings, driven by the environment.

The embedded default (no COMPTOIR_ENVIRONMENT=production) runs on a SQLite file, writes e-mails to a
local outbox folder and keeps a generated secret key under var/. Production refuses to start until
every required setting is given; see docs/configuration.md.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

SRC_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = SRC_DIR.parent
VAR_DIR = Path(os.environ.get("COMPTOIR_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str | None = None) -> str | None:
    """Read a setting from NAME, or from the file named by NAME_FILE (for secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    value = env(name, default) or ""
    return [item.strip() for item in value.split(",") if item.strip()]


ENVIRONMENT = (env("COMPTOIR_ENVIRONMENT", "development") or "development").strip().lower()
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("DEBUG", default=not PRODUCTION)


def _missing_production_settings() -> list[str]:
    missing = []
    if not env("SECRET_KEY"):
        missing.append("SECRET_KEY (or SECRET_KEY_FILE)")
    if not env("ALLOWED_HOSTS"):
        missing.append("ALLOWED_HOSTS")
    if not env("DATABASE_URL"):
        missing.append("DATABASE_URL")
    if not env("EMAIL_HOST"):
        missing.append("EMAIL_HOST")
    # The administration's seal on registration documents and proofs (certificates/seal.py).
    for name in ("COMPTOIR_SEAL_KEY_FILE", "COMPTOIR_SEAL_CERT_FILE"):
        if not env(name):
            missing.append(name)
    return missing


if PRODUCTION:
    _missing = _missing_production_settings()
    if _missing:
        raise ImproperlyConfigured(
            "Comptoir refuses to start in production without: " + ", ".join(_missing) + "."
        )
    if DEBUG:
        raise ImproperlyConfigured("Comptoir refuses to start in production with DEBUG on.")


def _local_secret_key() -> str:
    """Generate once and keep under var/: only for the embedded default, never production."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = env("SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "comptoir.core",
    "comptoir.audit",
    "comptoir.accounts",
    "comptoir.notifications",
    "comptoir.operators",
    "comptoir.approvals",
    "comptoir.certificates",
    "comptoir.b2g",
    "comptoir.continuity",
    "comptoir.lodging",
]

MIDDLEWARE = [
    "comptoir.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "comptoir.accounts.middleware.PreferredLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "comptoir.accounts.middleware.AccountGateMiddleware",
    "comptoir.operators.middleware.ActingForMiddleware",
]

ROOT_URLCONF = "comptoir.urls"
WSGI_APPLICATION = "comptoir.wsgi.application"
ASGI_APPLICATION = "comptoir.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "comptoir" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "comptoir.core.context_processors.portal",
                "comptoir.notifications.context_processors.notices",
                "comptoir.approvals.context_processors.approvals",
                "comptoir.continuity.context_processors.continuity",
                "comptoir.operators.context_processors.acting_for",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'comptoir.sqlite3'}",
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "0") or 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "comptoir_cache",
    }
}
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
    }
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Password policy: Django's validators plus the character classes the administration asks for.
COMPTOIR_PASSWORD_MIN_LENGTH = int(env("COMPTOIR_PASSWORD_MIN_LENGTH", "12") or 12)
COMPTOIR_PASSWORD_REQUIRE = env_list("COMPTOIR_PASSWORD_REQUIRE", "uppercase,digit,special")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": COMPTOIR_PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {
        "NAME": "comptoir.accounts.validators.CharacterClassValidator",
        "OPTIONS": {"require": COMPTOIR_PASSWORD_REQUIRE},
    },
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French")), ("en", _("English")), ("de", _("German"))]
LOCALE_PATHS = [Path(env("COMPTOIR_LOCALE_DIR") or SRC_DIR / "comptoir" / "locale")]
TIME_ZONE = env("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [SRC_DIR / "comptoir" / "static"]
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Mail: every message goes through the outbox (notifications app) and a background task.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Comptoir <no-reply@comptoir.invalid>")
EMAIL_HOST = env("EMAIL_HOST", "")
EMAIL_PORT = int(env("EMAIL_PORT", "25") or 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "10") or 10)
OUTBOX_DIR = Path(env("COMPTOIR_OUTBOX_DIR", str(VAR_DIR / "outbox")) or VAR_DIR / "outbox")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = OUTBOX_DIR
COMPTOIR_MAIL_MAX_ATTEMPTS = int(env("COMPTOIR_MAIL_MAX_ATTEMPTS", "8") or 8)
COMPTOIR_MAIL_RETRY_BASE_SECONDS = int(env("COMPTOIR_MAIL_RETRY_BASE_SECONDS", "30") or 30)

# --- Background work: Django's tasks API on the database backend.
TASKS = {
    "default": {
        "BACKEND": env("COMPTOIR_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- Accounts (django-allauth)
COMPTOIR_EMAIL_CONFIRMATION_HOURS = float(env("COMPTOIR_EMAIL_CONFIRMATION_HOURS", "24") or 24)
ACCOUNT_ADAPTER = "comptoir.accounts.adapter.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "comptoir.accounts.social.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_USERNAME_MIN_LENGTH = 8
ACCOUNT_USERNAME_VALIDATORS = "comptoir.accounts.validators.USERNAME_VALIDATORS"
ACCOUNT_PRESERVE_USERNAME_CASING = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_CONFIRMATION_HMAC = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = COMPTOIR_EMAIL_CONFIRMATION_HOURS / 24
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_CHANGE_EMAIL = True
# People with TOTP (all staff) must be able to change their address too; the new one is used only
# once confirmed, and changing it asks for the password again.
MFA_ALLOW_UNVERIFIED_EMAIL = True
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_MAX_EMAIL_ADDRESSES = 2
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_FORMS = {
    "signup": "comptoir.accounts.forms.SignupForm",
    "login": "comptoir.accounts.forms.LoginForm",
}
MFA_ADAPTER = "comptoir.accounts.adapter.MFAAdapter"
MFA_FORMS = {"activate_totp": "comptoir.accounts.forms.ActivateTOTPForm"}
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_RATE_LIMITS = {
    "login_failed": env("COMPTOIR_LOGIN_FAILED_RATE", "5/5m/key,20/5m/ip") or "5/5m/key",
    "confirm_email": "1/3m/key",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Comptoir] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "core:home"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_DIGITS = 6
MFA_TOTP_PERIOD = 30
MFA_TOTP_ISSUER = env("COMPTOIR_TOTP_ISSUER", "Comptoir") or "Comptoir"
MFA_RATE_LIMITS = {"authenticate": "5/5m/user"}

SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_FORMS = {"signup": "comptoir.accounts.forms.SocialSignupForm"}


_OIDC_PROVIDER_KEYS = ("id", "name", "issuer", "client_id", "client_secret")


def _oidc_providers() -> list[dict]:
    """COMPTOIR_OIDC_PROVIDERS: a JSON list of objects with the keys id, name, issuer, client_id
    and client_secret (docs/eid.md). Each becomes one allauth openid_connect app; its endpoints
    come from the issuer's discovery document."""
    raw = env("COMPTOIR_OIDC_PROVIDERS", "") or ""
    if not raw.strip():
        return []
    try:
        providers = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"COMPTOIR_OIDC_PROVIDERS is not valid JSON: {exc}") from exc
    if not isinstance(providers, list) or not all(isinstance(p, dict) for p in providers):
        raise ImproperlyConfigured(
            "COMPTOIR_OIDC_PROVIDERS must be a JSON list of objects with the keys "
            + ", ".join(_OIDC_PROVIDER_KEYS)
            + "."
        )
    apps: list[dict] = []
    for position, provider in enumerate(providers, start=1):
        missing = [
            key
            for key in _OIDC_PROVIDER_KEYS
            if not isinstance(provider.get(key), str) or not provider[key].strip()
        ]
        if missing:
            raise ImproperlyConfigured(
                f"COMPTOIR_OIDC_PROVIDERS entry {position} lacks: " + ", ".join(missing) + "."
            )
        provider_id, issuer = provider["id"].strip(), provider["issuer"].strip().rstrip("/")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", provider_id):
            raise ImproperlyConfigured(
                f"COMPTOIR_OIDC_PROVIDERS entry {position}: the id {provider_id!r} may only "
                "contain letters, digits, hyphens and underscores."
            )
        if any(app["provider_id"] == provider_id for app in apps):
            raise ImproperlyConfigured(
                f"COMPTOIR_OIDC_PROVIDERS: the id {provider_id!r} is used more than once."
            )
        schemes = ("https://",) if PRODUCTION else ("https://", "http://")
        if not issuer.startswith(schemes):
            raise ImproperlyConfigured(
                f"COMPTOIR_OIDC_PROVIDERS entry {position}: the issuer must be an "
                + ("https:// URL." if PRODUCTION else "http(s):// URL.")
            )
        apps.append(
            {
                "provider_id": provider_id,
                "name": provider["name"].strip(),
                "client_id": provider["client_id"],
                "secret": provider["client_secret"],
                "settings": {"server_url": issuer},
            }
        )
    return apps


SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": _oidc_providers()}
}

# --- Portal
COMPTOIR_ADMINISTRATION_NAME = env("COMPTOIR_ADMINISTRATION_NAME", "Demo customs administration")
# The portal's address as people reach it, for links in e-mails sent by background work.
COMPTOIR_BASE_URL = (env("COMPTOIR_BASE_URL", "http://127.0.0.1:8000") or "").rstrip("/")
COMPTOIR_STAFF_GROUPS = ["Customs officers", "Service desk", "Administrators"]
COMPTOIR_REQUEST_EXPIRY_DAYS = int(env("COMPTOIR_REQUEST_EXPIRY_DAYS", "30") or 30)
# Invitation links to join an operator stay usable this many days, once.
COMPTOIR_INVITATION_DAYS = int(env("COMPTOIR_INVITATION_DAYS", "7") or 7)
# Countries where a person who proves a national company number is attached at once (as an
# employee) instead of asking the operator's managers; e.g. "FR,BE". Empty: always a join request.
COMPTOIR_DIRECT_ATTACH_COUNTRIES = [
    code.upper() for code in env_list("COMPTOIR_DIRECT_ATTACH_COUNTRIES", "")
]
# A deleted professional space is kept this many days before a task purges it.
COMPTOIR_SPACE_RETENTION_DAYS = int(env("COMPTOIR_SPACE_RETENTION_DAYS", "30") or 30)
# Optional check of EORI numbers against the EU validation service (docs/eori.md); empty = off.
COMPTOIR_EORI_SERVICE_URL = env("COMPTOIR_EORI_SERVICE_URL", "") or ""
COMPTOIR_EORI_SERVICE_TIMEOUT = float(env("COMPTOIR_EORI_SERVICE_TIMEOUT", "5") or 5)

# B2G clients (docs/b2g.md): the header in which a TLS-terminating proxy forwards the client
# certificate (URL-encoded PEM), believed only from these addresses or networks.
COMPTOIR_B2G_CLIENT_CERT_HEADER = (
    env("COMPTOIR_B2G_CLIENT_CERT_HEADER", "X-SSL-Client-Cert") or "X-SSL-Client-Cert"
)
COMPTOIR_B2G_TRUSTED_PROXIES = env_list("COMPTOIR_B2G_TRUSTED_PROXIES", "")
# Whether a certificate registered for a service provider may seal the messages of an operator
# that mandated it for ICS2 filing (docs/b2g-authorisation.md).
COMPTOIR_B2G_ALLOW_MANDATED_CERTIFICATES = env_bool(
    "COMPTOIR_B2G_ALLOW_MANDATED_CERTIFICATES", True
)
# The largest AS4 message POST /api/v1/b2g/messages/verify reads (docs/b2g-access-points.md).
COMPTOIR_B2G_MESSAGE_MAX_BYTES = int(
    env("COMPTOIR_B2G_MESSAGE_MAX_BYTES", str(10 * 1024 * 1024)) or 10 * 1024 * 1024
)

# Dashboard: tasks due within this many days count as "about to expire" (and rise to high).
COMPTOIR_TASK_DUE_SOON_DAYS = int(env("COMPTOIR_TASK_DUE_SOON_DAYS", "7") or 7)

# Lodging gate (docs/lodging.md): the country of the MRNs issued, the largest declaration
# accepted, and where accepted declarations are handed over (a folder the national system reads).
COMPTOIR_MRN_COUNTRY = (env("COMPTOIR_MRN_COUNTRY", "LU") or "LU").upper()
COMPTOIR_DECLARATION_MAX_BYTES = int(env("COMPTOIR_DECLARATION_MAX_BYTES", "5242880") or 5242880)
COMPTOIR_LODGING_DOWNSTREAM = env("COMPTOIR_LODGING_DOWNSTREAM", "folder") or "folder"
COMPTOIR_LODGING_FOLDER = Path(
    env("COMPTOIR_LODGING_FOLDER", str(VAR_DIR / "downstream")) or VAR_DIR / "downstream"
)
COMPTOIR_LODGING_MAX_ATTEMPTS = int(env("COMPTOIR_LODGING_MAX_ATTEMPTS", "10") or 10)
COMPTOIR_LODGING_RETRY_BASE_SECONDS = int(env("COMPTOIR_LODGING_RETRY_BASE_SECONDS", "30") or 30)

# Comptoir's own seal (certificates/seal.py): PEM files. Outside production, when unset, a
# development seal is generated once under VAR_DIR/seal/; production refuses to start without.
COMPTOIR_SEAL_KEY_FILE = env("COMPTOIR_SEAL_KEY_FILE", "") or ""
COMPTOIR_SEAL_CERT_FILE = env("COMPTOIR_SEAL_CERT_FILE", "") or ""
COMPTOIR_SEAL_KEY_PASSWORD_FILE = env("COMPTOIR_SEAL_KEY_PASSWORD_FILE", "") or ""

# Certificates: trusted lists (ETSI TS 119 612, files or URLs; the EU list of trusted lists
# first) and the trust policy (docs/certificates.md).
COMPTOIR_TRUSTED_LISTS = env_list("COMPTOIR_TRUSTED_LISTS", "")
COMPTOIR_TRUSTED_LISTS_FOLLOW_LOTL = env_bool("COMPTOIR_TRUSTED_LISTS_FOLLOW_LOTL", False)
COMPTOIR_TRUSTED_LISTS_VERIFY = env_bool("COMPTOIR_TRUSTED_LISTS_VERIFY", True)
COMPTOIR_TRUSTED_LISTS_VERIFY_AT = env("COMPTOIR_TRUSTED_LISTS_VERIFY_AT", "") or None
COMPTOIR_TRUSTED_LISTS_LOTL_SIGNERS = env("COMPTOIR_TRUSTED_LISTS_LOTL_SIGNERS", "") or ""
COMPTOIR_TRUSTED_LIST_ALTERNATE = env_list("COMPTOIR_TRUSTED_LIST_ALTERNATE", "")
COMPTOIR_TRUST_QUALIFIED_ONLY = env_bool("COMPTOIR_TRUST_QUALIFIED_ONLY", False)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_AGE = int(env("SESSION_COOKIE_AGE", str(8 * 3600)) or 8 * 3600)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}
