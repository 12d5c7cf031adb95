"""declaration_lodge: who may lodge for whom, what, and in which shape; what an accepted
declaration leaves (MRN, payload, digest, audit, notices, hand-over task) and what a refused one
does not."""

from __future__ import annotations

import hashlib

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from comptoir.audit.models import AuditEvent
from comptoir.core.identifiers import mrn_validate
from comptoir.lodging import services
from comptoir.lodging.models import Declaration, DeclarationType, MrnCounter
from comptoir.notifications.models import Notice
from comptoir.operators.models import Operator, OperatorOperation, Position
from tests.lodging.conftest import JSON, XML

pytestmark = pytest.mark.django_db


def lodge(world, **overrides):
    kwargs = {
        "operator": world.portal_operator,
        "declaration_type_code": "IMPORT",
        "payload": XML,
        "filename_or_format": "import.xml",
        "channel": "portal",
        "person": world.employee,
    }
    kwargs.update(overrides)
    return services.declaration_lodge(**kwargs)


def refused(world, code, **overrides):
    declarations = Declaration.objects.count()
    with pytest.raises(services.LodgingRefused) as caught:
        lodge(world, **overrides)
    assert caught.value.code == code, caught.value.message
    assert Declaration.objects.count() == declarations
    event = AuditEvent.objects.filter(action="lodging.refused").latest("sequence")
    assert event.data["code"] == code
    return caught.value


def test_seeded_types_map_to_operations_and_letters():
    rows = {
        item.code: (item.operation.code, item.procedure_letter)
        for item in DeclarationType.objects.select_related("operation")
    }
    assert rows == {
        "IMPORT": ("IMPORT", "R"),
        "ENTRY_SUMMARY": ("ICS", "T"),
        "TRANSIT": ("TRANSIT", "J"),
        "TEMPORARY_STORAGE": ("TEMPORARY_STORAGE", "U"),
    }


