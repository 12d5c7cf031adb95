"""AS4 messages of the interop corpus (phase4 and Domibus): the expected verdicts of
../shared/interop/README.md."""

from __future__ import annotations

import pytest
from cryptography.x509.oid import NameOID

from comptoir.b2g.as4 import (
    TOKEN_PKIPATH,
    TOKEN_X509V3,
    as4_message_parse,
    as4_signature_verify,
    as4_verify,
    chain_is_linked,
)

pytestmark = pytest.mark.interop

RECEIPTS = ["governikus.as4in", "helger.as4in", "dataport1-mustunderstand.as4in"]


def _read(interop_dir, name):
    path = interop_dir / "as4" / name
    if not path.is_file():
        pytest.fail(f"{path} is missing from the interop corpus")
    return path.read_bytes()


def _common_name(certificate):
    return certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


@pytest.mark.parametrize("name", RECEIPTS)
def test_signed_receipts_are_valid(interop_dir, name):
    raw = _read(interop_dir, name)
    message = as4_message_parse(raw)
    assert message.headers["content-type"].startswith("application/soap+xml")
    assert message.messaging is not None
    verdict = as4_signature_verify(message)
    assert verdict.status == "valid", verdict.problems
    assert verdict.code == "valid"
    assert verdict.signature_value_ok is True
    assert verdict.signature_algorithm == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    assert verdict.canonicalization == "http://www.w3.org/2001/10/xml-exc-c14n#"
    assert {r.target for r in verdict.references} == {"eb:Messaging", "soap:Body"}
    assert all(r.ok and r.digest_algorithm == "sha256" for r in verdict.references)
    assert verdict.token_type == TOKEN_X509V3
    assert len(verdict.chain) == 1
    assert verdict.signer.issuer.rfc4514_string().startswith("CN=PEPPOL ACCESS POINT TEST CA - G2")


def test_dataport1_is_invalid_on_the_messaging_digest(interop_dir):
    verdict = as4_verify(_read(interop_dir, "dataport1.as4in"))
    assert verdict.status == "invalid"
    assert verdict.code == "reference_failed"
    failed = verdict.failed_references
    assert [(r.target, r.reason) for r in failed] == [("eb:Messaging", "digest_mismatch")]
    assert [r.target for r in verdict.references if r.ok] == ["soap:Body"]
    # The attribute was altered after signing: SignedInfo itself still verifies.
    assert verdict.signature_value_ok is True
    assert _common_name(verdict.signer) == "PDE000357"
    details = verdict.details()
    assert details["status"] == "invalid"
    assert [r["target"] for r in details["references"] if not r["ok"]] == ["eb:Messaging"]


def test_domibus_pkipath_envelope_gives_three_certificates_leaf_last(interop_dir):
    message = as4_message_parse(
        _read(interop_dir, "domibus-bst_X509PKIPathv1_incoming_message.xml")
    )
    assert message.from_party.value == "domibus-blue"
    verdict = as4_signature_verify(message)
    assert verdict.token_type == TOKEN_PKIPATH
    assert [_common_name(c) for c in verdict.chain] == [
        "CA CERTIFICATE",
        "ICA CERTIFICATE",
        "LEAF CERTIFICATE",
    ]
    assert verdict.signer is verdict.chain[-1]
    assert chain_is_linked(verdict.chain)
    # The envelope was reformatted and its attachment is not in the file: never "valid".
    assert verdict.status == "invalid"
    assert ("attachment", "attachment_not_found") in [
        (r.target, r.reason) for r in verdict.failed_references
    ]


def test_domibus_x509v3_envelope_has_one_certificate(interop_dir):
    message = as4_message_parse(_read(interop_dir, "domibus-bst_x509v3_incoming_message.xml"))
    assert message.message_id == "8a5572f6-4f37-4d1a-8202-2deef36e44a3@domibus.eu"
    verdict = as4_signature_verify(message)
    assert verdict.token_type == TOKEN_X509V3
    assert [_common_name(c) for c in verdict.chain] == ["LEAF CERTIFICATE"]
    assert verdict.status == "invalid"


def test_phase4_encrypted_mime_dump_parses(interop_dir):
    message = as4_message_parse(_read(interop_dir, "phase4-dump-raw.as4out"))
    assert message.content_type.startswith("multipart/related")
    assert [a.content_id for a in message.attachments] == [
        "phase4-att-ff0f8ad5-f982-48ba-b8e2-26997600f496@cid"
    ]
    attachment = message.attachments[0]
    assert attachment.content_type == "application/octet-stream"
    assert attachment.content  # the ciphertext
    assert message.encrypted_content_ids == {attachment.content_id}
    assert message.from_party.value == "POP000306"
    assert message.from_party.type == "urn:fdc:peppol.eu:2017:identifiers:ap"
    verdict = as4_signature_verify(message)
    # Signed before encryption: the attachment cannot be checked without the private key.
    assert verdict.status == "invalid"
    assert [(r.target, r.reason) for r in verdict.failed_references] == [
        ("attachment", "attachment_encrypted")
    ]
    assert {r.target for r in verdict.references if r.ok} == {"eb:Messaging", "soap:Body"}
    assert verdict.signature_value_ok is True


def test_benchmark_baseline_agrees_on_the_receipts(interop_dir):
    from comptoir.b2g.as4_baseline import as4_baseline_verify

    for name in RECEIPTS:
        assert as4_baseline_verify(as4_message_parse(_read(interop_dir, name)).soap_xml)
    dataport1 = as4_message_parse(_read(interop_dir, "dataport1.as4in")).soap_xml
    assert as4_baseline_verify(dataport1) is False
