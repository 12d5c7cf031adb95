from __future__ import annotations

from dataclasses import dataclass

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from comptoir.accounts.models import User
from comptoir.accounts.selectors import user_has_totp
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
    desk: User
    other_desk: User
    officer: User  # an officer, not the service desk
    operator: Operator  # lodges through its B2G system
    legal_representative: User  # English
    manager: User  # French
    employee: User  # German
    suspended_manager: User
    other_operator: Operator
    other_legal_representative: User  # German
    portal_operator: Operator  # portal only
    portal_legal_representative: User
    outsider: User


@pytest.fixture
def world(db) -> World:
    authority = AuthorityFactory(code="FR-DESK-1")
    operator = OperatorFactory(
        eori="FR552100554", name="Dupont SA", lodging_channel=Operator.LodgingChannel.B2G
    )
    other = OperatorFactory(name="Schmidt GmbH", lodging_channel=Operator.LodgingChannel.B2G)
    portal = OperatorFactory(name="Martin SARL", lodging_channel=Operator.LodgingChannel.PORTAL)
    suspended = UserFactory(username="suspended1", language="en")
    PositionFactory(
        person=suspended, operator=operator, role=Role.MANAGER, status=Position.Status.SUSPENDED
    )
    return World(
        authority=authority,
        desk=officer(authority, Role.SERVICE_DESK, username="desk_0001", language="en"),
        other_desk=officer(authority, Role.SERVICE_DESK, username="desk_0002", language="en"),
        officer=officer(authority, username="officer_1"),
        operator=operator,
        legal_representative=member(
            operator, Role.LEGAL_REPRESENTATIVE, username="legalrep1", language="en"
        ),
        manager=member(operator, Role.MANAGER, username="manager_1", language="fr"),
        employee=member(operator, Role.EMPLOYEE, username="employee1", language="de"),
        suspended_manager=suspended,
        other_operator=other,
        other_legal_representative=member(
            other, Role.LEGAL_REPRESENTATIVE, username="otherrep1", language="de"
        ),
        portal_operator=portal,
        portal_legal_representative=member(
            portal, Role.LEGAL_REPRESENTATIVE, username="portalrep", language="en"
        ),
        outsider=UserFactory(username="outsider1"),
    )


def sign_in(client, person) -> None:
    """Staff (the service desk, officers) pass the account gate only with TOTP."""
    if person.is_portal_staff and not user_has_totp(user=person):
        TOTP.activate(person, generate_totp_secret())
    client.force_login(person)
