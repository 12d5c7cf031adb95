"""Certificate registration end to end in Chromium (JavaScript off), axe-core on every page
visited (issue 5, point 9).

The legal representative of an active operator with an EORI number finds the registration wizard
closed, asks customs for access (account name, date, environment) and gets a reference; a customs
officer (TOTP) approves the request in the queue; the legal representative registers a seal
certificate (key holder): downloads the registration PDF, signs it here with pyHanko and the test
PKI's key, uploads it and reads the SHA-256 on the confirmation; the details page shows the
certificate ACTIVE and the downloads work; bad uploads of a second registration are refused with
their own messages and change nothing; the access point's B2G check says OK; the legal
representative revokes the certificate with a reason and the B2G check says A001.

People, the operator, the authority, the officer's TOTP, the test PKI and the B2G client are set
up through the ORM; every step of the procedure goes through the pages (and the B2G API)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.hazmat.primitives import serialization
from django.utils import timezone

from comptoir.approvals.models import Request
from comptoir.audit.models import AuditEvent
from comptoir.b2g.services import b2g_client_create
from comptoir.certificates import seal as comptoir_seal
from comptoir.certificates import trust
from comptoir.certificates.models import Certificate, RegistrationDocument, RegistrationRight
from comptoir.operators.models import Authority, Operator, Position
from tests.browser.test_company_journey import person_page, sign_in
from tests.certificates import pki
from tests.certificates import test_registrations_kit as kit
from tests.factories_operators import AuthorityFactory, OperatorFactory, member, officer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CS = Certificate.Status
RS = RegistrationRight.Status
Kind = RegistrationDocument.Kind
EORI_TYPE = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:eu-customs:EORI"
COMPANY = "Transports Dupont SA"


# --- Set-up (ORM) -------------------------------------------------------------------------------


@pytest.fixture
def trusted_pki(settings, live_server, tmp_path) -> Iterator[kit.Pki]:
    """The test CA on the administration's alternate list (no EU list read), a development seal
    of this test under tmp_path; the memos of the trust lists and of the seal emptied before and
    after, so that nothing leaks to or from other tests of the process."""
    settings.COMPTOIR_BASE_URL = live_server.url
    settings.COMPTOIR_TRUSTED_LISTS = []
    settings.COMPTOIR_TRUST_QUALIFIED_ONLY = False
    settings.COMPTOIR_SEAL_KEY_FILE = ""
    settings.COMPTOIR_SEAL_CERT_FILE = ""
    trust._memo.clear()
    comptoir_seal._memo.clear()
    keys = kit.trust_setup(settings, tmp_path)
    yield keys
    trust._memo.clear()
    comptoir_seal._memo.clear()


def customs_officer() -> tuple:
    """An officer of the French national administration (the competent authority), TOTP set."""
    customs = AuthorityFactory(
        code="FR-DGDDI",
        name="Direction générale des douanes",
        country="FR",
        kind=Authority.Kind.NATIONAL_ADMINISTRATION,
    )
    person = officer(customs, username="officer_lyon", first_name="Odile", last_name="Roux")
    secret = base64.b32encode(b"cert-officer-secret!").decode()
    TOTP.activate(person, secret)
    return person, secret


# --- Steps (UI) ---------------------------------------------------------------------------------


def main_text(page) -> str:
    page.wait_for_load_state("load")
    return re.sub(r"[ \t]+", " ", page.locator("main").inner_text())


def heading(page) -> str:
    return page.locator("h1").inner_text().strip()


def error_summary(page) -> str:
    assert page.title().startswith("Error: "), page.title()
    return page.locator(".error-summary").inner_text()


def summary_rows(page) -> dict[str, str]:
    """The summary lists of the page, row header → value, as written (not as styled: the status
    tag is shown in capitals)."""

    def text(cell) -> str:
        return " ".join((cell.text_content() or "").split())

    return {
        text(row.locator("th")): text(row.locator("td"))
        for row in page.locator("table.summary-list tr").all()
    }


def open_certificates(page, axe, operator: Operator) -> None:
    """From the banner: the person's companies, the company's space, its certificates."""
    page.get_by_role("banner").get_by_role("link", name="Your companies").click()
    axe(page)
    page.get_by_role("main").get_by_role("link", name=operator.name).click()
    assert heading(page) == operator.name
    axe(page)
    page.get_by_role(
        "link", name="Certificates registered against the company's EORI number"
    ).click()
    assert page.url.endswith(f"/companies/{operator.pk}/certificates/")
    assert heading(page) == "Certificates"
    axe(page)


def start_registration(page, axe, name: str, description: str) -> Certificate:
    """Step 1 of the wizard, from the certificates page; returns the SEALED certificate."""
    page.get_by_role("main").get_by_role("link", name="Register a certificate").click()
    assert heading(page) == "Register a certificate"
    assert "Step 1 of 3" in main_text(page)
    axe(page)
    page.get_by_label("Name of the certificate").fill(name)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Electronic seal").check()
    page.get_by_label(re.compile("Yes: I will sign the registration document")).check()
    page.get_by_role("button", name="Continue").click()
    assert heading(page) == "Sign and upload the registration document"
    axe(page)
    certificate = Certificate.objects.get(name=name)
    assert certificate.status == CS.SEALED and certificate.key_holder is True
    assert certificate.purpose == Certificate.Purpose.SEAL
    assert page.url.endswith(f"/certificates/{certificate.public_id}/upload/")
    text = main_text(page)
    assert "Step 2 of 3" in text and str(certificate.registration_pdf_id) in text
    return certificate


def download(page, link_name: str | re.Pattern) -> tuple[str, bytes]:
    """Click a download link; the file's suggested name and its bytes, as the browser saved it."""
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    saved = info.value
    return saved.suggested_filename, Path(saved.path()).read_bytes()


