"""What the registration tests share: a test PKI trusted through the alternate list, a
certificate row waiting for its signed document, and the registrant's tools (pyHanko for PAdES,
the real ``openssl cms`` for detached CAdES). Import the fixtures into a test module."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from comptoir.certificates import seal as comptoir_seal
from comptoir.certificates.models import Certificate
from comptoir.certificates.registration import registration_pdf_build
from comptoir.certificates.services import eori_identity_for
from comptoir.core.sync import run_coroutine
from tests.certificates import pki
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory


@dataclass
class Pki:
    ca: pki.Issued
    leaf: pki.Issued  # the certificate being registered (fit for a seal and a signature)
    other_leaf: pki.Issued  # another certificate of the same CA
    own: pki.Issued  # a person's own signature certificate (non-key-holder)
    expired: pki.Issued
    web: pki.Issued
    stranger_ca: pki.Issued  # not on any list
    stranger_leaf: pki.Issued


@pytest.fixture(scope="session")
def test_pki() -> Pki:
    ca = pki.make_ca("Registration Test CA")
    stranger_ca = pki.make_ca("Unlisted CA")
    return Pki(
        ca=ca,
        leaf=pki.make_leaf(ca, "Transports Dupont ICS2 seal"),
        other_leaf=pki.make_leaf(ca, "Transports Dupont old seal"),
        own=pki.make_leaf(ca, "Ada Lovelace"),
        expired=pki.make_leaf(
            ca,
            "Transports Dupont expired seal",
            not_before=pki.NOW - timedelta(days=400),
            not_after=pki.NOW - timedelta(days=35),
        ),
        web=pki.make_web_leaf(ca),
        stranger_ca=stranger_ca,
        stranger_leaf=pki.make_leaf(stranger_ca, "Transports Dupont seal from elsewhere"),
    )


@pytest.fixture(scope="session")
def _seal_var_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("seal-var")


@pytest.fixture
def trusted(settings, _no_trusted_lists, test_pki, tmp_path, _seal_var_dir) -> Pki:
    """The test CA on the alternate list, and a development seal of the test session."""
    settings.COMPTOIR_TRUSTED_LIST_ALTERNATE = [
        str(pki.write_ca_folder(tmp_path / "alternate", test_pki.ca))
    ]
    settings.VAR_DIR = _seal_var_dir
    settings.COMPTOIR_SEAL_KEY_FILE = ""
    settings.COMPTOIR_SEAL_CERT_FILE = ""
    return test_pki


def certificate_row(*, key_holder: bool = True, purpose: str = "seal", **fields) -> Certificate:
    identity = eori_identity_for(OperatorFactory(name="Transports Dupont"))
    return Certificate.objects.create(
        identity=identity,
        name=fields.pop("name", "ICS2 seal 2027"),
        description=fields.pop("description", "Seals our ICS2 entry summary declarations"),
        purpose=purpose,
        key_holder=key_holder,
        status=Certificate.Status.SEALED,
        **fields,
    )


@pytest.fixture
def person():
    return UserFactory(first_name="Ada", last_name="Lovelace", language="en")


@pytest.fixture
def certificate(db, trusted) -> Certificate:
    return certificate_row()


@pytest.fixture
def issued(certificate, person) -> bytes:
    return registration_pdf_build(certificate=certificate, person=person)


# --- the registrant's tools ----------------------------------------------------------------------


def simple_signer(who: pki.Issued, *chain: pki.Issued) -> signers.SimpleSigner:
    key = who.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(who.der),
        signing_key=asn1_keys.PrivateKeyInfo.load(key),
        cert_registry=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(c.der) for c in chain]
        ),
    )


def pades_sign(
    pdf: bytes,
    who: pki.Issued,
    *chain: pki.Issued,
    field_name: str = "Registrant",
    existing_fields_only: bool = True,
) -> bytes:
    """Sign as a registrant's PDF software does: an incremental update, in the empty field."""
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    output = run_coroutine(
        signers.async_sign_pdf(
            writer,
            signers.PdfSignatureMetadata(
                field_name=field_name,
                subfilter=fields.SigSeedSubFilter.PADES,
                md_algorithm="sha256",
            ),
            signer=simple_signer(who, *chain),
            existing_fields_only=existing_fields_only,
        )
    )
    return bytes(output.getvalue())


def openssl() -> str:
    path = shutil.which("openssl")
    if path is None:
        pytest.skip("the openssl command is missing: install OpenSSL to run the CAdES tests")
    return path


def openssl_cades(
    folder: Path,
    content: bytes,
    who: pki.Issued,
    *chain: pki.Issued,
    outform: str = "DER",
) -> bytes:
    """A detached CAdES/CMS signature made by ``openssl cms -sign`` (a tool nobody here wrote)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "content.pdf").write_bytes(content)
    (folder / "signer.pem").write_bytes(who.pem)
    (folder / "signer.key").write_bytes(
        who.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    command = [
        openssl(),
        "cms",
        "-sign",
        "-binary",
        "-outform",
        outform,
        "-in",
        str(folder / "content.pdf"),
        "-signer",
        str(folder / "signer.pem"),
        "-inkey",
        str(folder / "signer.key"),
        "-md",
        "sha256",
        "-out",
        str(folder / "signature.p7s"),
    ]
    if chain:
        (folder / "chain.pem").write_bytes(b"".join(c.pem for c in chain))
        command += ["-certfile", str(folder / "chain.pem")]
    subprocess.run(command, check=True, capture_output=True)
    return (folder / "signature.p7s").read_bytes()


def reset_seal_memo() -> None:
    comptoir_seal._memo.clear()


_SHOWN = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", re.DOTALL)


def pdf_text(pdf: bytes) -> str:
    """The text an uncompressed fpdf2 document shows, lines joined by spaces."""
    parts = []
    for match in _SHOWN.finditer(pdf):
        raw = re.sub(rb"\\(.)", rb"\1", match.group(1))
        parts.append(raw.decode("latin-1"))
    return " ".join(" ".join(parts).split())
