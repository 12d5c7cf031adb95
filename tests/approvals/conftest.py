from __future__ import annotations

from dataclasses import dataclass

import pytest

from comptoir.accounts.models import User
from comptoir.operators.models import Authority, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import (
    AuthorityFactory,
    OperatorFactory,
    PositionFactory,
    member,
    officer,
)

Role = Position.Role


@dataclass
class World:
    authority: Authority
    officer: User
    other_officer: User  # a valid officer of the same authority
    foreign_officer: User  # an officer of another authority
    service_desk: User
    operator: Operator
    legal_representative: User
    manager: User
    employee: User
    outsider: User


@pytest.fixture
def world(db) -> World:
    authority = AuthorityFactory(code="FR-PARIS-1")
    operator = OperatorFactory(eori="FR552100554", name="Dupont SA")
    world = World(
        authority=authority,
        officer=officer(authority, username="officer_1"),
        other_officer=officer(authority, username="officer_2"),
        foreign_officer=officer(AuthorityFactory(), username="officer_x"),
        service_desk=officer(authority, Role.SERVICE_DESK, username="desk_0001"),
        operator=operator,
        legal_representative=member(operator, Role.LEGAL_REPRESENTATIVE, username="legalrep1"),
        manager=member(operator, Role.MANAGER, username="manager_1", language="fr"),
        employee=member(operator, Role.EMPLOYEE, username="employee1"),
        outsider=UserFactory(username="outsider1"),
    )
    # A suspended officer of the right authority may not decide either.
    suspended = UserFactory(username="suspended1")
    PositionFactory(
        person=suspended, authority=authority, role=Role.OFFICER, status=Position.Status.SUSPENDED
    )
    world.suspended_officer = suspended  # type: ignore[attr-defined]
    return world
