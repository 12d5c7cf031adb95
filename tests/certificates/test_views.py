"""The certificate pages: the list with the EORI identity and the search, the wizard from the
questions to the ACTIVE confirmation with a real signed PDF, a refused upload (error summary,
nothing changed), the closed wizard, details, downloads, revocation, scope (404)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from comptoir.certificates.models import Certificate, RegistrationDocument
from tests.certificates import pki
from tests.certificates import test_registrations_kit as kit
from tests.factories_operators import AuthorityFactory, officer

pytestmark = pytest.mark.django_db

CS = Certificate.Status


@pytest.fixture
def keys(settings, tmp_path) -> kit.Pki:
    return kit.trust_setup(settings, tmp_path)


@pytest.fixture
def dupont(db) -> kit.Company:
    return kit.company()


def sign_in(client, person):
    if person.is_portal_staff:
        TOTP.activate(person, generate_totp_secret())
    client.force_login(person)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    person.language = "en"
    person.save(update_fields=["language"])
    return client


def base(company: kit.Company) -> str:
    return f"/companies/{company.operator.pk}/certificates/"


def one(certificate: Certificate) -> str:
    return f"/companies/{certificate.identity.operator_id}/certificates/{certificate.public_id}/"


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_whole_wizard_with_a_real_signed_pdf(client, dupont, keys):
    sign_in(client, dupont.lr)
    page = client.get(base(dupont) + "new/")
    assert page.status_code == 200
    assert "Step 1 of 3" in text(page) and 'name="purpose"' in text(page)

    response = client.post(
        base(dupont) + "new/",
        {"name": "ICS2 seal 2027", "description": "ENS", "purpose": "seal", "key_holder": "yes"},
    )
    certificate = Certificate.objects.get()
    assert certificate.status == CS.SEALED and certificate.key_holder is True
    assert response.status_code == 302 and response.url == one(certificate) + "upload/"

    page = client.get(one(certificate) + "upload/")
    assert page.status_code == 200
    assert "Step 2 of 3" in text(page) and "Registration document issued" in text(page)
    assert str(certificate.registration_pdf_id) in text(page)
    download = client.get(one(certificate) + "download/registration.pdf")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    pdf = download.content
    assert pdf == kit.issued_pdf(certificate)

    seal = kit.leaf(keys.ca)
    signed = kit.sign_pades(pdf, seal, keys.ca)
    response = client.post(
        one(certificate) + "upload/",
        {"signed": SimpleUploadedFile("signed.pdf", signed, "application/pdf")},
    )
    assert response.status_code == 302 and response.url == one(certificate) + "registered/"
    certificate.refresh_from_db()
    assert certificate.status == CS.ACTIVE

    done = client.get(response.url)
    assert done.status_code == 200
    assert "Certificate registered" in text(done) and certificate.sha256 in text(done)

    detail = text(client.get(one(certificate)))
    for value in (
        certificate.serial,
        certificate.subject,
        certificate.issuer,
        certificate.sha256,
        certificate.signature_algorithm,
        str(certificate.registration_pdf_id),
        "Active",
        "Version",
        dupont.lr.get_full_name(),
    ):
        assert value in detail, value
    assert "Revoke the certificate" in detail

    der = client.get(one(certificate) + "download/certificate.cer")
    assert der.status_code == 200 and der.content == seal.der
    pem = client.get(one(certificate) + "download/certificate.pem")
    assert x509.load_pem_x509_certificate(pem.content) == seal.cert
    assert client.get(one(certificate) + "download/signed.pdf").content == signed
    proof = client.get(one(certificate) + "download/proof.pdf")
    assert proof.status_code == 200 and proof.content.startswith(b"%PDF")
    assert client.get(one(certificate) + "download/signature.p7s").status_code == 404
    assert client.get(one(certificate) + "download/passwords.txt").status_code == 404


def test_a_refused_upload_shows_its_message_and_changes_nothing(client, dupont, keys):
    sign_in(client, dupont.lr)
    client.post(
        base(dupont) + "new/",
        {"name": "Seal", "description": "", "purpose": "seal", "key_holder": "yes"},
    )
    certificate = Certificate.objects.get()
    pdf = kit.issued_pdf(certificate)
    response = client.post(
        one(certificate) + "upload/",
        {
            "signed": SimpleUploadedFile(
                "signed.pdf", kit.sign_pades(pdf, kit.expired_leaf(keys.ca), keys.ca)
            )
        },
    )
    assert response.status_code == 422
    page = text(response)
    assert "There is a problem" in page and "The certificate expired on" in page
    assert page.count("The certificate expired on") == 2  # the summary and the field
    certificate.refresh_from_db()
    assert certificate.status == CS.SEALED
    assert set(
        RegistrationDocument.objects.filter(certificate=certificate).values_list("kind", flat=True)
    ) == {"issued"}
    response = client.post(
        one(certificate) + "upload/",
        {"signed": SimpleUploadedFile("x.pdf", b"not a pdf")},
    )
    assert response.status_code == 422 and "The file is not a PDF" in text(response)
    # Nothing chosen at all.
    response = client.post(one(certificate) + "upload/", {})
    assert response.status_code == 422
    assert "Select the signed registration document." in text(response)


def test_step_1_errors(client, dupont, keys):
    sign_in(client, dupont.lr)
    response = client.post(base(dupont) + "new/", {"name": "", "purpose": "web"})
    assert response.status_code == 422
    page = text(response)
    assert "Enter a name for the certificate" in page
    assert "Choose what the certificate is for" in page
    assert "Say whether you hold the certificate&#x27;s private key" in page
    assert not Certificate.objects.exists()


def test_non_key_holder_page_asks_for_the_certificate_file(client, dupont, keys):
    sign_in(client, dupont.manager)
    client.post(
        base(dupont) + "new/",
        {"name": "Seal", "description": "", "purpose": "seal", "key_holder": "no"},
    )
    certificate = Certificate.objects.get()
    assert certificate.key_holder is False
    assert 'name="uploaded_certificate"' in text(client.get(one(certificate) + "upload/"))
    seal = kit.leaf(keys.ca)
    own = kit.leaf(keys.ca, "Ada Lovelace")
    response = client.post(
        one(certificate) + "upload/",
        {
            "signed": SimpleUploadedFile(
                "s.pdf", kit.sign_pades(kit.issued_pdf(certificate), own, keys.ca)
            ),
            "uploaded_certificate": SimpleUploadedFile("seal.pem", seal.pem),
        },
    )
    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.status == CS.ACTIVE and bytes(certificate.der) == seal.der


def test_the_wizard_is_closed_without_a_granted_right(client):
    closed = kit.company(granted=False)
    sign_in(client, closed.lr)
    response = client.get(base(closed) + "new/")
    assert response.status_code == 403
    page = text(response)
    assert "Your company cannot register certificates yet" in page
    assert "Customs open certificate registration to each company on request" in page
    assert f"/companies/{closed.operator.pk}/certificates/access/" in page
    response = client.post(
        base(closed) + "new/",
        {"name": "Seal", "purpose": "seal", "key_holder": "yes"},
    )
    assert response.status_code == 403 and not Certificate.objects.exists()


def test_an_employee_sees_the_list_but_does_not_register(client, dupont, keys):
    kit.active_certificate(dupont)
    sign_in(client, dupont.employee)
    page = client.get(base(dupont))
    assert page.status_code == 200 and "ICS2 seal" in text(page)
    assert "Register a certificate" not in text(page)
    assert client.get(base(dupont) + "new/").status_code == 403


def test_the_list_shows_the_eori_identity(client, dupont):
    certificate = kit.active_certificate(dupont)
    identity = certificate.identity
    sign_in(client, dupont.lr)
    page = text(client.get(base(dupont)))
    for value in (str(identity.public_id), identity.identifier, "EORI", "EO", "Economic operator"):
        assert value in page


def test_search_filters(client, dupont):
    qualified_ca = pki.make_ca("Qualified Issuer CA")
    seal = kit.active_certificate(
        dupont, name="Seal 2027", days_left=400, qualified=True, issuer=qualified_ca
    )
    signature = kit.active_certificate(
        dupont, name="Signature Ada", days_left=20, purpose="signature"
    )
    revoked = kit.active_certificate(dupont, name="Old seal", days_left=100)
    Certificate.objects.filter(pk=revoked.pk).update(status=CS.REVOKED)
    sign_in(client, dupont.lr)

    def names(**query) -> set[str]:
        response = client.get(base(dupont), query)
        assert response.status_code == 200, query
        return {
            name
            for name in ("Seal 2027", "Signature Ada", "Old seal")
            if f">{name}</a>" in response.content.decode()
        }

    today = timezone.localdate()
    assert names() == {"Seal 2027", "Signature Ada", "Old seal"}
    assert names(q="signature ada") == {"Signature Ada"}
    assert names(serial=seal.serial.lower()) == {"Seal 2027"}
    assert names(subject="Signature Ada subject") == {"Signature Ada"}
    assert names(issuer="Qualified Issuer") == {"Seal 2027"}
    assert names(type="qualified") == {"Seal 2027"}
    assert names(type="non_qualified") == {"Signature Ada", "Old seal"}
    assert names(purpose="signature") == {"Signature Ada"}
    assert names(status="revoked") == {"Old seal"}
    assert names(valid_until_before=(today + timedelta(days=30)).isoformat()) == {"Signature Ada"}
    assert names(valid_until_after=(today + timedelta(days=200)).isoformat()) == {"Seal 2027"}
    assert names(
        valid_from_after=(today - timedelta(days=31)).isoformat(),
        valid_from_before=(today - timedelta(days=29)).isoformat(),
    ) == {"Seal 2027", "Signature Ada", "Old seal"}
    assert names(valid_from_after=(today + timedelta(days=1)).isoformat()) == set()
    assert signature.pk
    bad = client.get(base(dupont), {"valid_until_after": "31/02/2027", "status": "lost"})
    assert bad.status_code == 422 and "Enter a real date" in text(bad)


def test_paging(client, dupont):
    ca = pki.make_ca("Paging CA")
    for number in range(27):
        kit.active_certificate(dupont, name=f"Seal {number:02d}", issuer=ca)
    sign_in(client, dupont.lr)
    first = text(client.get(base(dupont), {"purpose": "seal"}))
    assert "Page 1 of 2" in first and "27 certificates" in first
    assert "purpose=seal&amp;page=2" in first
    second = text(client.get(base(dupont), {"purpose": "seal", "page": 2}))
    assert second.count(">Seal ") == 2


def test_other_operators_certificates_are_not_found(client, dupont, keys):
    other = kit.company(name="Other company")
    theirs = kit.active_certificate(other, name="Theirs")
    sign_in(client, dupont.lr)
    assert client.get(base(other)).status_code == 404
    assert client.get(base(other) + "new/").status_code == 404
    assert client.get(one(theirs)).status_code == 404
    assert client.get(one(theirs) + "download/certificate.cer").status_code == 404
    assert client.get(one(theirs) + "revoke/").status_code == 404
    # Their certificate under our company's address does not exist either.
    mixed = f"{base(dupont)}{theirs.public_id}/"
    assert client.get(mixed).status_code == 404
    assert client.post(mixed + "revoke/", {"reason": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == CS.ACTIVE


def test_revocation_page(client, dupont):
    certificate = kit.active_certificate(dupont)
    sign_in(client, dupont.manager)
    page = client.get(one(certificate) + "revoke/")
    assert page.status_code == 200 and "Why do you revoke the certificate?" in text(page)
    response = client.post(one(certificate) + "revoke/", {"reason": ""})
    assert response.status_code == 422 and "Enter the reason for revoking" in text(response)
    certificate.refresh_from_db()
    assert certificate.status == CS.ACTIVE
    response = client.post(one(certificate) + "revoke/", {"reason": "Key lost"})
    assert response.status_code == 302 and response.url == one(certificate)
    certificate.refresh_from_db()
    assert certificate.status == CS.REVOKED and certificate.revocation_reason == "Key lost"
    detail = text(client.get(one(certificate)))
    assert "Revoked" in detail and "Key lost" in detail and "Revoke the certificate" not in detail
    assert client.get(one(certificate) + "revoke/").status_code == 403


def test_an_employee_cannot_revoke(client, dupont):
    certificate = kit.active_certificate(dupont)
    sign_in(client, dupont.employee)
    assert "Revoke the certificate" not in text(client.get(one(certificate)))
    assert client.post(one(certificate) + "revoke/", {"reason": "x"}).status_code == 403
    certificate.refresh_from_db()
    assert certificate.status == CS.ACTIVE


def test_a_customs_officer_sees_and_revokes_any_certificate(client, dupont):
    certificate = kit.active_certificate(dupont)
    customs = officer(AuthorityFactory())
    sign_in(client, customs)
    assert client.get(base(dupont)).status_code == 200
    assert client.get(one(certificate)).status_code == 200
    response = client.post(one(certificate) + "revoke/", {"reason": "Fraud"})
    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.status == CS.REVOKED and certificate.revoked_by == customs
    # An officer does not register certificates for the company.
    assert client.get(base(dupont) + "new/").status_code == 403


def test_anonymous_people_sign_in_first(client, dupont):
    certificate = kit.active_certificate(dupont)
    response = client.get(one(certificate), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_detached_signature_made_with_openssl_cms_through_the_pages(client, dupont, keys, tmp_path):
    """A tool nobody here wrote: `openssl cms -sign -cades` makes the detached signature of the
    PDF as downloaded; the person uploads the PDF and the .p7s."""
    sign_in(client, dupont.lr)
    client.post(
        base(dupont) + "new/",
        {"name": "Seal", "description": "", "purpose": "seal", "key_holder": "yes"},
    )
    certificate = Certificate.objects.get()
    pdf = client.get(one(certificate) + "download/registration.pdf").content
    seal = kit.leaf(keys.ca)
    (tmp_path / "issued.pdf").write_bytes(pdf)
    (tmp_path / "seal.pem").write_bytes(seal.pem)
    (tmp_path / "ca.pem").write_bytes(keys.ca.pem)
    (tmp_path / "seal.key").write_bytes(
        seal.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    subprocess.run(
        [
            "openssl", "cms", "-sign", "-binary", "-cades", "-md", "sha256",
            "-in", "issued.pdf", "-signer", "seal.pem", "-inkey", "seal.key",
            "-certfile", "ca.pem", "-outform", "DER", "-out", "issued.pdf.p7s",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )  # fmt: skip
    response = client.post(
        one(certificate) + "upload/",
        {
            "signed": SimpleUploadedFile("issued.pdf", pdf, "application/pdf"),
            "detached_signature": SimpleUploadedFile(
                "issued.pdf.p7s", (tmp_path / "issued.pdf.p7s").read_bytes()
            ),
        },
    )
    assert response.status_code == 302, text(response)[-2000:]
    certificate.refresh_from_db()
    assert certificate.status == CS.ACTIVE and bytes(certificate.der) == seal.der
    signature = client.get(one(certificate) + "download/signature.p7s")
    assert signature.content == (tmp_path / "issued.pdf.p7s").read_bytes()


def test_the_closed_wizard_tells_about_the_request_waiting(client):
    from comptoir.certificates.models import RegistrationRight

    closed = kit.company(granted=False)
    RegistrationRight.objects.create(
        operator=closed.operator,
        eori=closed.operator.eori,
        company_name=closed.operator.name,
        account_name=closed.lr.username,
        wanted_on=timezone.localdate(),
        environment=RegistrationRight.Environment.CONFORMANCE,
        requested_by=closed.lr,
    )
    sign_in(client, closed.lr)
    response = client.get(base(closed) + "new/")
    assert response.status_code == 403
    assert "is waiting for a decision from customs" in text(response)
