"""Hand-over to the national system: the folder downstream writes <MRN>.<format> and
<MRN>.meta.json atomically and idempotently; failures are recorded and retried with back-off;
the lodging_deliver command and the requeue find what is due."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from comptoir.audit.models import AuditEvent
from comptoir.lodging import services
from comptoir.lodging.models import Declaration
from tests.lodging.conftest import JSON, XML

pytestmark = pytest.mark.django_db


def lodge(world, payload=XML, name="import.xml"):
    return services.declaration_lodge(
        operator=world.portal_operator,
        declaration_type_code="IMPORT",
        payload=payload,
        filename_or_format=name,
        channel="portal",
        person=world.employee,
    )


def test_folder_receives_payload_and_metadata(world, _downstream_folder):
    declaration = lodge(world)
    result = services.declaration_deliver(declaration_id=str(declaration.public_id))
    assert result is not None and result.delivery_status == "delivered"
    assert result.delivered_at is not None and result.delivery_attempts == 1
    payload_file = _downstream_folder / f"{declaration.mrn}.xml"
    assert payload_file.read_bytes() == XML
    meta = json.loads((_downstream_folder / f"{declaration.mrn}.meta.json").read_text())
    assert meta["mrn"] == declaration.mrn
    assert meta["operator_eori"] == world.portal_operator.eori
    assert meta["declaration_type"] == "IMPORT" and meta["channel"] == "portal"
    assert meta["payload_sha256"] == declaration.payload_sha256
    # No temporary file left behind.
    assert sorted(p.name for p in _downstream_folder.iterdir()) == [
        f"{declaration.mrn}.meta.json",
        f"{declaration.mrn}.xml",
    ]
    assert AuditEvent.objects.filter(action="lodging.delivered").count() == 1


def test_delivery_is_idempotent(world, _downstream_folder):
    declaration = lodge(world, JSON, "import.json")
    services.declaration_deliver(declaration_id=str(declaration.public_id))
    again = services.declaration_deliver(declaration_id=str(declaration.public_id), force=True)
    assert again is not None and again.delivery_attempts == 1  # left alone
    assert (_downstream_folder / f"{declaration.mrn}.json").read_bytes() == JSON
    # Writing the same declaration again (a crash after the write) gives the same files.
    from comptoir.lodging.downstream import folder_hand_over

    folder_hand_over(Declaration.objects.get(pk=declaration.pk))
    assert len(list(_downstream_folder.iterdir())) == 2
    assert AuditEvent.objects.filter(action="lodging.delivered").count() == 1


def test_unwritable_folder_records_a_failed_attempt_then_a_retry_succeeds(
    world, settings, tmp_path, django_capture_on_commit_callbacks
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    settings.COMPTOIR_LODGING_FOLDER = str(blocker / "downstream")
    settings.COMPTOIR_LODGING_RETRY_BASE_SECONDS = 60
    declaration = lodge(world)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        failed = services.declaration_deliver(declaration_id=str(declaration.public_id))
    assert failed is not None
    assert failed.delivery_status == "pending" and failed.delivery_attempts == 1
    assert failed.last_error  # e.g. NotADirectoryError: …
    assert failed.next_attempt_at >= before + timedelta(seconds=59)
    # A retry task was queued for the next attempt.
    retry = DBTaskResult.objects.filter(
        task_path="comptoir.lodging.tasks.deliver_declaration"
    ).latest("enqueued_at")
    assert retry.run_after is not None and retry.run_after >= before + timedelta(seconds=59)
    # Not due yet: left alone.
    assert services.declarations_due() == []
    assert (
        services.declaration_deliver(declaration_id=str(declaration.public_id)).delivery_attempts
        == 1
    )

    # The folder is repaired and the attempt comes due: the command hands it over.
    good = tmp_path / "repaired"
    settings.COMPTOIR_LODGING_FOLDER = str(good)
    Declaration.objects.filter(pk=declaration.pk).update(next_attempt_at=timezone.now())
    call_command("lodging_deliver")
    declaration.refresh_from_db()
    assert declaration.delivery_status == "delivered" and declaration.delivery_attempts == 2
    assert declaration.last_error == ""
    assert (good / f"{declaration.mrn}.xml").read_bytes() == XML


def test_gives_up_after_the_maximum_then_can_be_retried_by_hand(world, settings, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    settings.COMPTOIR_LODGING_FOLDER = str(blocker / "sub")
    settings.COMPTOIR_LODGING_MAX_ATTEMPTS = 2
    declaration = lodge(world)
    for _ in range(2):
        Declaration.objects.filter(pk=declaration.pk).update(next_attempt_at=timezone.now())
        services.declaration_deliver(declaration_id=str(declaration.public_id))
    declaration.refresh_from_db()
    assert declaration.delivery_status == "failed" and declaration.delivery_attempts == 2
    assert AuditEvent.objects.filter(action="lodging.delivery_failed").count() == 1
    assert services.declarations_due() == []

    settings.COMPTOIR_LODGING_FOLDER = str(tmp_path / "ok")
    call_command("lodging_deliver", "--failed")
    declaration.refresh_from_db()
    assert declaration.delivery_status == "delivered"


def test_custom_downstream_and_requeue(world, settings):
    settings.COMPTOIR_LODGING_DOWNSTREAM = "tests.lodging.test_delivery.record_hand_over"
    RECORDED.clear()
    declaration = lodge(world)
    assert services.declarations_requeue_due() == 1
    assert DBTaskResult.objects.filter(
        task_path="comptoir.lodging.tasks.deliver_declaration",
        args_kwargs__args=[str(declaration.public_id)],
    ).exists()
    call_command("lodging_deliver")
    assert [declaration.mrn] == RECORDED


RECORDED: list[str] = []


def record_hand_over(declaration: Declaration) -> None:
    RECORDED.append(declaration.mrn)
