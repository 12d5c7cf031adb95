from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from comptoir.certificates.inspect import (
    certificate_details,
    certificate_fit_for,
    certificate_is_website,
    certificate_load,
    certificate_validity_at,
    qc_statements,
)
from tests.certificates import pki


@pytest.fixture(scope="module")
def ca():
    return pki.make_ca()


def test_load_pem_der_and_a_text_dump(ca):
    leaf = pki.make_leaf(ca)
    assert certificate_load(leaf.pem) == leaf.cert
    assert certificate_load(leaf.der) == leaf.cert
    # What `openssl x509 -text` writes: a dump, then the PEM block.
    assert (
        certificate_load(b"Certificate:\n    Data:\n        Version: 3\n" + leaf.pem) == leaf.cert
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"  \n", "The file is empty."),
        (b"%PDF-1.7\nnot a certificate", "The file is not a certificate"),
        (
            b"-----BEGIN CERTIFICATE-----\nMIIBroken\n-----END CERTIFICATE-----\n",
            "damaged or incomplete",
        ),
    ],
)
def test_load_refuses_with_a_specific_message(data, message):
    with pytest.raises(ValueError, match=message):
        certificate_load(data)


def test_load_refuses_a_private_key(ca):
    key_pem = ca.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="holds no certificate"):
        certificate_load(key_pem)


def test_details(ca):
    leaf = pki.make_leaf(
        ca,
        qc=pki.qc_statements_value(sscd=True, qc_type="eseal", legislation=("FR",)),
        ekus=[ExtendedKeyUsageOID.EMAIL_PROTECTION],
    )
    details = certificate_details(leaf.cert)
    assert details.serial == f"{leaf.cert.serial_number:X}"
    assert details.version == 3
    assert details.subject == "CN=Transports Dupont seal,O=Comptoir tests,C=FR"
    assert details.issuer == "CN=Test Root CA,O=Comptoir tests,C=FR"
    assert details.sha256 == hashlib.sha256(leaf.der).hexdigest()
    assert details.not_before == leaf.cert.not_valid_before_utc
    assert details.not_after == leaf.cert.not_valid_after_utc
    assert details.signature_algorithm == "ecdsa-with-SHA256"
    assert details.qc.compliance and details.qc.sscd
    assert details.qc.types == {"eseal"}
    assert details.qc.legislation == ("FR",)
    assert details.qc.claims_eu_qualified
    assert details.key_usage == {"digital_signature", "non_repudiation"}
    assert details.extended_key_usage == {"emailProtection"}
    assert not details.is_ca
    assert certificate_details(ca.cert).is_ca
    assert details.validity_at(pki.NOW) == "valid"
    assert details.validity_at(pki.NOW + timedelta(days=400)) == "expired"
    assert details.validity_at(pki.NOW - timedelta(days=400)) == "not_yet_valid"


def test_qc_statements_absent_and_non_eu_legislation(ca):
    assert not qc_statements(pki.make_leaf(ca).cert).present
    foreign = qc_statements(
        pki.make_leaf(ca, qc=pki.qc_statements_value(qc_type="esign", legislation=("TC",))).cert
    )
    assert foreign.compliance and not foreign.eu_legislation and not foreign.claims_eu_qualified
    eu_default = qc_statements(pki.make_leaf(ca, qc=pki.qc_statements_value()).cert)
    assert eu_default.claims_eu_qualified  # no QcCClegislation: EU law


@pytest.mark.parametrize("purpose", ["signature", "seal"])
def test_website_certificates_are_refused(ca, purpose):
    web = pki.make_web_leaf(ca)
    assert certificate_is_website(web.cert)
    refusal = certificate_fit_for(web.cert, purpose)
    assert refusal is not None and refusal.code == "not_fit"
    assert "website" in str(refusal)
    qwac = pki.make_leaf(ca, qc=pki.qc_statements_value(qc_type="web"))
    refusal = certificate_fit_for(qwac.cert, purpose)
    assert refusal is not None and "website" in str(refusal)


def test_a_tls_client_and_signing_certificate_is_not_a_website(ca):
    both = pki.make_leaf(ca, ekus=[ExtendedKeyUsageOID.SERVER_AUTH], non_repudiation=True)
    assert not certificate_is_website(both.cert)
    assert certificate_fit_for(both.cert, "seal") is None


def test_qc_types_and_purposes(ca):
    esign = pki.make_leaf(ca, qc=pki.qc_statements_value(qc_type="esign")).cert
    eseal = pki.make_leaf(ca, qc=pki.qc_statements_value(qc_type="eseal")).cert
    plain = pki.make_leaf(ca).cert
    assert certificate_fit_for(esign, "signature") is None
    refusal = certificate_fit_for(esign, "seal")
    assert refusal is not None and "electronic signature" in str(refusal)
    assert certificate_fit_for(eseal, "seal") is None
    refusal = certificate_fit_for(eseal, "signature")
    assert refusal is not None and "electronic seal" in str(refusal)
    assert certificate_fit_for(plain, "seal") is None
    assert certificate_fit_for(plain, "signature") is None
    with pytest.raises(ValueError):
        certificate_fit_for(plain, "encryption")


def test_key_usage_and_extended_key_usage_that_cannot_sign(ca):
    encipher_only = pki.make_leaf(
        ca, digital_signature=False, non_repudiation=False, key_encipherment=True
    )
    refusal = certificate_fit_for(encipher_only.cert, "seal")
    assert refusal is not None and "key usage does not allow signing" in str(refusal)
    tsa = pki.make_leaf(ca, ekus=[ExtendedKeyUsageOID.TIME_STAMPING])
    refusal = certificate_fit_for(tsa.cert, "seal")
    assert refusal is not None and "time-stamping" in str(refusal)
    refusal = certificate_fit_for(ca.cert, "seal")
    assert refusal is not None and "certificate authority" in str(refusal)


def test_validity_at(ca):
    leaf = pki.make_leaf(ca)
    assert certificate_validity_at(leaf.cert, pki.NOW) is None
    expired = certificate_validity_at(leaf.cert, pki.NOW + timedelta(days=400))
    assert expired is not None and expired.code == "expired"
    assert f"{leaf.cert.not_valid_after_utc:%Y-%m-%d}" in str(expired)
    early = certificate_validity_at(leaf.cert, pki.NOW - timedelta(days=400))
    assert early is not None and early.code == "not_yet_valid"
