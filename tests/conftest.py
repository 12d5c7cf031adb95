from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_cache(settings):
    """Rate limits and used one-time codes live in the cache: give every test a clean one
    (process-local, so a live server thread shares it with the test)."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


pytest_plugins = ["tests.mail", "tests.oidc"]


@pytest.fixture(autouse=True)
def _english_outside_requests():
    """Code called directly by a test (services, forms) speaks English; requests still pick
    their language from the browser or the person's profile."""
    from django.utils import translation

    with translation.override("en"):
        yield
