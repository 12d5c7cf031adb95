"""The B2G settings, read when used (so that tests and deployments can change them):

- COMPTOIR_B2G_CLIENT_CERT_HEADER: the request header in which a TLS-terminating proxy forwards
  the client certificate (URL-encoded PEM); default "X-SSL-Client-Cert".
- COMPTOIR_B2G_TRUSTED_PROXIES: the addresses (IPs or CIDR networks) of the proxies allowed to
  send that header; default empty, i.e. the header is never trusted."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_CLIENT_CERT_HEADER = "X-SSL-Client-Cert"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_cert_header() -> str:
    return str(getattr(settings, "COMPTOIR_B2G_CLIENT_CERT_HEADER", "") or "").strip() or (
        DEFAULT_CLIENT_CERT_HEADER
    )


def client_cert_meta_key() -> str:
    """The header's key in request.META (X-SSL-Client-Cert → HTTP_X_SSL_CLIENT_CERT)."""
    return "HTTP_" + client_cert_header().upper().replace("-", "_")


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"COMPTOIR_B2G_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR network."
            ) from exc
    return tuple(networks)


def trusted_proxies() -> tuple[Network, ...]:
    raw = getattr(settings, "COMPTOIR_B2G_TRUSTED_PROXIES", ()) or ()
    if isinstance(raw, str):
        raw = raw.split(",")
    return _networks(tuple(str(entry) for entry in raw if str(entry).strip()))


def proxy_is_trusted(ip: str | None) -> bool:
    """Whether the peer at this address may forward client certificates."""
    if not ip:
        return False
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in trusted_proxies())