def test_accepted_portal_declaration(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        declaration = lodge(world, declaration_type_code="transit")
    stored = Declaration.objects.get()
    assert stored.pk == declaration.pk
    assert mrn_validate(stored.mrn) == stored.mrn
    assert stored.mrn[2:4] == "LU" and stored.mrn[16] == "J"
    assert stored.mrn[4:16] == "000000000001"
    assert bytes(stored.payload) == XML
    assert stored.payload_size == len(XML)
    assert stored.payload_sha256 == hashlib.sha256(XML).hexdigest()
    assert stored.format == "xml" and stored.filename == "import.xml"
    assert stored.lodged_by == world.employee and stored.client is None
    assert stored.delivery_status == "pending"
    event = AuditEvent.objects.get(action="lodging.accepted")
    assert event.data["mrn"] == stored.mrn and event.actor == world.employee
    notice = Notice.objects.get(recipient=world.employee)
    assert notice.title == f"Reference {stored.mrn} issued"
    assert notice.sector == "lodging" and notice.reference == stored.mrn
    assert notice.operator == world.portal_operator
    assert notice.link == f"/companies/{world.portal_operator.pk}/declarations/{stored.mrn}/"
    # The hand-over task was queued once the transaction committed.
    task = DBTaskResult.objects.get(task_path="comptoir.lodging.tasks.deliver_declaration")
    assert task.args_kwargs["args"] == [str(stored.public_id)]


def test_serials_follow_each_other(world):
    first = lodge(world)
    second = lodge(world, payload=JSON, filename_or_format="json")
    assert int(second.mrn[4:16]) == int(first.mrn[4:16]) + 1
    assert second.format == "json" and second.filename == ""
    assert MrnCounter.objects.get().last == 2


def test_country_comes_from_the_setting(world, settings):
    settings.COMPTOIR_MRN_COUNTRY = "be"
    assert lodge(world).mrn[2:4] == "BE"


def test_b2g_declaration_notifies_the_legal_representative_and_managers(world):
    declaration = lodge(
        world,
        operator=world.b2g_operator,
        channel="b2g",
        person=None,
        client=world.client,
    )
    assert declaration.client == world.client and declaration.lodged_by is None
    recipients = set(
        Notice.objects.filter(reference=declaration.mrn).values_list(
            "recipient__username", flat=True
        )
    )
    assert recipients == {"b2grepresentative", "b2gmanager"}
    notice = Notice.objects.get(recipient=world.b2g_representative)
    assert declaration.mrn in notice.title and notice.operator == world.b2g_operator


def test_b2g_client_operator_is_used_when_none_given(world):
    declaration = lodge(world, operator=None, channel="b2g", person=None, client=world.client)
    assert declaration.operator == world.b2g_operator


def test_a_refusal_inside_the_transaction_rolls_everything_back(world, monkeypatch):
    def broken_notify(**kwargs):
        raise RuntimeError("notice store down")

    monkeypatch.setattr(services, "_notify", broken_notify)
    with pytest.raises(RuntimeError):
        lodge(world)
    assert not Declaration.objects.exists()
    assert not AuditEvent.objects.filter(action="lodging.accepted").exists()
    assert not MrnCounter.objects.filter(last__gt=0).exists()


# --- Who lodges for whom -------------------------------------------------------------------------


def test_person_without_a_valid_position_is_refused(world):
    refused(world, "not_member", person=world.outsider)
    Position.objects.filter(person=world.employee).update(status=Position.Status.SUSPENDED)
    refused(world, "not_member")


def test_client_of_another_operator_is_refused(world):
    refused(
        world,
        "not_member",
        operator=world.b2g_operator,
        channel="b2g",
        person=None,
        client=world.other_client,
    )


def test_client_without_operator_or_disabled_is_refused(world):
    from comptoir.b2g.services import b2g_client_create

    access_point, _token = b2g_client_create(name="access-point")
    refused(
        world,
        "client_without_operator",
        operator=None,
        channel="b2g",
        person=None,
        client=access_point,
    )
    world.client.enabled = False
    world.client.save()
    refused(
        world,
        "client_disabled",
        operator=world.b2g_operator,
        channel="b2g",
        person=None,
        client=world.client,
    )


@pytest.mark.parametrize("status", ["pending", "suspended", "closed"])
def test_operator_not_active_is_refused(world, status):
    Operator.objects.filter(pk=world.portal_operator.pk).update(status=status)
    world.portal_operator.refresh_from_db()
    refusal = refused(world, "operator_inactive")
    assert "Portail SARL is not active" in str(refusal.message)


def test_operation_not_held_is_refused_with_its_names(world):
    refusal = refused(world, "operation_not_held", declaration_type_code="ENTRY_SUMMARY")
    assert "Import Control System" in str(refusal.message)
    assert "Entry summary declaration (ICS)" in str(refusal.message)
    assert refusal.permission


def test_revoked_operation_is_not_held(world):
    from django.utils import timezone

    OperatorOperation.objects.filter(
        operator=world.portal_operator, operation__code="IMPORT"
    ).update(revoked_at=timezone.now())
    refused(world, "operation_not_held")


@pytest.mark.parametrize("code", ["", "NOPE", "AC4"])
def test_unknown_type_is_refused(world, code):
    refusal = refused(world, "type_unknown", declaration_type_code=code)
    assert not refusal.permission


def test_inactive_type_is_refused(world):
    DeclarationType.objects.filter(code="IMPORT").update(active=False)
    refused(world, "type_unknown")


# --- The payload ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "name", "code", "words"),
    [
        (XML, "import.txt", "format_unknown", "XML file (.xml) or a JSON file"),
        (b"", "import.xml", "empty", "empty"),
        (b"  \n ", "import.json", "empty", "empty"),
        (b"<declaration><goods>Tea</declaration>", "import.xml", "xml_malformed", "well-formed"),
        (b"not xml at all", "xml", "xml_malformed", "well-formed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "boom">]><d>&e;</d>',
            "import.xml",
            "xml_forbidden",
            "DOCTYPE",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "file:///etc/passwd"><d/>',
            "import.xml",
            "xml_forbidden",
            "DOCTYPE",
        ),
        (b'{"declaration": ', "import.json", "json_invalid", "not valid JSON"),
        (b"\xff\xfe\xfa", "import.json", "json_invalid", "not valid JSON"),
        (b"[1, 2]", "import.json", "json_not_object", "one JSON object"),
        (b"[" * 100000 + b"]" * 100000, "import.json", "json_invalid", "not valid JSON"),
    ],
)
def test_bad_payloads_are_refused(world, payload, name, code, words):
    refusal = refused(world, code, payload=payload, filename_or_format=name)
    assert words in str(refusal.message)
    assert refusal.permission is False


def test_too_large_payload_is_refused(world, settings):
    settings.COMPTOIR_DECLARATION_MAX_BYTES = 1024
    refusal = refused(world, "too_large", payload=b"<d>" + b"x" * 1100 + b"</d>")
    assert "smaller than 1 KB" in str(refusal.message)
    assert lodge(world, payload=b"<d>" + b"x" * 1000 + b"</d>").payload_size == 1007


def test_refusal_is_audited_inside_a_caller_transaction(world):
    # The refusal is audited in its own transaction even when the caller has one open.
    with transaction.atomic(), pytest.raises(services.LodgingRefused):
        lodge(world, declaration_type_code="NOPE")
    assert AuditEvent.objects.filter(action="lodging.refused").count() == 1


def test_notice_body_names_the_type_operator_and_channel(world):
    declaration = lodge(world)
    notice = Notice.objects.get(reference=declaration.mrn)
    assert notice.body.startswith("Import declaration lodged for Portail SARL through the portal")
    b2g = lodge(world, operator=world.b2g_operator, channel="b2g", person=None, client=world.client)
    manager_notice = Notice.objects.get(reference=b2g.mrn, recipient=world.b2g_manager)
    assert "by its B2G system" in manager_notice.body
