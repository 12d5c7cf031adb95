"""The admin: the declaration types are edited (audited), declarations only looked at."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from comptoir.audit.models import AuditEvent
from comptoir.lodging import services
from comptoir.lodging.models import Declaration, DeclarationType
from tests.factories import UserFactory
from tests.lodging.conftest import XML

pytestmark = pytest.mark.django_db


def test_admin_pages(client, world):
    declaration = services.declaration_lodge(
        operator=world.portal_operator,
        declaration_type_code="IMPORT",
        payload=XML,
        filename_or_format="import.xml",
        channel="portal",
        person=world.employee,
    )
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    TOTP.activate(admin, generate_totp_secret())
    assert client.get("/admin/lodging/declaration/").status_code == 200
    page = client.get(f"/admin/lodging/declaration/{declaration.pk}/change/")
    assert page.status_code == 200 and declaration.mrn in page.content.decode()
    assert client.get("/admin/lodging/declaration/add/").status_code == 403
    response = client.post(f"/admin/lodging/declaration/{declaration.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403 and Declaration.objects.filter(pk=declaration.pk).exists()

    kind = DeclarationType.objects.get(code="TRANSIT")
    response = client.post(
        f"/admin/lodging/declarationtype/{kind.pk}/change/",
        {
            "code": "TRANSIT",
            "label_fr": kind.label_fr,
            "label_en": kind.label_en,
            "label_de": kind.label_de,
            "operation": kind.operation_id,
            "procedure_letter": "K",
            "active": "on",
            "ordering": kind.ordering,
        },
    )
    assert response.status_code == 302, response.content[:2000]
    kind.refresh_from_db()
    assert kind.procedure_letter == "K"
    assert AuditEvent.objects.filter(action="declaration_type.changed_by_admin").exists()
