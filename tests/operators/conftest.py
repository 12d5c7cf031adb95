"""What the tests of mandates and of acting for whom share: two companies with their people."""

from __future__ import annotations

import pytest

from tests.operators.test_mandates import Side, side


@pytest.fixture
def principal(db) -> Side:
    return side("FR552100554", "Dupont SA", "principal")


@pytest.fixture
def provider(db) -> Side:
    return side("FR732829320", "Transit Services SARL", "provider")
