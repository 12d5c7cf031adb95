"""AS4 message parsing and WS-Security signature verification, on messages signed in the test with
our own keys: good, tampered body, tampered attachment, wrong key, no signature, PKIPath chain,
ECDSA, and the parser's refusals."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from comptoir.b2g.as4 import (
    C14N_EXCLUSIVE,
    NS_DS,
    TOKEN_PKIPATH,
    TOKEN_X509V3,
    As4ParseError,
    as4_message_parse,
    as4_signature_verify,
    as4_verify,
    canonicalise,
    pkipath_certificates,
)
from comptoir.b2g.as4_sign import (
    OutgoingAttachment,
    as4_envelope_build,
    as4_message_sign,
    as4_mime_package,
    pkipath_encode,
)
from comptoir.b2g.party import PARTY_ID_TYPE_EORI, party_id_parse

PARTY = "SYS1@FR552100554@LU"
PAYLOAD = b"\x1f\x8b\x08\x00 gzip-like payload \x00\xff\r\n--not-a-boundary\r\n"
CID = "payload-1@comptoir.test"
BODY = (
    b'<dec:Declaration xmlns:dec="urn:comptoir:test"><dec:Amount>100</dec:Amount></dec:Declaration>'
)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject_key, subject: str, issuer_key, issuer: str, *, ca: bool):
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def _chain(leaf_key):
    """Root, intermediate, leaf (leaf last, as ICS2 orders the PkiPath)."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    ica_key = ec.generate_private_key(ec.SECP256R1())
    root = _certificate(root_key, "Test Root CA", root_key, "Test Root CA", ca=True)
    ica = _certificate(ica_key, "Test Issuing CA", root_key, "Test Root CA", ca=True)
    leaf = _certificate(leaf_key, "AP FR552100554", ica_key, "Test Issuing CA", ca=False)
    return [root, ica, leaf]


@pytest.fixture(scope="module")
def rsa_signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, _chain(key)


@pytest.fixture(scope="module")
def ec_signer():
    key = ec.generate_private_key(ec.SECP256R1())
    return key, _chain(key)


@pytest.fixture(scope="module")
def other_signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key, _chain(key)


def _signed(signer, *, attachments=None, token_type=TOKEN_PKIPATH, certificates=None):
    key, chain = signer
    if attachments is None:
        attachments = [OutgoingAttachment(content_id=CID, content=PAYLOAD)]
    envelope = as4_envelope_build(from_party_id=PARTY, attachments=attachments, body_xml=BODY)
    return as4_message_sign(
        envelope=envelope,
        key=key,
        certificates=certificates or chain,
        attachments=attachments,
        token_type=token_type,
    )


def _failed(verdict):
    return [(r.target, r.reason) for r in verdict.references if not r.ok]


# --- Good messages ------------------------------------------------------------------------------


def test_good_rsa_message_with_attachment_is_valid(rsa_signer):
    signed = _signed(rsa_signer)
    assert signed.content_type.startswith("multipart/related")
    verdict = as4_verify(signed.capture())
    assert verdict.status == "valid", verdict.problems
    assert verdict.code == "valid"
    assert verdict.signature_value_ok is True
    assert verdict.signature_algorithm == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    assert verdict.canonicalization == C14N_EXCLUSIVE
    assert [(r.target, r.ok) for r in verdict.references] == [
        ("eb:Messaging", True),
        ("soap:Body", True),
        ("attachment", True),
    ]
    assert verdict.references[2].uri == f"cid:{CID}"
    assert verdict.from_party.value == PARTY
    assert verdict.from_party.type == PARTY_ID_TYPE_EORI
    assert party_id_parse(verdict.from_party.value, verdict.from_party.type).eori == "FR552100554"
    details = verdict.details()
    json.dumps(details)  # JSON-ready
    assert details["signer"]["subject"] == "CN=AP FR552100554"
    assert details["chain_linked"] is True


def test_mime_package_without_headers_and_xml_without_attachment(rsa_signer):
    signed = _signed(rsa_signer)
    assert as4_verify(signed.body).status == "valid"  # boundary taken from the first line
    plain = _signed(rsa_signer, attachments=[])
    assert plain.body.startswith(b"<?xml")
    assert as4_verify(plain.body).status == "valid"
    assert as4_verify(plain.capture()).status == "valid"


