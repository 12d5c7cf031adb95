"""System checks: the B2G proxy settings are read when used, so say at start-up when they are
wrong rather than at the first call."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured

from comptoir.b2g.conf import client_cert_header, trusted_proxies


@register()
def b2g_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    try:
        trusted_proxies()
    except ImproperlyConfigured as exc:
        errors.append(Error(str(exc), id="comptoir.b2g.E001"))
    header = client_cert_header()
    if not header.replace("-", "").replace("_", "").isalnum():
        errors.append(
            Error(
                f"COMPTOIR_B2G_CLIENT_CERT_HEADER: {header!r} is not a header name.",
                id="comptoir.b2g.E002",
            )
        )
    return errors
