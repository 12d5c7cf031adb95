from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _admin_client(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    TOTP.activate(admin, generate_totp_secret())  # staff must have TOTP to reach the admin
    assert Authenticator.objects.filter(user=admin).exists()
    return admin


def test_an_administrator_making_someone_staff_is_audited(client):
    admin = _admin_client(client)
    person = UserFactory()
    officers = Group.objects.create(name="Customs officers")
    page = client.get(f"/admin/accounts/user/{person.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "password"}
    data.update(
        {
            "groups": [officers.pk],
            "is_staff": "on",
            "user_permissions": [],
            "date_joined_0": person.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": person.date_joined.strftime("%H:%M:%S"),
            "is_active": "on",
            "language": "en",
        }
    )
    data.pop("date_joined", None)
    data.pop("last_login", None)
    response = client.post(f"/admin/accounts/user/{person.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="person.changed_by_admin")
    assert event.actor_id == admin.pk and event.subject_id == str(person.pk)
    assert {"groups", "is_staff"} <= set(event.data["fields"])
    assert audit_verify() is None


def test_an_administrator_deleting_someone_is_audited(client):
    admin = _admin_client(client)
    person = UserFactory()
    person_id = person.pk
    response = client.post(f"/admin/accounts/user/{person_id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="person.deleted_by_admin")
    assert event.actor_id == admin.pk and event.subject_id == str(person_id)
    assert audit_verify() is None
