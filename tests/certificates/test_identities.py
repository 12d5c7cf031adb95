"""Every operator with an EORI number has its EORI identity (issue 5, point 1): created with the
operator in the same transaction however it is saved (registration, the directory, the admin),
and after a directory import by a background task, in batches with one audit event each; the
command and the data migration run the same backfill. An EORI number that another operator's
identity already holds leaves the operator without one, and nothing fails."""

from __future__ import annotations

import importlib
import io
import re
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps as django_apps
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client
from django_tasks_db.models import DBTaskResult

from comptoir.approvals import services as approvals
from comptoir.approvals.directory import operator_create_in_directory
from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.certificates import identities
from comptoir.certificates.models import EoriIdentity
from comptoir.operators.models import Authority, Operator, Position
from comptoir.operators.signals import operators_imported
from tests.factories import UserFactory
from tests.factories_operators import AuthorityFactory, OperatorFactory, member, officer
from tests.mail import run_worker
from tests.operators.test_import_command import GOOD, fr_eori, write_csv

pytestmark = pytest.mark.django_db

BACKFILL = "certificates.identities.backfill"
CREATE = "certificates.identity.create"
MIGRATION = importlib.import_module(
    "comptoir.certificates.migrations.0003_eori_identities_backfill"
)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def sign_in(person) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    person.language = "en"
    person.save(update_fields=["language"])
    client.force_login(person)
    return client


def bulk_operators(*eoris: str) -> list[Operator]:
    """Operators written without post_save, as the directory import writes them."""
    Operator.objects.bulk_create(
        [
            Operator(eori=eori, name=f"Bulk {n}", search_name=f"bulk {n}", country="FR")
            for n, eori in enumerate(eoris)
        ]
    )
    return list(Operator.objects.filter(name__startswith="Bulk ").order_by("pk"))


def import_file(source: Path) -> str:
    out = io.StringIO()
    call_command("operators_import", str(source), "--no-progress", stdout=out)
    return out.getvalue()


# --- created with the operator -------------------------------------------------------------------


def test_a_registered_company_has_its_identity_at_once_shown_on_its_page():
    administration = AuthorityFactory(
        code="FR-DGDDI", country="FR", kind=Authority.Kind.NATIONAL_ADMINISTRATION
    )
    customs = officer(administration)
    person = UserFactory(phone="+33 6 00 00 00 00")
    client = sign_in(person)
    assert client.post("/companies/register/eori/", {"eori": "fr 1234 56782"}).status_code == 302
    client.post("/companies/register/operations/", {"operations": ["IMPORT"]})
    client.post(
        "/companies/register/company/",
        {
            "name": "Transports Martin",
            "address_line1": "1 rue du Port",
            "postcode": "76600",
            "city": "Le Havre",
            "country": "fr",
            "phone": "+33 2 35 00 00 00",
            "email": "contact@martin.example",
        },
    )
    client.post(
        "/companies/register/contact/",
        {"contact_phone": "+33 6 11 11 11 11", "contact_email": "rep@martin.example"},
    )
    response = client.post("/companies/register/check/", {"accept_terms": "on"})
    assert response["Location"] == "/companies/register/done/"

    operator = Operator.objects.get(eori="FR123456782")
    identity = EoriIdentity.objects.get(operator=operator)  # while the request waits
    assert (identity.identifier, identity.identifier_type, identity.actor_type) == (
        "FR123456782",
        "EORI",
        "EO",
    )
    event = AuditEvent.objects.get(action=CREATE)
    assert event.subject_id == str(identity.pk) and event.data["identifier"] == "FR123456782"

    request = Request.objects.get(operator=operator)
    approvals.request_approve(actor=customs, request_id=request.public_id)
    page = client.get(f"/companies/{operator.pk}/")
    assert page.status_code == 200
    shown = text(page)
    for value in (str(identity.public_id), "FR123456782", "EORI (EORI number)", "EO (Economic"):
        assert value in shown
    assert "first certificate" not in shown
    assert EoriIdentity.objects.count() == 1
    assert audit_verify() is None


def test_an_operator_created_in_the_directory_has_its_identity():
    AuthorityFactory(code="FR-DGDDI", kind=Authority.Kind.NATIONAL_ADMINISTRATION)
    operator, request = operator_create_in_directory(
        requester=UserFactory(),
        role=Position.Role.EMPLOYEE,
        name="Transports Dupont",
        country="FR",
        city="Paris",
        address_line1="1 rue de la Paix",
        postcode="75002",
        phone="+33 1 23 45 67 89",
        eori="FR552100554",
    )
    assert request.operator == operator and operator.eori == "FR552100554"
    assert EoriIdentity.objects.get(operator=operator).identifier == "FR552100554"
    assert AuditEvent.objects.filter(action=CREATE, data__operator=operator.pk).count() == 1