def download_registration_pdf(page, certificate: Certificate) -> bytes:
    name, pdf = download(
        page,
        f"Download the registration document {certificate.registration_pdf_id} (PDF)",
    )
    assert name.endswith(".pdf") and pdf.startswith(b"%PDF-")
    assert pdf == kit.issued_pdf(certificate)  # the copy Comptoir issued, byte for byte
    return pdf


def upload(page, axe, folder: Path, filename: str, content: bytes) -> None:
    """Choose a file for "The signed registration document (PDF)" and send it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_bytes(content)
    page.get_by_label("The signed registration document (PDF)").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check").click()
    axe(page)


def b2g_check(page, token: str, eori: str, fingerprint: str) -> dict:
    """What the access point asks before delivering a message sealed with the certificate."""
    response = page.request.post(
        "/api/v1/b2g/authorisations",
        headers={"Authorization": f"Bearer {token}"},
        data={"party_id": eori, "party_type": EORI_TYPE, "fingerprint": fingerprint},
    )
    assert response.status == 200, response.text()
    return response.json()


# --- The journey --------------------------------------------------------------------------------


def test_certificate_registration_journey(browser, live_server, axe, trusted_pki, tmp_path):
    keys = trusted_pki
    operator = OperatorFactory(name=COMPANY, country="FR", status=Operator.Status.ACTIVE)
    assert operator.eori
    representative = member(
        operator,
        Position.Role.LEGAL_REPRESENTATIVE,
        username="dupont_lr",
        first_name="Léa",
        last_name="Dupont",
        language="en",
    )
    officer_person, officer_secret = customs_officer()
    seal_certificate = pki.make_leaf(keys.ca, "Transports Dupont ICS2 seal")
    sha256 = hashlib.sha256(seal_certificate.der).hexdigest()
    _client, token = b2g_client_create(name="Access point Lyon")
    wanted_on = timezone.localdate() + timedelta(days=3)

    # --- The wizard is closed; the legal representative asks customs for access.
    with person_page(browser, live_server) as page:
        sign_in(page, axe, representative)
        open_certificates(page, axe, operator)
        assert "The company has not registered any certificate yet." in main_text(page)
        page.get_by_role("main").get_by_role("link", name="Register a certificate").click()
        assert page.url.endswith(f"/companies/{operator.pk}/certificates/new/")
        assert heading(page) == "Your company cannot register certificates yet"
        closed = main_text(page)
        assert operator.eori in closed and "What to do" in closed and "Why" in closed
        assert page.get_by_label("Name of the certificate").count() == 0
        axe(page)
        page.get_by_role("link", name="Ask for access to certificate registration").click()
        assert heading(page) == "Ask for access to certificate registration"
        question = main_text(page)
        assert operator.eori in question and COMPANY in question
        assert page.get_by_label("Account name").input_value() == representative.username
        axe(page)
        # A date in the past: its own message, nothing asked.
        page.get_by_label("Account name").fill("dupont_certs")
        page.get_by_label("From which date do you want access?").fill(
            (timezone.localdate() - timedelta(days=1)).isoformat()
        )
        page.get_by_label("Production").check()
        page.get_by_role("button", name="Send the request to customs").click()
        past = "Enter a date from which you want access that is today or in the future."
        assert past in error_summary(page)
        assert past in page.locator(".error-message").inner_text()
        axe(page)
        assert not RegistrationRight.objects.exists()
        assert not Request.objects.filter(kind=Request.Kind.CERTIFICATE_ACCESS).exists()
        page.get_by_label("From which date do you want access?").fill(wanted_on.isoformat())
        page.get_by_label("Production").check()
        page.get_by_role("button", name="Send the request to customs").click()
        assert heading(page) == "Request sent to customs"
        right = RegistrationRight.objects.get(operator=operator)
        access = Request.objects.get(kind=Request.Kind.CERTIFICATE_ACCESS)
        assert right.status == RS.REQUESTED and right.request_id == access.public_id
        assert (right.account_name, right.wanted_on, right.environment) == (
            "dupont_certs",
            wanted_on,
            RegistrationRight.Environment.PRODUCTION,
        )
        assert page.url.endswith(f"/certificates/access/requested/{right.public_id}/")
        confirmation = main_text(page)
        assert access.reference in confirmation and "dupont_certs" in confirmation
        axe(page)
        # The wizard stays closed, and says which request is waiting.
        page.goto(f"/companies/{operator.pk}/certificates/new/")
        assert heading(page) == "Your company cannot register certificates yet"
        assert access.reference in main_text(page)
        axe(page)

    # --- The customs officer (TOTP) approves the request in the queue.
    with person_page(browser, live_server) as page:
        sign_in(page, axe, officer_person, officer_secret)
        page.get_by_role("banner").get_by_role("link", name="Requests to decide").click()
        axe(page)
        page.get_by_role("link", name=access.reference).click()
        details = main_text(page)
        for shown in (operator.eori, COMPANY, "dupont_certs", "Production"):
            assert shown in details, shown
        axe(page)
        page.get_by_label("Approve", exact=True).check()
        page.get_by_role("button", name="Send the decision").click()
        assert "Approved" in main_text(page)
        axe(page)
    right.refresh_from_db()
    assert right.status == RS.GRANTED and right.decided_at is not None

    # --- The legal representative registers the seal certificate.
    with person_page(browser, live_server) as page:
        unknown = b2g_check(page, token, operator.eori, sha256)
        assert (unknown["authorised"], unknown["code"], unknown["reason_code"]) == (
            False,
            "A001",
            "certificate_unknown",
        )
        sign_in(page, axe, representative)
        open_certificates(page, axe, operator)
        certificate = start_registration(
            page, axe, "ICS2 seal 2027", "Seals our ICS2 entry summary declarations"
        )
        pdf = download_registration_pdf(page, certificate)
        signed = kit.sign_pades(pdf, seal_certificate, keys.ca)
        upload(page, axe, tmp_path / "first", "registration-signed.pdf", signed)
        assert heading(page) == "Certificate registered"
        assert page.url.endswith(f"/certificates/{certificate.public_id}/registered/")
        assert sha256 in main_text(page)
        certificate.refresh_from_db()
        assert certificate.status == CS.ACTIVE and certificate.sha256 == sha256
        assert bytes(certificate.der) == seal_certificate.der
        assert kit.kinds(certificate) == {Kind.ISSUED, Kind.SIGNED, Kind.PROOF}
        assert (
            bytes(
                RegistrationDocument.objects.get(certificate=certificate, kind=Kind.SIGNED).content
            )
            == signed
        )

        # The details: status, serial, subject, issuer, qualified or not, the document id.
        page.get_by_role("link", name="See the certificate").click()
        assert heading(page) == "Certificate “ICS2 seal 2027”"
        axe(page)
        rows = summary_rows(page)
        assert rows["Status"] == "Active"
        assert rows["Serial number"] == certificate.serial and certificate.serial
        assert "Transports Dupont ICS2 seal" in rows["Subject"]
        assert "Registrations Test CA" in rows["Issuer"]
        assert rows["Qualified"] == "No"
        assert rows["Registration document id"] == str(certificate.registration_pdf_id)
        assert rows["SHA-256 digest"] == sha256
        assert rows["EORI"] == operator.eori
        assert rows["Key holder"] == "Yes"

        # The downloads.
        name, der = download(page, "The certificate (DER, .cer)")
        assert name.endswith(".cer") and der == seal_certificate.der
        name, pem = download(page, "The certificate (PEM, .pem)")
        assert name.endswith(".pem")
        assert pem == seal_certificate.cert.public_bytes(serialization.Encoding.PEM)
        name, proof = download(page, "The proof of registration (PDF)")
        assert name.endswith(".pdf") and proof.startswith(b"%PDF-")
        assert proof == bytes(
            RegistrationDocument.objects.get(certificate=certificate, kind=Kind.PROOF).content
        )
        assert str(certificate.registration_pdf_id).encode() in proof
        name, again = download(page, "The signed registration document (PDF)")
        assert again == signed
        name, issued = download(page, "The registration document issued by Comptoir (PDF)")
        assert issued == pdf

        # The access point may now accept messages sealed with it for the operator.
        allowed = b2g_check(page, token, operator.eori, sha256)
        assert (allowed["authorised"], allowed["code"], allowed["reason_code"]) == (
            True,
            "OK",
            "direct",
        )
        assert allowed["certificate_status"] == "active"
        assert allowed["certificate_eori"] == operator.eori

        # --- A second registration: bad uploads get their own message and change nothing.
        page.get_by_role("link", name="Back to the certificates").click()
        axe(page)
        spare = start_registration(page, axe, "Spare seal", "Kept in the safe")
        spare_pdf = download_registration_pdf(page, spare)
        other_key = pki.make_leaf(keys.ca, "Someone else").key
        bad_uploads = [
            ("not a PDF", "notes.pdf", b"These are my notes, not a PDF.", "not_pdf"),
            (
                "signed by another key",
                "wrong-key.pdf",
                kit.sign_pades(spare_pdf, pki.make_leaf(keys.ca, "Spare"), keys.ca, key=other_key),
                "signature_invalid",
            ),
            (
                "the certificate already active",
                "same-certificate.pdf",
                kit.sign_pades(spare_pdf, seal_certificate, keys.ca),
                "already_registered",
            ),
        ]
        messages = set()
        for index, (label, filename, content, code) in enumerate(bad_uploads):
            last = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True)[0]
            upload(page, axe, tmp_path / f"bad-{index}", filename, content)
            assert heading(page) == "Sign and upload the registration document", label
            field_error = page.locator(".error-message").inner_text()
            message = re.sub(r"^\s*Error:\s*", "", field_error).strip()
            assert message and message in error_summary(page), (label, message)
            messages.add(message)
            spare.refresh_from_db()
            assert spare.status == CS.SEALED and not spare.der and not spare.sha256, label
            assert kit.kinds(spare) == {Kind.ISSUED}, label
            events = list(AuditEvent.objects.filter(sequence__gt=last).order_by("sequence"))
            assert [event.action for event in events] == [
                "certificates.registration.upload_refused"
            ], label
            assert events[0].data.get("code") == code, (label, events[0].data)
        assert len(messages) == len(bad_uploads), messages
        assert any("not a PDF" in message for message in messages)
        assert any("signature is not intact" in message for message in messages)
        assert any("already registered" in message for message in messages)
        certificate.refresh_from_db()
        assert certificate.status == CS.ACTIVE
        # The list shows both, each with its status.
        page.get_by_role("link", name="Back to the certificate").click()
        axe(page)
        assert summary_rows(page)["Status"] == "Registration document issued"
        assert page.get_by_role("link", name="Continue the registration").is_visible()
        page.get_by_role("link", name="Back to the certificates").click()
        listing = main_text(page)
        assert "ICS2 seal 2027" in listing and "Spare seal" in listing
        assert "2 certificates" in listing
        axe(page)

        # --- The legal representative revokes the first certificate, with a reason.
        page.get_by_role("link", name="ICS2 seal 2027").click()
        axe(page)
        page.get_by_role("link", name="Revoke the certificate").click()
        assert heading(page) == "Revoke the certificate"
        axe(page)
        page.get_by_role("button", name="Revoke the certificate").click()
        assert "Enter the reason for revoking the certificate." in error_summary(page)
        axe(page)
        certificate.refresh_from_db()
        assert certificate.status == CS.ACTIVE and certificate.revoked_at is None
        page.get_by_label("Why do you revoke the certificate?").fill(
            "The private key may have been copied."
        )
        page.get_by_role("button", name="Revoke the certificate").click()
        assert heading(page) == "Certificate “ICS2 seal 2027”"
        revoked = main_text(page)
        assert "The certificate “ICS2 seal 2027” is revoked." in revoked
        assert "The private key may have been copied." in revoked
        assert page.get_by_role("link", name="Revoke the certificate").count() == 0
        rows = summary_rows(page)
        assert rows["Status"] == "Revoked"
        assert "Léa Dupont" in rows["Revoked"]
        axe(page)
        certificate.refresh_from_db()
        assert certificate.status == CS.REVOKED
        assert certificate.revoked_by_id == representative.pk
        assert certificate.revocation_reason == "The private key may have been copied."

        # The access point is refused at once.
        refused = b2g_check(page, token, operator.eori, sha256)
        assert (refused["authorised"], refused["code"], refused["reason_code"]) == (
            False,
            "A001",
            "certificate_revoked",
        )
        assert refused["certificate_status"] == "revoked"

    spare.refresh_from_db()
    assert spare.status == CS.SEALED
    assert len(axe.checked) >= 37, len(axe.checked)