def test_http_request_capture_with_chunked_body(rsa_signer):
    signed = _signed(rsa_signer)
    chunks = b"".join(
        f"{len(signed.body[i : i + 500]):x}\r\n".encode() + signed.body[i : i + 500] + b"\r\n"
        for i in range(0, len(signed.body), 500)
    )
    raw = (
        b"POST /as4 HTTP/1.1\r\nHost: ap.example.test\r\nTransfer-Encoding: chunked\r\n"
        + f"Content-Type: {signed.content_type}\r\n\r\n".encode()
        + chunks
        + b"0\r\n\r\n"
    )
    message = as4_message_parse(raw)
    assert message.headers["host"] == "ap.example.test"
    assert message.attachment(CID).content == PAYLOAD
    assert as4_signature_verify(message).status == "valid"


def test_pkipath_token_gives_the_chain_leaf_last(rsa_signer):
    _key, chain = rsa_signer
    verdict = as4_verify(_signed(rsa_signer).capture())
    assert verdict.token_type == TOKEN_PKIPATH
    assert [c.subject for c in verdict.chain] == [c.subject for c in chain]
    assert verdict.signer.subject == _name("AP FR552100554")
    assert verdict.chain[-1] == chain[-1]
    assert pkipath_certificates(pkipath_encode(chain)) == tuple(chain)


def test_x509v3_token_gives_one_certificate(rsa_signer):
    verdict = as4_verify(_signed(rsa_signer, token_type=TOKEN_X509V3).capture())
    assert verdict.status == "valid"
    assert verdict.token_type == TOKEN_X509V3
    assert verdict.chain == (rsa_signer[1][-1],)


@pytest.mark.parametrize("curve", [ec.SECP256R1(), ec.SECP384R1()], ids=["P-256", "P-384"])
def test_good_ecdsa_message_is_valid(curve):
    key = ec.generate_private_key(curve)
    verdict = as4_verify(_signed((key, _chain(key))).capture())
    assert verdict.status == "valid", verdict.problems
    expected = "sha256" if curve.key_size == 256 else "sha384"
    assert verdict.signature_algorithm.endswith(f"#ecdsa-{expected}")


def test_good_ed25519_message_is_valid():
    key = ed25519.Ed25519PrivateKey.generate()
    verdict = as4_verify(_signed((key, _chain(key))).capture())
    assert verdict.status == "valid", verdict.problems
    assert verdict.signature_algorithm.endswith("#eddsa-ed25519")


def test_text_and_xml_attachments_are_canonicalised(rsa_signer):
    attachments = [
        OutgoingAttachment(
            content_id="text@t", content=b"line 1\nline 2\n", content_type="text/plain"
        ),
        OutgoingAttachment(
            content_id="xml@t",
            content=b"<?xml version='1.0'?><a  b='1'><c/></a>",
            content_type="application/xml",
        ),
    ]
    signed = _signed(rsa_signer, attachments=attachments)
    assert as4_verify(signed.body).status == "valid"
    # Equivalent forms (CRLF line ends, XML with the same canonical form) still verify ...
    same = signed.body.replace(b"line 1\nline 2\n", b"line 1\r\nline 2\r\n").replace(
        b"<a  b='1'><c/></a>", b'<a b="1"><c></c></a>'
    )
    assert same != signed.body
    assert as4_verify(same).status == "valid"
    # ... a changed one does not.
    changed = signed.body.replace(b"<c/>", b"<d/>")
    verdict = as4_verify(changed)
    assert verdict.status == "invalid"
    assert [r.uri for r in verdict.failed_references] == ["cid:xml@t"]


