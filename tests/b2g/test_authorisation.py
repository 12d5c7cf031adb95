"""POST /api/v1/b2g/authorisations: the rules of issue 6 point 2 as a table, through the real
HTTP stack with a real B2G client token; the immediate effect of a revocation, an expiry and an
ended mandate (point 4); the audit of refusals; the read-only decision path; A003 when the
database cannot be reached (in-process here, for real in test_authorisation_outage.py)."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from django.db import OperationalError, connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from comptoir.audit.models import AuditEvent
from comptoir.audit.services import audit_verify
from comptoir.b2g import authorisation, services
from comptoir.b2g.authorisation import authorisation_decide
from comptoir.b2g.models import B2GClient
from comptoir.b2g.party import PARTY_ID_TYPE_EORI
from comptoir.certificates.models import Certificate, EoriIdentity
from comptoir.certificates.services import certificate_status_move
from comptoir.operators.mandates import mandate_end
from comptoir.operators.models import Mandate, Operator, Position
from tests.factories import UserFactory
from tests.factories_operators import OperatorFactory, member

URL = "/api/v1/b2g/authorisations"

# --- Certificates made in the tests -------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    ca: bool = False,
) -> x509.Certificate:
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
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def der_of(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


def pem_of(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode()


def b64_of(certificate: x509.Certificate) -> str:
    return base64.b64encode(der_of(certificate)).decode()


def sha256_of(certificate: x509.Certificate) -> str:
    return hashlib.sha256(der_of(certificate)).hexdigest()


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def pkipath_b64(*certificates: x509.Certificate) -> str:
    """An X509PKIPathv1 token value: base64 of the DER SEQUENCE OF Certificate, in the order
    given (ICS2: the root first, the sealing certificate last)."""
    body = b"".join(der_of(c) for c in certificates)
    return base64.b64encode(b"\x30" + _der_length(len(body)) + body).decode()


@dataclass(frozen=True)
class Chain:
    root: x509.Certificate
    intermediate: x509.Certificate
    principal: x509.Certificate  # the principal's own sealing certificate
    provider: x509.Certificate  # the service provider's sealing certificate
    unknown: x509.Certificate  # never registered


@pytest.fixture(scope="session")
def chain() -> Chain:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _issue("Test Root CA", root_key, ca=True)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    intermediate = _issue("Test Seal CA", inter_key, issuer=(root, root_key), ca=True)

    def leaf(name: str) -> x509.Certificate:
        return _issue(
            name, ec.generate_private_key(ec.SECP256R1()), issuer=(intermediate, inter_key)
        )

    return Chain(
        root=root,
        intermediate=intermediate,
        principal=leaf("Principal seal"),
        provider=leaf("Provider seal"),
        unknown=leaf("Unknown seal"),
    )


# --- Register rows (made directly: the registration wizard is not under test) -----------------


def register(
    operator: Operator,
    certificate: x509.Certificate,
    *,
    status: str = Certificate.Status.ACTIVE,
    not_after: datetime | None = None,
) -> Certificate:
    identity, _created = EoriIdentity.objects.get_or_create(
        operator=operator, defaults={"identifier": operator.eori}
    )
    der = der_of(certificate)
    return Certificate.objects.create(
        identity=identity,
        name=f"Seal of {operator.name}",
        purpose=Certificate.Purpose.SEAL,
        status=status,
        der=der,
        sha256=hashlib.sha256(der).hexdigest(),
        serial=format(certificate.serial_number, "x"),
        not_before=certificate.not_valid_before_utc,
        not_after=not_after or certificate.not_valid_after_utc,
        activated_at=timezone.now() - timedelta(days=1),
    )


def mandate(
    principal: Operator,
    provider: Operator,
    *,
    scope: str = Mandate.Scope.ICS2_FILING,
    status: str = Mandate.Status.ACCEPTED,
    days_from: int = -10,
    days_until: int | None = None,
) -> Mandate:
    today = timezone.localdate()
    person = UserFactory()
    return Mandate.objects.create(
        principal=principal,
        provider=provider,
        scope=scope,
        status=status,
        valid_from=today + timedelta(days=days_from),
        valid_until=None if days_until is None else today + timedelta(days=days_until),
        created_by=person,
        accepted_by=person if status == Mandate.Status.ACCEPTED else None,
        accepted_at=timezone.now() if status == Mandate.Status.ACCEPTED else None,
    )


@dataclass
class World:
    principal: Operator
    provider: Operator
    stranger: Operator
    principal_certificate: Certificate
    provider_certificate: Certificate
    chain: Chain
    client: B2GClient
    token: str
    mandates: list[Mandate] = field(default_factory=list)


@pytest.fixture
def world(db, chain: Chain) -> World:
    principal = OperatorFactory(name="Principal SA")
    provider = OperatorFactory(name="Provider SARL")
    stranger = OperatorFactory(name="Stranger GmbH")
    client, token = services.b2g_client_create(name="Access point")
    return World(
        principal=principal,
        provider=provider,
        stranger=stranger,
        principal_certificate=register(principal, chain.principal),
        provider_certificate=register(provider, chain.provider),
        chain=chain,
        client=client,
        token=token,
    )


def call(
    world: World, body: dict[str, Any], *, token: str | None = None, **headers: str
) -> tuple[int, dict[str, Any]]:
    http = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="192.0.2.20")
    if token is None:
        token = world.token
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response = http.post(URL, data=json.dumps(body), content_type="application/json", **headers)
    return response.status_code, response.json()


def body(party_id: str, certificate: str | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"party_id": party_id, "party_type": PARTY_ID_TYPE_EORI, **extra}
    if certificate is not None:
        data["certificate"] = certificate
    return data


def refusals() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="b2g.authorisation_refused").order_by("sequence"))


# --- The table (issue 6 point 7) ----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    request: Callable[[World], dict[str, Any]]
    code: str
    reason_code: str
    setup: Callable[[World], None] = lambda w: None
    certificate_status: str | None = "active"
    expect: Callable[[World], dict[str, Any]] = lambda w: {}
    settings: dict[str, Any] = field(default_factory=dict)


def _p(w: World) -> str:
    return w.principal.eori


def _add_mandate(**kwargs: Any) -> Callable[[World], None]:
    def setup(w: World) -> None:
        w.mandates.append(mandate(w.principal, w.provider, **kwargs))

    return setup


def _set_status(status: str) -> Callable[[World], None]:
    def setup(w: World) -> None:
        Certificate.objects.filter(pk=w.principal_certificate.pk).update(status=status)

    return setup


def _expire_by_date(w: World) -> None:
    Certificate.objects.filter(pk=w.principal_certificate.pk).update(
        not_after=timezone.now() - timedelta(minutes=1)
    )


def _with_party(value: Callable[[World], str]) -> Callable[[World], dict[str, Any]]:
    return lambda w: body(value(w), pem_of(w.chain.principal))


def _with_certificate(value: Callable[[World], str]) -> Callable[[World], dict[str, Any]]:
    return lambda w: body(_p(w), value(w))


def _revoke_provider_certificate_with_mandate(w: World) -> None:
    _add_mandate()(w)
    Certificate.objects.filter(pk=w.provider_certificate.pk).update(status="revoked")


CASES = [
    # Direct: the certificate is the sender's own, in every accepted form.
    Case(
        "direct-pem",
        lambda w: body(_p(w), pem_of(w.chain.principal)),
        "OK",
        "direct",
        expect=lambda w: {"eori": _p(w), "certificate_eori": _p(w), "mandate": None},
    ),
    Case(
        "direct-pem-after-text-with-spaces-for-line-breaks",
        lambda w: body(
            _p(w), "Subject: CN=Principal seal\n" + pem_of(w.chain.principal).replace("\n", " ")
        ),
        "OK",
        "direct",
    ),
    Case(
        "pem-bundle-first-is-the-sealing-certificate",
        lambda w: body(_p(w), pem_of(w.chain.principal) + pem_of(w.chain.intermediate)),
        "OK",
        "direct",
    ),
    Case("direct-base64-der", lambda w: body(_p(w), b64_of(w.chain.principal)), "OK", "direct"),
    Case(
        "direct-base64-der-wrapped",
        lambda w: body(
            _p(w), "\n".join(b64_of(w.chain.principal)[i : i + 64] for i in range(0, 700, 64))
        ),
        "OK",
        "direct",
    ),
    Case(
        "direct-pkipath-leaf-last",
        lambda w: body(_p(w), pkipath_b64(w.chain.root, w.chain.intermediate, w.chain.principal)),
        "OK",
        "direct",
    ),
    Case(
        "pkipath-leaf-first-reads-the-root",
        lambda w: body(_p(w), pkipath_b64(w.chain.principal, w.chain.intermediate, w.chain.root)),
        "A001",
        "certificate_unknown",
        certificate_status=None,
        expect=lambda w: {"certificate_sha256": sha256_of(w.chain.root)},
    ),
    Case(
        "pkipath-of-one",
        lambda w: body(_p(w), pkipath_b64(w.chain.principal)),
        "OK",
        "direct",
    ),
    Case(
        "fingerprint-instead-of-certificate",
        lambda w: body(_p(w), fingerprint=sha256_of(w.chain.principal)),
        "OK",
        "direct",
        expect=lambda w: {"certificate_sha256": sha256_of(w.chain.principal)},
    ),
    Case(
        "fingerprint-upper-case-with-colons",
        lambda w: body(
            _p(w),
            fingerprint=":".join(
                sha256_of(w.chain.principal).upper()[i : i + 2] for i in range(0, 64, 2)
            ),
        ),
        "OK",
        "direct",
    ),
    # PartyId suffixes.
    Case(
        "system-id-suffix",
        lambda w: body(f"SYS-01@{_p(w)}", pem_of(w.chain.principal)),
        "OK",
        "direct",
        expect=lambda w: {"eori": _p(w), "system_id": "SYS-01", "member_state": None},
    ),
    Case(
        "member-state-suffix",
        lambda w: body(f"{_p(w)}@LU", pem_of(w.chain.principal)),
        "OK",
        "direct",
        expect=lambda w: {"eori": _p(w), "system_id": None, "member_state": "LU"},
    ),
    Case(
        "system-id-and-member-state",
        lambda w: body(f"SYS1@{_p(w)}@DE", pem_of(w.chain.principal)),
        "OK",
        "direct",
        expect=lambda w: {"eori": _p(w), "system_id": "SYS1", "member_state": "DE"},
    ),
    # Mandated service provider.
    Case(
        "mandated",
        lambda w: body(_p(w), pem_of(w.chain.provider)),
        "OK",
        "mandated",
        setup=_add_mandate(),
        expect=lambda w: {
            "eori": _p(w),
            "certificate_eori": w.provider.eori,
            "mandate": str(w.mandates[0].public_id),
        },
    ),
    Case(
        "mandated-open-ended-from-today",
        lambda w: body(_p(w), pem_of(w.chain.provider)),
        "OK",
        "mandated",
        setup=_add_mandate(days_from=0),
    ),
    Case(
        "mandated-until-today",
        lambda w: body(_p(w), pem_of(w.chain.provider)),
        "OK",
        "mandated",
        setup=_add_mandate(days_from=-5, days_until=0),
    ),
    Case(
        "mandate-out-of-scope",
        lambda w: body(_p(w), pem_of(w.chain.provider)),
        "A001",
        "eori_mismatch",
        setup=_add_mandate(scope=Mandate.Scope.PORTAL_ACTIONS),
        expect=lambda w: {"mandate": None, "certificate_eori": w.provider.eori},
    ),
    Case(
        "mandate-period-over",
        lambda w: body(_p(w), pem_of(w.chain.provider)),
        "A001",
        "eori_mismatch",
        setup=_add_mandate(days_from=-30, days_until=-1),
    ),
    Case(
        "mandate-period-not-started",
        lambda w: body(_p(w), pem_of(w.chain.provider)),
        "A001",
        "eori_mismatch",
        setup=_add_mandate(days_from=1),
    ),
    Case(
        "mandate-only-proposed",
        lambda w: body(_p(w), pem_of(w.chain.provider)),
        "A001",
        "eori_mismatch",
        setup=_add_mandate(status=Mandate.Status.PROPOSED),
    ),
    Case(
        "mandate-ended",
        lambda w: body(_p(w), pem_of(w.chain.provider)),
        "A001",
        "eori_mismatch",
        setup=_add_mandate(status=Mandate.Status.ENDED),
    ),
    Case(
        "mandate-the-other-way-round",
        lambda w: body(w.provider.eori, pem_of(w.chain.principal)),
        "A001",
        "eori_mismatch",
        setup=_add_mandate(),
    ),
    Case(
        "mandated-but-policy-off",
        lambda w: body(_p(w), pem_of(w.chain.provider)),
        "A001",
        "mandates_not_allowed",
        setup=_add_mandate(),
        settings={"COMPTOIR_B2G_ALLOW_MANDATED_CERTIFICATES": False},
    ),
    # The certificate's status and validity.
    Case(
        "revoked",
        lambda w: body(_p(w), pem_of(w.chain.principal)),
        "A001",
        "certificate_revoked",
        setup=_set_status(Certificate.Status.REVOKED),
        certificate_status="revoked",
    ),
    Case(
        "expired-status",
        lambda w: body(_p(w), pem_of(w.chain.principal)),
        "A001",
        "certificate_expired",
        setup=_set_status(Certificate.Status.EXPIRED),
        certificate_status="expired",
    ),
    Case(
        "expired-date-only",
        lambda w: body(_p(w), pem_of(w.chain.principal)),
        "A001",
        "certificate_expired",
        setup=_expire_by_date,
    ),
    Case(
        "not-active-yet",
        lambda w: body(_p(w), pem_of(w.chain.principal)),
        "A001",
        "certificate_not_active",
        setup=_set_status(Certificate.Status.SIGNING_PENDING),
        certificate_status="signing_pending",
    ),
    Case(
        "revoked-provider-certificate-with-mandate",
        lambda w: body(_p(w), pem_of(w.chain.provider)),
        "A001",
        "certificate_revoked",
        setup=_revoke_provider_certificate_with_mandate,
        certificate_status="revoked",
    ),
    Case(
        "unknown-certificate",
        lambda w: body(_p(w), pem_of(w.chain.unknown)),
        "A001",
        "certificate_unknown",
        certificate_status=None,
        expect=lambda w: {"certificate_sha256": sha256_of(w.chain.unknown)},
    ),
    Case(
        "unknown-fingerprint",
        lambda w: body(_p(w), fingerprint="ab" * 32),
        "A001",
        "certificate_unknown",
        certificate_status=None,
    ),
    # Wrong EORI.
    Case(
        "wrong-eori",
        lambda w: body(w.stranger.eori, pem_of(w.chain.principal)),
        "A001",
        "eori_mismatch",
        expect=lambda w: {"eori": w.stranger.eori, "certificate_eori": _p(w)},
    ),
    Case(
        "wrong-eori-not-in-the-portal",
        lambda w: body("DE123456789012345", pem_of(w.chain.principal)),
        "A001",
        "eori_mismatch",
    ),
    # Malformed party ids and types: A002.
    *[
        Case(
            f"malformed-party-id-{label}",
            _with_party(value),
            "A002",
            "party_id_malformed",
            certificate_status=None,
            expect=lambda w: {"eori": None, "certificate_sha256": None},
        )
        for label, value in [
            ("empty", lambda w: ""),
            ("not-an-eori", lambda w: "ACME-LTD"),
            ("lower-case", lambda w: _p(w).lower()),
            ("too-many-at", lambda w: f"A@{_p(w)}@LU@X"),
            ("empty-part", lambda w: f"@{_p(w)}"),
            ("bad-member-state", lambda w: f"{_p(w)}@ZZ"),
            ("space-inside", lambda w: f"SYS 1@{_p(w)}"),
            ("bad-check-digit", lambda w: _p(w)[:-1] + str((int(_p(w)[-1]) + 1) % 10)),
        ]
    ],
    Case(
        "wrong-party-type",
        lambda w: {
            **body(_p(w), pem_of(w.chain.principal)),
            "party_type": "urn:oasis:names:tc:ebcore:partyid-type:iso6523:0088",
        },
        "A002",
        "party_type",
        certificate_status=None,
    ),
    Case(
        "empty-party-type",
        lambda w: {**body(_p(w), pem_of(w.chain.principal)), "party_type": ""},
        "A002",
        "party_type",
        certificate_status=None,
    ),
    # Malformed certificates and fingerprints: A001 "certificate unreadable".
    *[
        Case(
            f"malformed-certificate-{label}",
            _with_certificate(value),
            "A001",
            "certificate_unreadable",
            certificate_status=None,
            expect=lambda w: {"eori": _p(w), "certificate_sha256": None},
        )
        for label, value in [
            ("text", lambda w: "not a certificate"),
            ("empty", lambda w: ""),
            ("base64-of-junk", lambda w: base64.b64encode(b"\x30\x03\x02\x01\x05").decode()),
            ("truncated-der", lambda w: base64.b64encode(der_of(w.chain.principal)[:-10]).decode()),
            (
                "pem-garbage",
                lambda w: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            ),
            ("pem-without-end", lambda w: pem_of(w.chain.principal).split("-----END")[0]),
            ("pkipath-with-junk", lambda w: base64.b64encode(b"\x30\x04\x30\x02\x05\x00").decode()),
            ("empty-pkipath", lambda w: base64.b64encode(b"\x30\x00").decode()),
        ]
    ],
    Case(
        "malformed-fingerprint",
        lambda w: body(_p(w), fingerprint="sha256:abc"),
        "A001",
        "certificate_unreadable",
        certificate_status=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_rules_table(world: World, case: Case, settings) -> None:
    for name, value in case.settings.items():
        setattr(settings, name, value)
    case.setup(world)
    calls_before = B2GClient.objects.get(pk=world.client.pk).calls

    status, answer = call(world, case.request(world))

    assert status == 200, answer
    assert answer["code"] == case.code
    assert answer["authorised"] is (case.code == "OK")
    assert answer["reason_code"] == case.reason_code
    assert answer["reason"] == str(authorisation.Reason.MESSAGES[case.reason_code])
    assert answer["certificate_status"] == case.certificate_status
    for key, value in case.expect(world).items():
        assert answer[key] == value, key
    # Every call is counted by the authentication; only refusals are audited.
    assert B2GClient.objects.get(pk=world.client.pk).calls == calls_before + 1
    events = refusals()
    if case.code == "OK":
        assert events == []
    else:
        assert len(events) == 1
        event = events[0]
        assert event.subject_type == "b2g.b2gclient"
        assert event.subject_id == str(world.client.pk)
        assert event.ip == "192.0.2.20"
        assert event.data["client"] == "Access point"
        assert event.data["code"] == case.code
        assert event.data["reason_code"] == case.reason_code
        assert event.data["party_id"] == case.request(world)["party_id"][:200]
        assert event.data["certificate_sha256"] == (
            answer["certificate_sha256"] or case.request(world).get("fingerprint", "")
        )
        assert audit_verify() is None


def test_refusal_audit_keeps_service_action_and_fingerprint(world: World) -> None:
    status, answer = call(
        world,
        body(
            world.stranger.eori,
            fingerprint=sha256_of(world.chain.principal),
            service="urn:eu:ics2:service",
            action="IE3F32",
        ),
    )
    assert (status, answer["code"]) == (200, "A001")
    event = refusals()[0]
    assert event.data["service"] == "urn:eu:ics2:service"
    assert event.data["action"] == "IE3F32"
    assert event.data["certificate_sha256"] == sha256_of(world.chain.principal)
    assert event.data["certificate_eori"] == world.principal.eori
    assert event.data["reason"].startswith("The certificate is registered for another EORI")


def test_the_reason_is_english_without_accept_language_else_in_the_language_asked(
    world: World,
) -> None:
    request = body(world.principal.eori, pem_of(world.chain.unknown))
    http = Client(REMOTE_ADDR="192.0.2.20", HTTP_AUTHORIZATION=f"Bearer {world.token}")
    plain = http.post(URL, data=json.dumps(request), content_type="application/json").json()
    assert plain["reason"] == "The certificate is not registered in the register."
    french = http.post(
        URL, data=json.dumps(request), content_type="application/json", HTTP_ACCEPT_LANGUAGE="fr"
    ).json()
    with translation.override("fr"):
        assert french["reason"] == str(authorisation.Reason.MESSAGES["certificate_unknown"])
    assert french["reason_code"] == plain["reason_code"] == "certificate_unknown"


# --- The shape of the request and authentication ------------------------------------------------


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        (
            {"party_id": "FR1", "party_type": PARTY_ID_TYPE_EORI},
            "Give the sealing certificate or its SHA-256 fingerprint.",
        ),
        (
            {
                "party_id": "FR1",
                "party_type": PARTY_ID_TYPE_EORI,
                "certificate": "x",
                "fingerprint": "ab" * 32,
            },
            "Give either the certificate or its SHA-256 fingerprint, not both.",
        ),
        ({"party_type": PARTY_ID_TYPE_EORI, "fingerprint": "ab" * 32}, None),
        ({"party_id": "FR1", "fingerprint": "ab" * 32}, None),
        ({"party_id": "F" * 201, "party_type": PARTY_ID_TYPE_EORI, "fingerprint": "ab" * 32}, None),
    ],
    ids=["neither", "both", "no-party-id", "no-party-type", "party-id-too-long"],
)
def test_wrong_body_shape_is_422_and_records_nothing(world: World, request_body, message) -> None:
    events_before = AuditEvent.objects.count()
    status, answer = call(world, request_body)
    assert status == 422
    if message:
        assert message in json.dumps(answer)
    assert AuditEvent.objects.count() == events_before


def test_without_a_token_the_answer_is_401_and_no_decision(world: World) -> None:
    status, answer = call(
        world, body(world.principal.eori, pem_of(world.chain.principal)), token=""
    )
    assert status == 401
    assert answer["code"] == "missing_credentials"
    assert "authorised" not in answer
    assert refusals() == []
    assert AuditEvent.objects.filter(action="b2g.refused").count() == 1
    assert B2GClient.objects.get(pk=world.client.pk).calls == 0


def test_unknown_and_disabled_clients_get_401(world: World) -> None:
    request = body(world.principal.eori, pem_of(world.chain.principal))
    status, answer = call(world, request, token="b2g_" + "x" * 43)
    assert (status, answer["code"]) == (401, "unknown_token")
    services.b2g_client_disable(client_id=world.client.pk)
    status, answer = call(world, request)
    assert (status, answer["code"]) == (401, "disabled_client")
    assert refusals() == []


# --- Immediate effect (issue 6 point 4): no cache -----------------------------------------------


def test_a_revocation_changes_the_next_answer(world: World) -> None:
    request = body(world.principal.eori, pem_of(world.chain.principal))
    assert call(world, request)[1]["code"] == "OK"
    certificate_status_move(
        certificate=world.principal_certificate,
        target=Certificate.Status.REVOKED,
        actor=None,
        action="certificates.certificate.revoke",
        changes={"revoked_at": timezone.now(), "revocation_reason": "Key compromised"},
    )
    status, answer = call(world, request)
    assert (status, answer["code"], answer["reason_code"]) == (200, "A001", "certificate_revoked")
    assert answer["certificate_status"] == "revoked"


def test_a_recorded_expiry_changes_the_next_answer(world: World) -> None:
    request = body(world.principal.eori, fingerprint=sha256_of(world.chain.principal))
    assert call(world, request)[1]["code"] == "OK"
    certificate_status_move(
        certificate=world.principal_certificate,
        target=Certificate.Status.EXPIRED,
        actor=None,
        action="certificates.certificate.expire",
    )
    answer = call(world, request)[1]
    assert (answer["code"], answer["reason_code"]) == ("A001", "certificate_expired")


def test_the_end_of_validity_changes_the_answer_before_any_expiry_is_recorded(
    world: World,
) -> None:
    end = timezone.now() + timedelta(hours=1)
    Certificate.objects.filter(pk=world.principal_certificate.pk).update(not_after=end)
    kwargs = {
        "party_id": world.principal.eori,
        "party_type": PARTY_ID_TYPE_EORI,
        "fingerprint": sha256_of(world.chain.principal),
    }
    assert authorisation_decide(**kwargs, at=end - timedelta(seconds=1)).code == "OK"
    assert authorisation_decide(**kwargs, at=end).code == "OK"
    after = authorisation_decide(**kwargs, at=end + timedelta(seconds=1))
    assert (after.code, after.reason_code, after.certificate_status) == (
        "A001",
        "certificate_expired",
        "active",
    )
    # And through the API, once the moment has passed.
    Certificate.objects.filter(pk=world.principal_certificate.pk).update(
        not_after=timezone.now() - timedelta(seconds=1)
    )
    assert (
        call(world, body(world.principal.eori, fingerprint=kwargs["fingerprint"]))[1]["reason_code"]
        == "certificate_expired"
    )


def test_an_ended_mandate_changes_the_next_answer(world: World) -> None:
    given = mandate(world.principal, world.provider)
    legal_representative = member(world.principal, role=Position.Role.LEGAL_REPRESENTATIVE)
    request = body(world.principal.eori, pkipath_b64(world.chain.root, world.chain.provider))
    answer = call(world, request)[1]
    assert (answer["code"], answer["mandate"]) == ("OK", str(given.public_id))
    mandate_end(
        actor=legal_representative, mandate_id=given.public_id, reason="Contract terminated"
    )
    assert Mandate.objects.get(pk=given.pk).status == Mandate.Status.ENDED
    answer = call(world, request)[1]
    assert (answer["code"], answer["reason_code"], answer["mandate"]) == (
        "A001",
        "eori_mismatch",
        None,
    )


def test_the_last_day_of_a_mandate_counts_and_the_next_does_not(world: World) -> None:
    given = mandate(world.principal, world.provider, days_from=-3, days_until=2)
    kwargs = {
        "party_id": world.principal.eori,
        "party_type": PARTY_ID_TYPE_EORI,
        "certificate": pem_of(world.chain.provider),
    }
    last_day = datetime.combine(given.valid_until, datetime.min.time()).replace(
        hour=23, minute=59, tzinfo=timezone.get_current_timezone()
    )
    assert authorisation_decide(**kwargs, at=last_day).mandate == str(given.public_id)
    assert authorisation_decide(**kwargs, at=last_day + timedelta(minutes=2)).code == "A001"


def test_a_certificate_registered_again_after_a_revocation_is_accepted(world: World) -> None:
    Certificate.objects.filter(pk=world.principal_certificate.pk).update(status="revoked")
    request = body(world.principal.eori, pem_of(world.chain.principal))
    assert call(world, request)[1]["reason_code"] == "certificate_revoked"
    register(world.principal, world.chain.principal)
    assert call(world, request)[1]["reason_code"] == "direct"


# --- The decision path reads only, in one or two queries ----------------------------------------


def _queries(**kwargs: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        decision = authorisation_decide(party_type=PARTY_ID_TYPE_EORI, **kwargs)
    return decision, [query["sql"] for query in captured.captured_queries]


def test_direct_decision_is_one_select(world: World) -> None:
    decision, queries = _queries(
        party_id=world.principal.eori, certificate=pem_of(world.chain.principal)
    )
    assert decision.code == "OK"
    assert len(queries) == 1
    assert queries[0].lstrip().upper().startswith("SELECT")


def test_mandated_decision_is_two_selects(world: World) -> None:
    mandate(world.principal, world.provider)
    decision, queries = _queries(
        party_id=world.principal.eori, certificate=pem_of(world.chain.provider)
    )
    assert decision.reason_code == "mandated"
    assert len(queries) == 2
    assert all(sql.lstrip().upper().startswith("SELECT") for sql in queries)


def test_malformed_input_needs_no_query(world: World) -> None:
    _decision, queries = _queries(party_id="nope", certificate=pem_of(world.chain.principal))
    assert queries == []
    _decision, queries = _queries(party_id=world.principal.eori, certificate="nope")
    assert queries == []


def test_decide_wants_exactly_one_of_certificate_and_fingerprint() -> None:
    with pytest.raises(TypeError):
        authorisation_decide(party_id="FR1", party_type=PARTY_ID_TYPE_EORI)
    with pytest.raises(TypeError):
        authorisation_decide(
            party_id="FR1", party_type=PARTY_ID_TYPE_EORI, certificate="x", fingerprint="y"
        )


def test_der_bytes_are_accepted_by_the_service(world: World) -> None:
    decision = authorisation_decide(
        party_id=world.principal.eori,
        party_type=PARTY_ID_TYPE_EORI,
        certificate=der_of(world.chain.principal),
    )
    assert (decision.code, decision.certificate_sha256) == ("OK", sha256_of(world.chain.principal))
    path = base64.b64decode(pkipath_b64(world.chain.root, world.chain.principal))
    assert (
        authorisation_decide(
            party_id=world.principal.eori, party_type=PARTY_ID_TYPE_EORI, certificate=path
        ).reason_code
        == "direct"
    )


# --- Register unavailable (in-process; the real outage is in test_authorisation_outage.py) ------


def _database_down(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("connection refused")


def test_database_error_in_the_decision_is_a003_and_logged(
    world: World, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(authorisation, "_registrations", _database_down)
    events_before = AuditEvent.objects.count()
    with caplog.at_level(logging.ERROR, logger="comptoir.b2g.authorisation"):
        status, answer = call(world, body(world.principal.eori, pem_of(world.chain.principal)))
    assert status == 503
    assert (answer["authorised"], answer["code"], answer["reason_code"]) == (
        False,
        "A003",
        "register_unavailable",
    )
    assert answer["certificate_sha256"] == sha256_of(world.chain.principal)
    assert AuditEvent.objects.count() == events_before
    assert any(
        "A003" in record.getMessage() and world.principal.eori in record.getMessage()
        for record in caplog.records
    )


def test_database_error_during_authentication_is_a003_not_a_server_error(
    world: World, monkeypatch, caplog
) -> None:
    monkeypatch.setattr(services, "b2g_client_check", _database_down)
    with caplog.at_level(logging.ERROR, logger="comptoir.b2g.authorisation"):
        status, answer = call(world, body(world.principal.eori, pem_of(world.chain.principal)))
    assert status == 503
    assert (answer["authorised"], answer["code"]) == (False, "A003")
    assert answer["reason"] == "The certificate register is unavailable: try again later."
    assert any("during authentication" in record.getMessage() for record in caplog.records)
