"""Markers shared by the test modules."""

from __future__ import annotations

import os

import pytest

# Decided at collection, before any database set-up: a transactional test that skips inside its
# body has already flushed and re-serialised the database, which may upset the tests after it.
requires_postgresql = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="needs PostgreSQL's row locks: run with "
    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/<database>",
)