def test_base64_transfer_encoded_attachment(rsa_signer):
    signed = _signed(rsa_signer)
    xml = as4_message_parse(signed.body).soap_xml
    boundary = "b64-boundary"
    body = (
        f"--{boundary}\r\nContent-Type: application/soap+xml\r\n\r\n".encode()
        + xml
        + f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n".encode()
        + f"Content-Transfer-Encoding: base64\r\nContent-ID: <{CID}>\r\n\r\n".encode()
        + base64.encodebytes(PAYLOAD)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    raw = f'Content-Type: multipart/related; boundary="{boundary}"\r\n\r\n'.encode() + body
    assert as4_verify(raw).status == "valid"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_signature_value_also_verifies_with_openssl(rsa_signer, tmp_path):
    """A second, independent check of the signature value (OpenSSL instead of cryptography)."""
    message = as4_message_parse(_signed(rsa_signer).capture())
    signature = message.envelope.find(f".//{{{NS_DS}}}Signature")
    signed_info = signature.find(f"{{{NS_DS}}}SignedInfo")
    (tmp_path / "signed-info").write_bytes(canonicalise(signed_info, C14N_EXCLUSIVE, ["S12"]))
    (tmp_path / "signature").write_bytes(
        base64.b64decode(signature.findtext(f"{{{NS_DS}}}SignatureValue"))
    )
    (tmp_path / "key.pem").write_bytes(
        rsa_signer[0]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-verify", "key.pem", "-signature", "signature",
         "signed-info"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.stdout.strip() == "Verified OK", result.stderr


# --- Broken messages ----------------------------------------------------------------------------


def test_tampered_body_is_invalid_on_the_body_reference(rsa_signer):
    raw = _signed(rsa_signer).capture()
    tampered = raw.replace(b"<dec:Amount>100<", b"<dec:Amount>900<")
    assert tampered != raw
    verdict = as4_verify(tampered)
    assert verdict.status == "invalid"
    assert verdict.code == "reference_failed"
    assert _failed(verdict) == [("soap:Body", "digest_mismatch")]
    assert verdict.signature_value_ok is True  # SignedInfo itself is intact


def test_tampered_attachment_is_invalid_on_the_cid_reference(rsa_signer):
    raw = _signed(rsa_signer).capture()
    tampered = raw.replace(b"gzip-like payload", b"gzip-like PAYLOAD")
    assert tampered != raw
    verdict = as4_verify(tampered)
    assert verdict.status == "invalid"
    assert verdict.code == "reference_failed"
    assert [(r.uri, r.reason) for r in verdict.failed_references] == [
        (f"cid:{CID}", "digest_mismatch")
    ]


def test_tampered_party_id_is_invalid_on_the_messaging_reference(rsa_signer):
    raw = _signed(rsa_signer).capture()
    tampered = raw.replace(b"SYS1@FR552100554@LU", b"SYS1@LU15027442@LU")
    verdict = as4_verify(tampered)
    assert verdict.status == "invalid"
    assert _failed(verdict) == [("eb:Messaging", "digest_mismatch")]
    assert verdict.from_party.value == "SYS1@LU15027442@LU"  # reported, but not trusted


def test_wrong_key_is_an_invalid_signature_value(rsa_signer, other_signer):
    # Signed with our key, but the token carries another party's certificate chain.
    signed = _signed(rsa_signer, certificates=other_signer[1])
    verdict = as4_verify(signed.capture())
    assert verdict.status == "invalid"
    assert verdict.code == "signature_value_invalid"
    assert verdict.signature_value_ok is False
    assert all(r.ok for r in verdict.references)
    assert verdict.signer == other_signer[1][-1]


def test_key_of_another_type_is_a_key_mismatch(rsa_signer, ec_signer):
    verdict = as4_verify(_signed(rsa_signer, certificates=ec_signer[1]).capture())
    assert verdict.status == "invalid"
    assert verdict.code == "key_mismatch"


def test_ecdsa_signature_value_altered(ec_signer):
    message = as4_message_parse(_signed(ec_signer).capture())
    value = message.envelope.find(f".//{{{NS_DS}}}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[-1] ^= 0x01
    value.text = base64.b64encode(bytes(raw)).decode()
    verdict = as4_signature_verify(message)
    assert verdict.status == "invalid"
    assert verdict.code == "signature_value_invalid"


def test_no_signature_is_absent(rsa_signer):
    envelope = as4_envelope_build(from_party_id=PARTY, body_xml=BODY)
    xml = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    verdict = as4_verify(xml)
    assert verdict.status == "absent"
    assert verdict.code == "absent"
    assert verdict.from_party.value == PARTY
    # Without any security header at all
    header = envelope[0]
    header.remove(header[0])
    assert as4_verify(etree.tostring(envelope)).status == "absent"


def test_unsigned_extra_attachment_is_not_covered(rsa_signer):
    signed = _signed(rsa_signer)
    message = as4_message_parse(signed.body)
    repackaged = as4_mime_package(
        message.soap_xml,
        [
            OutgoingAttachment(content_id=CID, content=PAYLOAD),
            OutgoingAttachment(content_id="smuggled@x", content=b"unsigned"),
        ],
    )
    verdict = as4_verify(repackaged.capture())
    assert verdict.status == "invalid"
    assert verdict.code == "not_covered"
    assert "not_covered:cid:smuggled@x" in verdict.problems


def test_missing_attachment_is_invalid(rsa_signer):
    signed = _signed(rsa_signer)
    xml = as4_message_parse(signed.body).soap_xml
    verdict = as4_verify(xml)
    assert verdict.status == "invalid"
    assert _failed(verdict) == [("attachment", "attachment_not_found")]


def test_duplicate_id_wrapping_attack_is_invalid(rsa_signer):
    """A second element with the id of the signed eb:Messaging (signature wrapping)."""
    message = as4_message_parse(_signed(rsa_signer, attachments=[]).body)
    messaging = message.messaging
    wrapper = etree.SubElement(message.header, "{urn:evil}Wrapper")
    wrapper.append(etree.fromstring(etree.tostring(messaging)))
    verdict = as4_signature_verify(message)
    assert verdict.status == "invalid"
    assert ("eb:Messaging", "duplicate_id") not in _failed(verdict)
    assert any(r.reason == "duplicate_id" for r in verdict.references)


def test_messaging_not_signed_is_not_covered(rsa_signer):
    """The signed eb:Messaging moved away and an unsigned one put in its place."""
    message = as4_message_parse(_signed(rsa_signer, attachments=[]).body)
    raw = etree.tostring(message.envelope)
    original = message.messaging
    forged = etree.fromstring(etree.tostring(original))
    forged.attrib.clear()
    header = message.header
    header.replace(original, forged)
    wrapper = etree.SubElement(message.body, "{urn:evil}Hidden")
    wrapper.append(original)
    assert etree.tostring(message.envelope) != raw
    reparsed = as4_message_parse(etree.tostring(message.envelope))
    verdict = as4_signature_verify(reparsed)
    assert verdict.status == "invalid"
    assert "not_covered:eb:Messaging" in verdict.problems


# --- Parsing refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty"),
        (b"  \r\n", "empty"),
        (b"Content-Type: text/xml\r\n", "headers"),
        (b"Content-Type: text/xml\r\nnot a header\r\n\r\n<a/>", "headers"),
        (b"<a><b></a>", "xml"),
        (b"<a/>", "not_soap"),
        (b'<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope"/>', "soap_structure"),
        (
            b'<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope">'
            b"<S:Header/><S:Body/><S:Body/></S:Envelope>",
            "soap_structure",
        ),
        (
            b'<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope">'
            b"<S:Body/><S:Header/></S:Envelope>",
            "soap_structure",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>'
            b'<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope">&e;</S:Envelope>',
            "doctype",
        ),
        (
            b'<!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>',
            "doctype",
        ),
        (
            b'Content-Type: multipart/related; boundary="b"\r\n\r\n--b\r\n\r\n<a/>\r\n',
            "mime",
        ),
        (b'Content-Type: multipart/related; boundary="b"\r\n\r\nno parts', "mime"),
        (
            b'Content-Type: multipart/related; boundary="b"; start="<nope>"\r\n\r\n'
            b"--b\r\nContent-ID: <x>\r\n\r\n<a/>\r\n--b--\r\n",
            "mime",
        ),
        (
            b'Content-Type: multipart/related; boundary="b"\r\n\r\n--b\r\n\r\n'
            b'<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope"/>\r\n'
            b"--b\r\nContent-ID: <x>\r\n\r\n1\r\n--b\r\nContent-ID: <x>\r\n\r\n2\r\n--b--\r\n",
            "mime",
        ),
    ],
)
def test_unreadable_messages_are_refused(raw, code):
    with pytest.raises(As4ParseError) as excinfo:
        as4_message_parse(raw)
    assert excinfo.value.code == code
    assert "%(" not in excinfo.value.message


def test_pkipath_garbage_is_refused():
    for der in (b"", b"\x04\x00", b"\x30\x03\x02\x01\x01", b"\x30\x05\x30\x03\x02\x01"):
        with pytest.raises(ValueError):
            pkipath_certificates(der)


# --- Other reference forms (SignedInfo edited, then signed again with the same key) -------------


def _resign(message, key):
    signature = message.envelope.find(f".//{{{NS_DS}}}Signature")
    signed_info = signature.find(f"{{{NS_DS}}}SignedInfo")
    data = canonicalise(signed_info, C14N_EXCLUSIVE, ["S12"])
    value = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    signature.find(f"{{{NS_DS}}}SignatureValue").text = base64.b64encode(value).decode()
    return as4_message_parse(etree.tostring(message.envelope))


def _add_reference(message, uri, transforms, digest_uri, digest=b"\0" * 32):
    signed_info = message.envelope.find(f".//{{{NS_DS}}}SignedInfo")
    reference = etree.SubElement(signed_info, f"{{{NS_DS}}}Reference", URI=uri)
    container = etree.SubElement(reference, f"{{{NS_DS}}}Transforms")
    for algorithm in transforms:
        etree.SubElement(container, f"{{{NS_DS}}}Transform", Algorithm=algorithm)
    etree.SubElement(reference, f"{{{NS_DS}}}DigestMethod", Algorithm=digest_uri)
    etree.SubElement(reference, f"{{{NS_DS}}}DigestValue").text = base64.b64encode(digest).decode()
    return reference


def test_enveloped_whole_document_reference_with_sha512(rsa_signer):
    key = rsa_signer[0]
    message = as4_message_parse(_signed(rsa_signer, attachments=[]).body)
    # The digest of the whole envelope without the signature, computed on a copy.
    copy = etree.fromstring(etree.tostring(message.envelope))
    signature = copy.find(f".//{{{NS_DS}}}Signature")
    signature.getparent().remove(signature)
    digest = hashlib.sha512(canonicalise(copy, C14N_EXCLUSIVE)).digest()
    _add_reference(
        message,
        "",
        ["http://www.w3.org/2000/09/xmldsig#enveloped-signature", C14N_EXCLUSIVE],
        "http://www.w3.org/2001/04/xmlenc#sha512",
        digest,
    )
    resigned = _resign(message, key)
    verdict = as4_signature_verify(resigned)
    assert verdict.status == "valid", verdict.problems
    assert (verdict.references[-1].target, verdict.references[-1].digest_algorithm) == (
        "Envelope",
        "sha512",
    )
    tampered = as4_verify(etree.tostring(resigned.envelope).replace(b">100<", b">101<"))
    assert {r.target for r in tampered.failed_references} == {"soap:Body", "Envelope"}


def test_unsupported_reference_forms_are_never_valid(rsa_signer):
    key = rsa_signer[0]
    message = as4_message_parse(_signed(rsa_signer).body)
    sha256 = "http://www.w3.org/2001/04/xmlenc#sha256"
    _add_reference(message, "http://example.invalid/x", [], sha256)
    _add_reference(
        message,
        f"cid:{CID}",
        [
            "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#Attachment-Complete-Signature-Transform"
        ],
        sha256,
    )
    _add_reference(message, "#nope", [C14N_EXCLUSIVE], sha256)
    _add_reference(message, f"cid:{CID}", [C14N_EXCLUSIVE], "urn:unknown-digest")
    resigned = _resign(message, key)
    resigned.attachments = as4_message_parse(_signed(rsa_signer).body).attachments
    verdict = as4_signature_verify(resigned)
    assert verdict.status == "invalid"
    assert verdict.signature_value_ok is True
    assert [(r.uri, r.reason) for r in verdict.failed_references] == [
        ("http://example.invalid/x", "external_reference"),
        (f"cid:{CID}", "unsupported_transform:Attachment-Complete-Signature-Transform"),
        ("#nope", "not_found"),
        (f"cid:{CID}", "unsupported_digest"),
    ]


def test_weak_rsa_key_is_refused():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    verdict = as4_verify(_signed((key, _chain(key))).capture())
    assert verdict.status == "invalid"
    assert verdict.code == "weak_key"
    assert "weak_key:rsa-1024" in verdict.problems


# --- Damaged input ------------------------------------------------------------------------------


def test_truncated_messages_are_never_valid_and_never_crash(rsa_signer):
    raw = _signed(rsa_signer).capture()
    for length in range(0, len(raw) - 2, 3):
        try:
            verdict = as4_verify(raw[:length])
        except As4ParseError:
            continue
        assert verdict.status != "valid", length


def test_bit_flips_in_signed_parts_are_never_valid(rsa_signer):
    raw = _signed(rsa_signer).capture()
    regions = [
        (raw.index(b"<eb:Messaging"), raw.index(b"</eb:Messaging>") + 15),
        (raw.index(b"<S12:Body"), raw.index(b"</S12:Body>") + 11),
        (raw.index(PAYLOAD), raw.index(PAYLOAD) + len(PAYLOAD)),
    ]
    generator = random.Random(20261206)
    for _ in range(300):
        start, end = generator.choice(regions)
        position = generator.randrange(start, end)
        damaged = bytearray(raw)
        damaged[position] ^= 1 << generator.randrange(8)
        try:
            verdict = as4_verify(bytes(damaged))
        except As4ParseError:
            continue
        assert verdict.status == "invalid", (position, raw[position - 20 : position + 20])


def test_random_bit_flips_never_crash(rsa_signer):
    raw = _signed(rsa_signer).capture()
    generator = random.Random(6)
    for _ in range(300):
        damaged = bytearray(raw)
        damaged[generator.randrange(len(raw))] ^= 1 << generator.randrange(8)
        with contextlib.suppress(As4ParseError):
            as4_verify(bytes(damaged)).details()


@pytest.mark.parametrize("size", [b"-5", b"x", b"", b"1_0"])
def test_bad_chunk_sizes_are_refused(size):
    raw = (
        b"Transfer-Encoding: chunked\r\nContent-Type: text/xml\r\n\r\n"
        + size
        + b"\r\nabc\r\n0\r\n\r\n"
    )
    with pytest.raises(As4ParseError) as excinfo:
        as4_message_parse(raw)
    assert excinfo.value.code == "headers"


# --- Key information ----------------------------------------------------------------------------


def _key_info(message):
    return message.envelope.find(f".//{{{NS_DS}}}KeyInfo")


def test_certificate_in_x509data(rsa_signer):
    message = as4_message_parse(_signed(rsa_signer).capture())
    key_info = _key_info(message)
    for child in list(key_info):
        key_info.remove(child)
    data = etree.SubElement(key_info, f"{{{NS_DS}}}X509Data")
    der = rsa_signer[1][-1].public_bytes(serialization.Encoding.DER)
    etree.SubElement(data, f"{{{NS_DS}}}X509Certificate").text = base64.b64encode(der).decode()
    verdict = as4_signature_verify(message)
    assert verdict.status == "valid", verdict.problems
    assert verdict.token_type == "X509Data"
    assert verdict.chain == (rsa_signer[1][-1],)


def test_missing_or_unusable_token(rsa_signer):
    message = as4_message_parse(_signed(rsa_signer).capture())
    key_info = _key_info(message)
    key_info.getparent().remove(key_info)
    verdict = as4_signature_verify(message)
    assert (verdict.status, verdict.code) == ("invalid", "token_missing")
    assert verdict.signature_value_ok is None

    message = as4_message_parse(_signed(rsa_signer).capture())
    token = message.envelope.find(".//{*}BinarySecurityToken")
    token.set("ValueType", token.get("ValueType").replace("#X509PKIPathv1", "#PKCS7"))
    assert as4_signature_verify(message).code == "unsupported_algorithm"

    message = as4_message_parse(_signed(rsa_signer).capture())
    token = message.envelope.find(".//{*}BinarySecurityToken")
    token.text = base64.b64encode(b"\x30\x03\x02\x01\x01").decode()
    assert as4_signature_verify(message).code == "token_malformed"