def test_the_admin_creating_an_operator_or_giving_it_an_eori_creates_its_identity():
    admin = UserFactory(is_staff=True, is_superuser=True)
    TOTP.activate(admin, generate_totp_secret())
    client = Client()
    client.force_login(admin)
    form = client.get("/admin/operators/operator/add/").context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data.update(
        {
            "eori": "FR552100554",
            "name": "Dupont Admin",
            "country": "FR",
            "status": "active",
            "lodging_channel": "portal",
            "activities-TOTAL_FORMS": "0",
            "activities-INITIAL_FORMS": "0",
            "activities-MIN_NUM_FORMS": "0",
            "activities-MAX_NUM_FORMS": "1000",
        }
    )
    response = client.post("/admin/operators/operator/add/", data)
    assert response.status_code == 302, response.context["errors"]
    created = Operator.objects.get(eori="FR552100554")
    assert EoriIdentity.objects.get(operator=created).identifier == "FR552100554"

    # An operator known by its national number only gets an EORI in the admin: its identity.
    swiss = OperatorFactory(eori="", country="CH", national_id="CHE-123.456.789")
    assert not EoriIdentity.objects.filter(operator=swiss).exists()
    url = f"/admin/operators/operator/{swiss.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {
        key: value
        for key, value in form.initial.items()
        if value is not None and key in form.fields
    }
    data.update(
        {
            "eori": "CHE123456789",
            "activities-TOTAL_FORMS": "0",
            "activities-INITIAL_FORMS": "0",
            "activities-MIN_NUM_FORMS": "0",
            "activities-MAX_NUM_FORMS": "1000",
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    assert EoriIdentity.objects.get(operator=swiss).identifier == "CHE123456789"
    assert audit_verify() is None


def test_saving_without_the_eori_field_or_without_eori_costs_no_identity_query(
    django_assert_num_queries,
):
    operator = OperatorFactory()
    assert EoriIdentity.objects.filter(operator=operator).count() == 1
    operator.name = "Renamed"
    with django_assert_num_queries(1):  # the UPDATE alone
        operator.save(update_fields=["name", "search_name"])
    with django_assert_num_queries(1):
        OperatorFactory(eori="", country="CH", national_id="CHE-1")
    assert EoriIdentity.objects.count() == 1
    # Saved again with every field: still one identity, no second audit event.
    operator.save()
    assert EoriIdentity.objects.count() == 1
    assert AuditEvent.objects.filter(action=CREATE).count() == 1


# --- the directory import and the background task ------------------------------------------------


def test_an_import_queues_one_task_that_gives_each_imported_operator_its_identity(
    tmp_path, django_capture_on_commit_callbacks
):
    signals: list[dict[str, object]] = []

    def listen(sender, **kwargs):
        signals.append(kwargs)

    operators_imported.connect(listen, dispatch_uid="test_identities")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            output = import_file(write_csv(tmp_path / "register.csv", GOOD))
    finally:
        operators_imported.disconnect(dispatch_uid="test_identities")
    assert "3 created" in output
    assert [(s["created"], s["updated"]) for s in signals] == [(3, 0)]  # sent once for the run
    [queued] = DBTaskResult.objects.all()
    assert queued.task_path.endswith("tasks.eori_identities_backfill")
    assert not EoriIdentity.objects.exists()  # nothing per row in the import itself

    run_worker()

    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL", queued.traceback
    assert queued.return_value == {"created": 2, "batches": 1, "shared": 0}
    identified = dict(EoriIdentity.objects.values_list("operator__eori", "identifier"))
    assert identified == {fr_eori(1): fr_eori(1), "DE1234567": "DE1234567"}
    swiss = Operator.objects.get(national_id="CHE-123.456.789")
    assert not EoriIdentity.objects.filter(operator=swiss).exists()  # no EORI, no identity
    [event] = AuditEvent.objects.filter(action=BACKFILL)
    assert event.data["created"] == 2 and event.data["operators"] == 2
    assert not AuditEvent.objects.filter(action=CREATE).exists()  # not one event per row
    assert audit_verify() is None

    # Importing the same file again writes nothing: no signal, no task.
    with django_capture_on_commit_callbacks(execute=True):
        assert "0 created, 0 updated, 3 unchanged" in import_file(
            write_csv(tmp_path / "register.csv", GOOD)
        )
    assert DBTaskResult.objects.count() == 1

    # Running the backfill again is a no-op.
    out = io.StringIO()
    call_command("certificates_identities", stdout=out)
    assert "0 EORI identities created" in out.getvalue()
    assert EoriIdentity.objects.count() == 2
    assert AuditEvent.objects.filter(action=BACKFILL).count() == 1


def test_an_import_that_gives_an_operator_its_eori_queues_the_task(
    tmp_path, django_capture_on_commit_callbacks
):
    known = OperatorFactory(eori="", country="FR", national_id="RNA-42", name="Association")
    source = write_csv(
        tmp_path / "national.csv",
        [f"{fr_eori(9)},Association,FR,Lyon,+33 4 00 00 00 00,RNA-42"],
        header="eori,name,country,city,phone,national_id",
    )
    with django_capture_on_commit_callbacks(execute=True):
        output = import_file(source)
    assert "0 created, 1 updated" in output
    known.refresh_from_db()
    assert known.eori == fr_eori(9)
    assert DBTaskResult.objects.count() == 1
    run_worker()
    assert EoriIdentity.objects.get(operator=known).identifier == fr_eori(9)


def test_the_backfill_works_in_batches_with_one_audit_event_each():
    operators = bulk_operators(*(fr_eori(n) for n in range(20, 25)))

    summary = identities.eori_identities_backfill(batch_size=2)

    assert (summary.created, summary.batches, summary.shared) == (5, 3, 0)
    events = list(AuditEvent.objects.filter(action=BACKFILL).order_by("sequence"))
    assert [event.data["created"] for event in events] == [2, 2, 1]
    assert events[0].data["first_operator"] == operators[0].pk
    assert events[-1].data["last_operator"] == operators[-1].pk
    for operator in operators:
        assert EoriIdentity.objects.get(operator=operator).identifier == operator.eori
    again = identities.eori_identities_backfill(batch_size=2)
    assert (again.created, again.batches) == (0, 0)
    assert AuditEvent.objects.filter(action=BACKFILL).count() == 3
    assert audit_verify() is None


def test_the_command_runs_the_backfill_or_queues_it():
    bulk_operators(fr_eori(30), fr_eori(31))
    out = io.StringIO()
    call_command("certificates_identities", "--enqueue", stdout=out)
    assert "Enqueued task" in out.getvalue()
    assert not EoriIdentity.objects.exists()
    [queued] = DBTaskResult.objects.all()
    assert queued.task_path.endswith("tasks.eori_identities_backfill")

    out = io.StringIO()
    call_command("certificates_identities", "--batch-size", "1", stdout=out)
    assert "2 EORI identities created in 2 batch(es)." in out.getvalue()
    assert EoriIdentity.objects.count() == 2


# --- an EORI number another operator's identity holds --------------------------------------------


def test_an_eori_number_held_by_another_spaces_identity_leaves_the_operator_without_one():
    first = OperatorFactory(eori="FR552100554", name="Dupont SA")
    held = EoriIdentity.objects.get(operator=first)
    # The number moved to another space of the company (the first one's identity keeps it).
    Operator.objects.filter(pk=first.pk).update(eori="")
    second = OperatorFactory(eori="FR552100554", name="Dupont SA (export)")  # does not fail

    assert not EoriIdentity.objects.filter(operator=second).exists()
    assert identities.eori_identity_ensure(operator=second) is None
    assert identities.eori_identity_holder(operator=second) == first
    assert EoriIdentity.objects.get(identifier="FR552100554") == held

    # The backfill skips it too, and says how many are left so.
    [bulk] = bulk_operators(fr_eori(40))
    Operator.objects.filter(pk=bulk.pk).update(eori=fr_eori(41))
    EoriIdentity.objects.create(operator=OperatorFactory(eori=""), identifier=fr_eori(41))
    summary = identities.eori_identities_backfill()
    assert (summary.created, summary.shared) == (0, 2)
    assert not EoriIdentity.objects.filter(operator__in=[second, bulk]).exists()

    # Its page says where the identity is, and does not fail.
    representative = member(second, Position.Role.LEGAL_REPRESENTATIVE)
    page = sign_in(representative).get(f"/companies/{second.pk}/")
    assert page.status_code == 200
    shown = text(page)
    assert (
        "The identity for EORI FR552100554 is held by another space of the company, Dupont SA:"
        in shown
    )
    assert str(held.public_id) not in shown


def test_a_page_without_identity_yet_and_without_eori():
    operator = OperatorFactory(eori="", country="CH", national_id="CHE-9")
    shown = re.sub(
        r"\s+",
        " ",
        render_to_string("certificates/_identity.html", {"operator": operator, "identity": None}),
    )
    assert "has no EORI number: it cannot register certificates" in shown
    [bulk] = bulk_operators(fr_eori(50))
    shown = render_to_string("certificates/_identity.html", {"operator": bulk, "identity": None})
    assert f"The identity for EORI {fr_eori(50)} is being created" in re.sub(r"\s+", " ", shown)


# --- the data migration --------------------------------------------------------------------------


def test_the_migration_backfills_the_operators_without_identity():
    with_identity = OperatorFactory()  # saved: has its identity already
    missing = bulk_operators(fr_eori(60), fr_eori(61), "")
    sharing = missing[1]
    EoriIdentity.objects.create(operator=OperatorFactory(eori=""), identifier=fr_eori(61))
    events = AuditEvent.objects.filter(action=BACKFILL)

    assert MIGRATION.identities_backfill(django_apps, None) == 1

    assert EoriIdentity.objects.get(operator=missing[0]).identifier == fr_eori(60)
    assert not EoriIdentity.objects.filter(operator__in=[sharing, missing[2]]).exists()
    assert EoriIdentity.objects.filter(operator=with_identity).count() == 1
    [event] = events
    assert event.data == {"created": 1, "migration": "certificates.0003"}
    assert audit_verify() is None  # the event is chained as audit_record chains them
    assert MIGRATION.identities_backfill(django_apps, None) == 0
    assert events.count() == 1
