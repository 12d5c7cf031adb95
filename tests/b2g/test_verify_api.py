"""POST /api/v1/b2g/messages/verify through the real HTTP stack with a real B2G client token
(issue 6 points 3 and 7): messages signed in the test with our own keys (good and registered,
good but unregistered, tampered body, tampered attachment, wrong key, no signature), the three
ways of sending a message (XML, MIME with its Content-Type, capture), the size cap, unreadable
messages, the audit of refusals, A003; and the interop corpus (receipts valid but not
authorised, dataport1 invalid on eb:Messaging, the PKIPath chain leaf last)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from comptoir.audit.models import AuditEvent
from comptoir.b2g import authorisation, services
from comptoir.b2g.as4 import TOKEN_X509V3
from comptoir.b2g.as4_sign import (
    OutgoingAttachment,
    SignedMessage,
    as4_envelope_build,
    as4_message_sign,
)
from comptoir.b2g.models import B2GClient
from comptoir.certificates.models import Certificate, EoriIdentity
from comptoir.certificates.services import certificate_status_move
from comptoir.operators.models import Operator
from tests.factories_operators import OperatorFactory
from tests.interop.conftest import interop_dir  # noqa: F401 (the corpus fixture)

URL = "/api/v1/b2g/messages/verify"
BODY = (
    b'<dec:Declaration xmlns:dec="urn:comptoir:test"><dec:Amount>100</dec:Amount></dec:Declaration>'
)
PAYLOAD = b"\x1f\x8b\x08\x00 binary payload \x00\xff\r\n--not-a-boundary\r\n"
CID = "payload-1@comptoir.test"


# --- Keys and certificates made in the tests ----------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(subject: str, key: Any, *, issuer: tuple[x509.Certificate, Any] | None = None):
    now = datetime.now(UTC)
    issuer_name, issuer_key = (issuer[0].subject, issuer[1]) if issuer else (_name(subject), key)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


@dataclass(frozen=True)
class Keys:
    root: x509.Certificate
    rsa_key: rsa.RSAPrivateKey
    rsa_seal: x509.Certificate  # issued by root
    ec_key: ec.EllipticCurvePrivateKey
    ec_seal: x509.Certificate  # issued by root
    other_key: rsa.RSAPrivateKey  # matches no certificate


@pytest.fixture(scope="session")
def keys() -> Keys:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _issue("Verify Test Root CA", root_key)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return Keys(
        root=root,
        rsa_key=rsa_key,
        rsa_seal=_issue("RSA seal", rsa_key, issuer=(root, root_key)),
        ec_key=ec_key,
        ec_seal=_issue("EC seal", ec_key, issuer=(root, root_key)),
        other_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def sha256_of(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def register(operator: Operator, certificate: x509.Certificate) -> Certificate:
    identity, _created = EoriIdentity.objects.get_or_create(
        operator=operator, defaults={"identifier": operator.eori}
    )
    der = certificate.public_bytes(Encoding.DER)
    return Certificate.objects.create(
        identity=identity,
        name=f"Seal of {operator.name}",
        purpose=Certificate.Purpose.SEAL,
        status=Certificate.Status.ACTIVE,
        der=der,
        sha256=hashlib.sha256(der).hexdigest(),
        serial=format(certificate.serial_number, "x"),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        activated_at=timezone.now() - timedelta(days=1),
    )


def sign(
    keys: Keys,
    party_id: str,
    *,
    key: Any = None,
    certificate: x509.Certificate | None = None,
    attachments: tuple[OutgoingAttachment, ...] = (),
    token_type: str | None = None,
) -> SignedMessage:
    envelope = as4_envelope_build(from_party_id=party_id, attachments=attachments, body_xml=BODY)
    certificate = certificate or keys.rsa_seal
    extra = {"token_type": token_type} if token_type else {}
    return as4_message_sign(
        envelope=envelope,
        key=key or keys.rsa_key,
        certificates=[keys.root, certificate],
        attachments=attachments,
        **extra,
    )


# --- The world and the calls --------------------------------------------------------------------


@dataclass
class World:
    sender: Operator
    sender_certificate: Certificate
    client: B2GClient
    token: str


@pytest.fixture
def world(db, keys: Keys) -> World:
    sender = OperatorFactory(name="Sender SA")
    client, token = services.b2g_client_create(name="Access point")
    return World(
        sender=sender,
        sender_certificate=register(sender, keys.rsa_seal),
        client=client,
        token=token,
    )


def post(
    world: World,
    body: bytes,
    content_type: str = "application/soap+xml",
    *,
    token: str | None = None,
    **headers: Any,
) -> tuple[int, dict[str, Any]]:
    http = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="192.0.2.30")
    token = world.token if token is None else token
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = http.post(URL, data=body, content_type=content_type, **headers)
    return response.status_code, response.json()


def send(world: World, message: SignedMessage) -> tuple[int, dict[str, Any]]:
    return post(world, message.body, message.content_type)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("sequence"))


# --- Messages signed in the tests ---------------------------------------------------------------


def test_good_message_with_a_registered_certificate_is_authorised(world: World, keys: Keys):
    status, answer = send(world, sign(keys, world.sender.eori))
    assert status == 200, answer
    assert answer["signature"] == "valid"
    assert answer["authorised"] is True
    assert answer["code"] == "OK"
    assert answer["reason_code"] == "direct"
    assert answer["party_id"] == world.sender.eori
    assert answer["eori"] == world.sender.eori
    assert answer["certificate_eori"] == world.sender.eori
    assert answer["certificate_status"] == "active"
    assert answer["certificate_sha256"] == sha256_of(keys.rsa_seal)
    assert answer["service"] == "urn:eu:ics2:service"
    assert answer["action"] == "IE3F32"
    details = answer["details"]
    assert details["status"] == "valid"
    assert {r["target"] for r in details["references"]} == {"eb:Messaging", "soap:Body"}
    assert all(r["ok"] for r in details["references"])
    assert details["token_type"] == "X509PKIPathv1"
    # The chain as in the token, leaf last; the signer is the leaf.
    assert [c["sha256"] for c in details["chain"]] == [
        sha256_of(keys.root),
        sha256_of(keys.rsa_seal),
    ]
    assert details["signer"]["sha256"] == sha256_of(keys.rsa_seal)
    assert details["chain_linked"] is True
    # An allowed call is counted, not audited.
    assert events("b2g.message_refused") == []
    assert events("b2g.authorisation_refused") == []
    world.client.refresh_from_db()
    assert world.client.calls >= 1


def test_system_id_and_member_state_are_read_from_the_party_id(world: World, keys: Keys):
    status, answer = send(world, sign(keys, f"SYS1@{world.sender.eori}@LU"))
    assert status == 200
    assert (answer["authorised"], answer["system_id"], answer["member_state"]) == (
        True,
        "SYS1",
        "LU",
    )


def test_ecdsa_message_with_an_attachment_in_the_three_forms(world: World, keys: Keys):
    register(world.sender, keys.ec_seal)
    attachment = OutgoingAttachment(content_id=CID, content=PAYLOAD)
    message = sign(
        keys,
        world.sender.eori,
        key=keys.ec_key,
        certificate=keys.ec_seal,
        attachments=(attachment,),
    )
    assert message.content_type.startswith("multipart/related")
    sent = [
        (message.body, message.content_type),  # the package with its own Content-Type
        (message.body, "application/octet-stream"),  # a bare package: boundary on line one
        (message.capture(), "application/octet-stream"),  # headers, blank line, body
    ]
    for body, content_type in sent:
        status, answer = post(world, body, content_type)
        assert status == 200, (content_type, answer)
        assert (answer["signature"], answer["authorised"], answer["code"]) == ("valid", True, "OK")
        targets = [r["target"] for r in answer["details"]["references"]]
        assert "attachment" in " ".join(targets)
        assert answer["certificate_sha256"] == sha256_of(keys.ec_seal)


def test_x509v3_token_is_accepted(world: World, keys: Keys):
    status, answer = send(world, sign(keys, world.sender.eori, token_type=TOKEN_X509V3))
    assert (status, answer["signature"], answer["authorised"]) == (200, "valid", True)
    assert answer["details"]["token_type"] == "X509v3"


def test_good_signature_but_unregistered_certificate_is_a001(world: World, keys: Keys):
    status, answer = send(
        world, sign(keys, world.sender.eori, key=keys.ec_key, certificate=keys.ec_seal)
    )
    assert status == 200
    assert answer["signature"] == "valid"
    assert (answer["authorised"], answer["code"], answer["reason_code"]) == (
        False,
        "A001",
        "certificate_unknown",
    )
    assert answer["certificate_status"] is None
    [event] = events("b2g.authorisation_refused")
    assert event.data["reason_code"] == "certificate_unknown"
    assert event.data["certificate_sha256"] == sha256_of(keys.ec_seal)
    assert event.data["service"] == "urn:eu:ics2:service"


def test_registered_for_another_eori_is_a001(world: World, keys: Keys):
    stranger = OperatorFactory(name="Stranger GmbH")
    status, answer = send(world, sign(keys, stranger.eori))
    assert status == 200
    assert answer["signature"] == "valid"
    assert (answer["authorised"], answer["code"], answer["reason_code"]) == (
        False,
        "A001",
        "eori_mismatch",
    )
    assert answer["certificate_eori"] == world.sender.eori


def test_a_revocation_changes_the_next_answer(world: World, keys: Keys):
    message = sign(keys, world.sender.eori)
    assert send(world, message)[1]["authorised"] is True
    certificate_status_move(
        certificate=world.sender_certificate,
        target=Certificate.Status.REVOKED,
        actor=None,
        action="certificates.certificate.revoke",
        changes={"revoked_at": timezone.now(), "revocation_reason": "Key compromised"},
    )
    status, answer = send(world, message)
    assert status == 200
    assert (answer["signature"], answer["authorised"], answer["reason_code"]) == (
        "valid",
        False,
        "certificate_revoked",
    )


def _tampered_body(message: SignedMessage) -> SignedMessage:
    body = message.body.replace(b"<dec:Amount>100<", b"<dec:Amount>900<")
    assert body != message.body
    return SignedMessage(content_type=message.content_type, body=body)


def test_tampered_body_is_invalid_and_never_authorised(world: World, keys: Keys):
    status, answer = send(world, _tampered_body(sign(keys, world.sender.eori)))
    assert status == 200
    assert answer["signature"] == "invalid"
    assert (answer["authorised"], answer["code"], answer["reason_code"]) == (
        False,
        "A001",
        "signature_invalid",
    )
    assert "broken signature" in answer["reason"]
    failed = [r for r in answer["details"]["references"] if not r["ok"]]
    assert [(r["target"], r["reason"]) for r in failed] == [("soap:Body", "digest_mismatch")]
    # The certificate is registered and active: the broken signature alone refuses it, and the
    # register was not asked (no certificate status in the answer).
    assert answer["certificate_status"] is None
    assert answer["certificate_sha256"] == sha256_of(keys.rsa_seal)
    [event] = events("b2g.message_refused")
    assert event.data["reason_code"] == "signature_invalid"
    assert event.data["failed_references"][0]["target"] == "soap:Body"
    assert event.data["certificate_sha256"] == sha256_of(keys.rsa_seal)
    assert event.data["client"] == "Access point"
    assert events("b2g.authorisation_refused") == []


def test_tampered_attachment_is_invalid(world: World, keys: Keys):
    attachment = OutgoingAttachment(content_id=CID, content=PAYLOAD)
    message = sign(keys, world.sender.eori, attachments=(attachment,))
    body = message.body.replace(b"binary payload", b"binary PAYLOAD")
    assert body != message.body
    status, answer = post(world, body, message.content_type)
    assert status == 200
    assert (answer["signature"], answer["authorised"], answer["reason_code"]) == (
        "invalid",
        False,
        "signature_invalid",
    )
    failed = [r for r in answer["details"]["references"] if not r["ok"]]
    assert [r["uri"] for r in failed] == [f"cid:{CID}"]
    assert failed[0]["reason"] == "digest_mismatch"


def test_wrong_key_is_invalid(world: World, keys: Keys):
    status, answer = send(world, sign(keys, world.sender.eori, key=keys.other_key))
    assert status == 200
    assert (answer["signature"], answer["authorised"], answer["code"]) == (
        "invalid",
        False,
        "A001",
    )
    assert answer["details"]["code"] == "signature_value_invalid"
    assert answer["details"]["signature_value_ok"] is False
    assert all(r["ok"] for r in answer["details"]["references"])


def test_unsigned_message_is_absent_and_not_authorised(world: World, keys: Keys):
    from lxml import etree

    envelope = as4_envelope_build(from_party_id=world.sender.eori, body_xml=BODY)
    status, answer = post(world, etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))
    assert status == 200
    assert answer["signature"] == "absent"
    assert (answer["authorised"], answer["code"], answer["reason_code"]) == (
        False,
        "A001",
        "signature_absent",
    )
    assert answer["party_id"] == world.sender.eori
    assert answer["certificate_sha256"] is None
    [event] = events("b2g.message_refused")
    assert event.data["reason_code"] == "signature_absent"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "empty"),
        (b"<not-closed>", "xml"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', "doctype"),
        (b"<a/>", "not_soap"),
    ],
)
def test_unreadable_message_is_400_with_a_code(world: World, body: bytes, code: str):
    status, answer = post(world, body)
    assert status == 400
    assert answer["code"] == code
    assert answer["detail"]
    [event] = events("b2g.message_refused")
    assert (event.data["code"], event.data["reason_code"]) == ("unreadable", code)


def test_a_message_above_the_cap_is_413_and_not_read(world: World, keys: Keys, settings):
    message = sign(keys, world.sender.eori)
    settings.COMPTOIR_B2G_MESSAGE_MAX_BYTES = len(message.body) - 1
    status, answer = send(world, message)
    assert status == 413
    assert answer["code"] == "message_too_large"
    assert str(len(message.body) - 1) in answer["detail"]
    settings.COMPTOIR_B2G_MESSAGE_MAX_BYTES = len(message.body)
    assert send(world, message)[0] == 200


def test_a_message_larger_than_the_form_upload_limit_is_accepted(
    world: World, keys: Keys, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    attachment = OutgoingAttachment(content_id=CID, content=b"x" * 3_000_000)
    message = sign(keys, world.sender.eori, attachments=(attachment,))
    status, answer = send(world, message)
    assert status == 200, answer
    assert answer["authorised"] is True


def test_without_a_token_401_and_nothing_checked(world: World, keys: Keys):
    status, answer = post(world, sign(keys, world.sender.eori).body, token="")
    assert status == 401
    assert answer["code"]
    assert events("b2g.message_refused") == []
    status, answer = post(world, sign(keys, world.sender.eori).body, token="nope")
    assert status == 401


def test_a_disabled_client_gets_401(world: World, keys: Keys):
    B2GClient.objects.filter(pk=world.client.pk).update(enabled=False)
    status, _answer = send(world, sign(keys, world.sender.eori))
    assert status == 401


def _database_down(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("connection refused")


def test_register_unavailable_is_503_a003(world: World, keys: Keys, monkeypatch):
    monkeypatch.setattr(authorisation, "_registrations", _database_down)
    status, answer = send(world, sign(keys, world.sender.eori))
    assert status == 503
    assert (answer["signature"], answer["authorised"], answer["code"]) == ("valid", False, "A003")


def test_database_down_during_authentication_is_503_a003_and_nothing_checked(
    world: World, keys: Keys, monkeypatch
):
    monkeypatch.setattr(services, "b2g_client_check", _database_down)
    status, answer = send(world, sign(keys, world.sender.eori))
    assert status == 503
    assert (answer["signature"], answer["authorised"], answer["code"]) == (None, False, "A003")
    assert answer["details"] is None


def _signed_without_sender(keys: Keys) -> SignedMessage:
    from comptoir.b2g.as4 import NS_EB

    envelope = as4_envelope_build(from_party_id="FR552100554", body_xml=BODY)
    from_ = envelope.find(f".//{{{NS_EB}}}From")
    from_.getparent().remove(from_)
    return as4_message_sign(
        envelope=envelope, key=keys.rsa_key, certificates=[keys.root, keys.rsa_seal]
    )


def test_signed_message_without_sender_is_a002_with_the_certificate_status(
    world: World, keys: Keys
):
    status, answer = send(world, _signed_without_sender(keys))
    assert status == 200
    assert (answer["signature"], answer["authorised"], answer["code"]) == ("valid", False, "A002")
    assert answer["reason_code"] == "party_missing"
    assert (answer["certificate_status"], answer["certificate_eori"]) == (
        "active",
        world.sender.eori,
    )
    [event] = events("b2g.message_refused")
    assert event.data["reason_code"] == "party_missing"


def test_message_without_sender_when_the_register_is_down_is_503_a003(
    world: World, keys: Keys, monkeypatch
):
    from comptoir.b2g import verify_api

    monkeypatch.setattr(verify_api, "_registration", _database_down)
    status, answer = send(world, _signed_without_sender(keys))
    assert status == 503
    assert (answer["signature"], answer["authorised"], answer["code"]) == ("valid", False, "A003")
    assert events("b2g.message_refused") == []


def test_accept_language_changes_no_code_and_english_is_the_default(world: World, keys: Keys):
    message = _tampered_body(sign(keys, world.sender.eori))
    http = Client(HTTP_ACCEPT_LANGUAGE="fr", REMOTE_ADDR="192.0.2.30")
    response = http.post(
        URL,
        data=message.body,
        content_type=message.content_type,
        HTTP_AUTHORIZATION=f"Bearer {world.token}",
    )
    assert response.status_code == 200
    english = send(world, message)[1]["reason"]
    assert response.json()["reason_code"] == "signature_invalid"
    assert english.startswith("The signature")


# --- The interop corpus -------------------------------------------------------------------------

RECEIPTS = ["governikus.as4in", "helger.as4in", "dataport1-mustunderstand.as4in"]


def _corpus(directory: Any, name: str) -> bytes:
    path = directory / "as4" / name
    if not path.is_file():
        pytest.fail(f"{path} is missing from the interop corpus")
    return path.read_bytes()


@pytest.mark.interop
@pytest.mark.parametrize("name", RECEIPTS)
def test_interop_receipts_are_valid_but_not_authorised(world: World, interop_dir, name):  # noqa: F811
    status, answer = post(world, _corpus(interop_dir, name), "application/octet-stream")
    assert status == 200, answer
    assert answer["signature"] == "valid"
    assert answer["authorised"] is False
    # A receipt names no sender (no eb:UserMessage/eb:PartyInfo/eb:From) and its certificate is
    # not registered here.
    assert (answer["code"], answer["reason_code"]) == ("A002", "party_missing")
    assert answer["party_id"] is None
    assert answer["certificate_status"] is None
    assert answer["certificate_sha256"] == answer["details"]["signer"]["sha256"]
    assert answer["details"]["token_type"] == "X509v3"


@pytest.mark.interop
def test_interop_receipt_with_a_registered_certificate_still_needs_a_sender(
    world: World,
    interop_dir,  # noqa: F811
):
    raw = _corpus(interop_dir, "helger.as4in")
    first = post(world, raw, "application/octet-stream")[1]
    identity = world.sender_certificate.identity
    Certificate.objects.create(
        identity=identity,
        name="Helger AP",
        purpose=Certificate.Purpose.SEAL,
        status=Certificate.Status.ACTIVE,
        sha256=first["certificate_sha256"],
    )
    status, answer = post(world, raw, "application/octet-stream")
    assert status == 200
    assert (answer["authorised"], answer["code"], answer["certificate_status"]) == (
        False,
        "A002",
        "active",
    )
    assert answer["certificate_eori"] == world.sender.eori


@pytest.mark.interop
def test_interop_dataport1_is_invalid_on_the_messaging_reference(world: World, interop_dir):  # noqa: F811
    status, answer = post(world, _corpus(interop_dir, "dataport1.as4in"), "text/plain")
    assert status == 200
    assert answer["signature"] == "invalid"
    assert (answer["authorised"], answer["code"], answer["reason_code"]) == (
        False,
        "A001",
        "signature_invalid",
    )
    failed = [r for r in answer["details"]["references"] if not r["ok"]]
    assert [(r["target"], r["reason"]) for r in failed] == [("eb:Messaging", "digest_mismatch")]
    assert answer["details"]["signature_value_ok"] is True
    [event] = events("b2g.message_refused")
    assert event.data["failed_references"][0]["target"] == "eb:Messaging"


@pytest.mark.interop
def test_interop_pkipath_envelope_gives_three_certificates_leaf_last(world: World, interop_dir):  # noqa: F811
    raw = _corpus(interop_dir, "domibus-bst_X509PKIPathv1_incoming_message.xml")
    status, answer = post(world, raw, "application/soap+xml")
    assert status == 200
    chain = answer["details"]["chain"]
    assert [c["subject"].split(",")[0] for c in chain] == [
        "CN=CA CERTIFICATE",
        "CN=ICA CERTIFICATE",
        "CN=LEAF CERTIFICATE",
    ]
    assert answer["details"]["signer"] == chain[-1]
    assert answer["authorised"] is False
