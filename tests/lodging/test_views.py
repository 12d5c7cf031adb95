"""The declaration pages of a professional space: list, lodge (question page, error summary with
the specific reason, confirmation panel with the MRN), the declaration's page and its receipt;
404 for anyone without a valid position in the operator."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from comptoir.accounts.models import User
from comptoir.continuity.models import Outage
from comptoir.lodging.models import Declaration
from comptoir.notifications.models import Notice
from comptoir.operators.models import Position
from tests.lodging.conftest import JSON, XML, open_outage

pytestmark = pytest.mark.django_db


def client_for(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def url(operator, suffix: str = "") -> str:
    return f"/companies/{operator.pk}/declarations/{suffix}"


def upload(content: bytes = XML, name: str = "import.xml", type_code: str = "IMPORT") -> dict:
    return {"declaration_type": type_code, "file": SimpleUploadedFile(name, content)}


def test_lodging_through_the_page(world):
    client = client_for(world.employee)
    page = client.get(url(world.portal_operator, "new/"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert "Import declaration" in html and "Transit declaration" in html

    response = client.post(url(world.portal_operator, "new/"), upload())
    declaration = Declaration.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url(world.portal_operator, f"{declaration.mrn}/lodged/")
    assert declaration.channel == "portal" and declaration.lodged_by == world.employee
    assert bytes(declaration.payload) == XML and declaration.filename == "import.xml"

    done = client.get(response["Location"])
    html = done.content.decode()
    assert "panel--confirmation" in html and declaration.mrn in html
    assert url(world.portal_operator, f"{declaration.mrn}/receipt.pdf") in html

    listing = client.get(url(world.portal_operator)).content.decode()
    assert declaration.mrn in listing
    detail = client.get(url(world.portal_operator, f"{declaration.mrn}/")).content.decode()
    assert declaration.payload_sha256 in detail and world.portal_operator.eori in detail

    receipt = client.get(url(world.portal_operator, f"{declaration.mrn}/receipt.pdf"))
    assert receipt.status_code == 200 and receipt["Content-Type"] == "application/pdf"
    assert receipt.content.startswith(b"%PDF")
    assert declaration.mrn.encode() in receipt.content
    assert declaration.payload_sha256.encode() in receipt.content
    assert world.portal_operator.eori.encode() in receipt.content
    assert b"Declaration receipt" in receipt.content

    assert Notice.objects.filter(recipient=world.employee, reference=declaration.mrn).exists()


def test_receipt_is_in_the_persons_language(world):
    world.employee.language = "fr"
    world.employee.save()
    client_for(world.employee).post(url(world.portal_operator, "new/"), upload())
    declaration = Declaration.objects.get()
    receipt = client_for(world.employee).get(
        url(world.portal_operator, f"{declaration.mrn}/receipt.pdf")
    )
    # French once the catalogue has the strings; the core font draws them either way.
    assert receipt.status_code == 200 and declaration.mrn.encode() in receipt.content


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "declaration_type", "Select the type of declaration"),
        ({"declaration_type": "IMPORT"}, "file", "Select the file of the declaration"),
        (upload(b"<a><b></a>"), "file", "not well-formed XML"),
        (upload(JSON[:-3], "d.json"), "file", "not valid JSON"),
        (upload(XML, "d.txt"), "file", "Upload an XML file (.xml) or a JSON file (.json)"),
        (upload(type_code="NOPE"), "declaration_type", "Select the type of declaration"),
    ],
)
def test_bad_input_shows_a_specific_error_and_stores_nothing(world, data, field, message):
    response = client_for(world.employee).post(url(world.portal_operator, "new/"), data)
    assert response.status_code == 422
    html = response.content.decode()
    assert "error-summary" in html and message in html
    assert f'href="#id_{field}' in html
    assert html.count(message) >= 2  # in the summary and next to the field
    assert "<title>Error:" in html
    assert not Declaration.objects.exists()


def test_too_large_file(world, settings):
    settings.COMPTOIR_DECLARATION_MAX_BYTES = 100
    response = client_for(world.employee).post(
        url(world.portal_operator, "new/"), upload(b"<d>" + b"x" * 200 + b"</d>")
    )
    assert response.status_code == 422
    assert "must be smaller than" in response.content.decode()
    assert not Declaration.objects.exists()


def test_operation_not_held_is_explained(world):
    response = client_for(world.employee).post(
        url(world.portal_operator, "new/"), upload(type_code="ENTRY_SUMMARY")
    )
    assert response.status_code == 403
    assert "does not hold the customs operation Import Control System" in response.content.decode()
    assert not Declaration.objects.exists()


def test_b2g_operator_without_fallback_is_told_to_use_its_system(world):
    client = client_for(world.b2g_employee)
    page = client.get(url(world.b2g_operator, "new/")).content.decode()
    assert "through its own B2G system" in page and "report an outage" in page
    assert '<form method="post" enctype' not in page
    response = client.post(url(world.b2g_operator, "new/"), upload())
    assert response.status_code == 403
    assert "error-summary" in response.content.decode()
    assert not Declaration.objects.exists()

    open_outage(Outage.Kind.OPERATOR, world.b2g_operator)
    page = client.get(url(world.b2g_operator, "new/")).content.decode()
    assert "acknowledged it: you can lodge declarations here" in page
    assert client.post(url(world.b2g_operator, "new/"), upload()).status_code == 302
    assert Declaration.objects.get().channel == "portal"


def test_exception_names_the_office_and_instructions(world):
    open_outage(
        Outage.Kind.EXCEPTION,
        contact_office="Bureau de Luxembourg",
        instructions="Bring a paper copy.",
    )
    client = client_for(world.employee)
    for page in (url(world.portal_operator), url(world.portal_operator, "new/")):
        html = client.get(page).content.decode()
        assert "cannot be lodged online" in html
        assert "Bureau de Luxembourg" in html and "Bring a paper copy." in html
    response = client.post(url(world.portal_operator, "new/"), upload())
    assert response.status_code == 403
    assert "Bureau de Luxembourg" in response.content.decode()
    assert not Declaration.objects.exists()


def test_pages_are_404_outside_the_persons_companies(world):
    client_for(world.employee).post(url(world.portal_operator, "new/"), upload())
    mrn = Declaration.objects.get().mrn
    pages = ["", "new/", f"{mrn}/", f"{mrn}/lodged/", f"{mrn}/receipt.pdf"]
    outsider = client_for(world.outsider)
    for suffix in pages:
        assert outsider.get(url(world.portal_operator, suffix)).status_code == 404, suffix
    assert outsider.post(url(world.portal_operator, "new/"), upload()).status_code == 404
    # A suspended member neither.
    Position.objects.filter(person=world.employee).update(status=Position.Status.SUSPENDED)
    member = client_for(world.employee)
    for suffix in pages:
        assert member.get(url(world.portal_operator, suffix)).status_code == 404, suffix
    # Another company's MRN under one's own company: 404 too.
    b2g_client = client_for(world.b2g_employee)
    assert b2g_client.get(url(world.b2g_operator, f"{mrn}/")).status_code == 404
    assert Declaration.objects.count() == 1


def test_anonymous_is_sent_to_sign_in(world):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(url(world.portal_operator))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_list_pages(world):
    client = client_for(world.employee)
    for _ in range(27):
        client.post(url(world.portal_operator, "new/"), upload())
    first = client.get(url(world.portal_operator)).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(url(world.portal_operator) + "?page=2").content.decode()
    assert second.count("/lodged/") == 0 and "Page 2 of 2" in second
