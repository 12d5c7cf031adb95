"""A small world for the lodging gate: a portal-only operator and a B2G operator, both holding
Import and Transit, their members, a B2G client, and helpers to open outages."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from comptoir.accounts.models import User
from comptoir.b2g.models import B2GClient
from comptoir.b2g.services import b2g_client_create
from comptoir.continuity.models import Outage
from comptoir.operators.models import CustomsOperation, Operator, OperatorOperation, Position
from tests.factories_operators import OperatorFactory, member

XML = b'<?xml version="1.0" encoding="UTF-8"?><declaration><goods>Tea</goods></declaration>'
JSON = b'{"declaration": {"goods": "Tea"}}'


@dataclass
class World:
    portal_operator: Operator
    b2g_operator: Operator
    other_operator: Operator
    employee: User  # valid employee of portal_operator
    b2g_employee: User  # valid employee of b2g_operator
    b2g_representative: User  # legal representative of b2g_operator
    b2g_manager: User
    outsider: User
    client: B2GClient  # B2G client of b2g_operator
    client_token: str
    other_client: B2GClient  # B2G client of other_operator (a B2G operator too)
    other_client_token: str


def grant(operator: Operator, *codes: str) -> None:
    for code in codes:
        OperatorOperation.objects.create(
            operator=operator, operation=CustomsOperation.objects.get(code=code)
        )


def open_outage(kind: str, operator: Operator | None = None, **fields: str) -> Outage:
    return Outage.objects.create(
        kind=kind,
        status=Outage.Status.OPEN,
        operator=operator if kind == Outage.Kind.OPERATOR else None,
        opened_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def world(db) -> World:
    portal_operator = OperatorFactory(name="Portail SARL")
    b2g_operator = OperatorFactory(
        name="Systèmes B2G SA", lodging_channel=Operator.LodgingChannel.B2G
    )
    other_operator = OperatorFactory(
        name="Autre B2G SA", lodging_channel=Operator.LodgingChannel.B2G
    )
    for operator in (portal_operator, b2g_operator, other_operator):
        grant(operator, "IMPORT", "TRANSIT")
    client, token = b2g_client_create(name="b2g-system", operator=b2g_operator)
    other_client, other_token = b2g_client_create(name="other-system", operator=other_operator)
    return World(
        portal_operator=portal_operator,
        b2g_operator=b2g_operator,
        other_operator=other_operator,
        employee=member(portal_operator, username="employee1", language="en"),
        b2g_employee=member(b2g_operator, username="b2gemployee", language="en"),
        b2g_representative=member(
            b2g_operator,
            Position.Role.LEGAL_REPRESENTATIVE,
            username="b2grepresentative",
            language="fr",
        ),
        b2g_manager=member(b2g_operator, Position.Role.MANAGER, username="b2gmanager"),
        outsider=member(other_operator, username="outsider1"),
        client=client,
        client_token=token,
        other_client=other_client,
        other_client_token=other_token,
    )


@pytest.fixture(autouse=True)
def _downstream_folder(settings, tmp_path):
    settings.COMPTOIR_LODGING_FOLDER = str(tmp_path / "downstream")
    settings.COMPTOIR_MRN_COUNTRY = "LU"
    return tmp_path / "downstream"
