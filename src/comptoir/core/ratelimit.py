"""A small fixed-window limit on top of the shared cache, for actions allauth does not cover."""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.http import HttpRequest

from comptoir.core.middleware import client_ip

LIMITS = {"resend_confirmation": (3, 15 * 60)}


def rate_limited(request: HttpRequest, *, scope: str, key: str) -> bool:
    """Count one use of `scope` for this key and this IP; True once either is over the limit."""
    limit, window = LIMITS[scope]
    over = False
    for part in (f"k:{key.lower()}", f"ip:{client_ip(request)}"):
        digest = hashlib.sha256(part.encode()).hexdigest()[:32]
        cache_key = f"ratelimit:{scope}:{digest}"
        cache.add(cache_key, 0, timeout=window)
        try:
            count = cache.incr(cache_key)
        except ValueError:
            cache.set(cache_key, 1, timeout=window)
            count = 1
        over = over or count > limit
    return over
