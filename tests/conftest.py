from __future__ import annotations

import importlib

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


# Data migrations whose rows tests need. A transactional test flushes the database when it ends,
# and serialized_rollback cannot be relied on to bring them back (once Playwright runs in this
# thread, Django's connection handler, an asgiref Local, may hand the test another connection
# object than the one that holds the serialized copy; and the copy exists only when the test
# database was created for it): every transactional test seeds them again.
SEEDING_MIGRATIONS = (
    "comptoir.operators.migrations.0002_seed_customs_operations",
    "comptoir.operators.migrations.0005_seed_activities",
    "comptoir.lodging.migrations.0002_seed_declaration_types",
)


@pytest.fixture(autouse=True)
def _catalogues(request) -> None:
    """The catalogues (customs operations, activities, declaration types) as their data
    migrations seed them, for transactional tests (browser journeys, races)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or (marker is not None and marker.kwargs.get("transaction", False))
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    for name in SEEDING_MIGRATIONS:
        importlib.import_module(name).seed(apps, None)
