"""Build and sign AS4 UserMessages the way an ICS2 access point sends them.

For tests, demonstrations and the benchmark (messages signed with our own keys): a SOAP 1.2
envelope with `eb:Messaging` (UserMessage, From/To PartyIds, one PartInfo per attachment) and a
Body, a WS-Security header with the BinarySecurityToken (`#X509v3` or `#X509PKIPathv1`, leaf
last), one ds:Reference per part (exclusive C14N, SHA-256; attachments with the
Attachment-Content-Signature-Transform) and the signature (RSA-SHA256, ECDSA-SHA256/384 or Ed25519).
The result is a MIME multipart/related package when there are attachments, the XML otherwise.

Verification (comptoir.b2g.as4) shares only the canonicalisation with this module.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree

from comptoir.b2g.as4 import (
    C14N_EXCLUSIVE,
    NS_DS,
    NS_EB,
    NS_EXC_C14N,
    NS_SOAP12,
    NS_WSSE,
    NS_WSU,
    TOKEN_PKIPATH,
    TOKEN_X509V3,
    TRANSFORM_ATTACHMENT_CONTENT,
    As4Attachment,
    attachment_octets,
    canonicalise,
    xml_parse,
)
from comptoir.b2g.party import PARTY_ID_TYPE_EORI

_TOKEN_PREFIX = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#"
_BASE64 = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_ROLE = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
_NSMAP = {
    "S12": NS_SOAP12,
    "eb": NS_EB,
    "wsse": NS_WSSE,
    "wsu": NS_WSU,
    "ds": NS_DS,
    "ec": NS_EXC_C14N,
}


@dataclass(frozen=True)
class OutgoingAttachment:
    content_id: str  # without angle brackets
    content: bytes
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class SignedMessage:
    content_type: str
    body: bytes  # the XML, or the MIME package

    def capture(self) -> bytes:
        """As an access point logs it: the HTTP headers, a blank line, the body."""
        return f"Content-Type: {self.content_type}\r\n\r\n".encode() + self.body


def pkipath_encode(certificates: Sequence[x509.Certificate]) -> bytes:
    """A PkiPath: DER SEQUENCE OF Certificate, in the order given (root first, leaf last)."""
    content = b"".join(c.public_bytes(serialization.Encoding.DER) for c in certificates)
    length = len(content)
    if length < 0x80:
        head = bytes([length])
    else:
        octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(octets)]) + octets
    return b"\x30" + head + content


def _sub(
    parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrs: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", **attrs)
    if text is not None:
        element.text = text
    return element


def as4_envelope_build(
    *,
    from_party_id: str,
    from_party_type: str = PARTY_ID_TYPE_EORI,
    to_party_id: str = "customs",
    attachments: Sequence[OutgoingAttachment] = (),
    body_xml: bytes | None = None,
    message_id: str | None = None,
) -> etree._Element:
    """An unsigned SOAP 1.2 envelope with eb:Messaging (UserMessage) and a Body."""
    envelope = etree.Element(f"{{{NS_SOAP12}}}Envelope", nsmap=_NSMAP)
    header = _sub(envelope, NS_SOAP12, "Header")
    security = _sub(header, NS_WSSE, "Security", **{f"{{{NS_SOAP12}}}mustUnderstand": "true"})
    del security  # filled in by as4_message_sign
    messaging = _sub(
        header,
        NS_EB,
        "Messaging",
        **{f"{{{NS_SOAP12}}}mustUnderstand": "true", f"{{{NS_WSU}}}Id": f"_{uuid.uuid4()}"},
    )
    user = _sub(messaging, NS_EB, "UserMessage")
    info = _sub(user, NS_EB, "MessageInfo")
    _sub(info, NS_EB, "Timestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    _sub(info, NS_EB, "MessageId", message_id or f"{uuid.uuid4()}@comptoir.test")
    parties = _sub(user, NS_EB, "PartyInfo")
    from_ = _sub(parties, NS_EB, "From")
    _sub(from_, NS_EB, "PartyId", from_party_id, type=from_party_type)
    _sub(from_, NS_EB, "Role", _ROLE + "initiator")
    to = _sub(parties, NS_EB, "To")
    _sub(to, NS_EB, "PartyId", to_party_id, type=PARTY_ID_TYPE_EORI)
    _sub(to, NS_EB, "Role", _ROLE + "responder")
    collaboration = _sub(user, NS_EB, "CollaborationInfo")
    _sub(collaboration, NS_EB, "Service", "urn:eu:ics2:service")
    _sub(collaboration, NS_EB, "Action", "IE3F32")
    _sub(collaboration, NS_EB, "ConversationId", str(uuid.uuid4()))
    if attachments:
        payloads = _sub(user, NS_EB, "PayloadInfo")
        for attachment in attachments:
            part = _sub(payloads, NS_EB, "PartInfo", href=f"cid:{attachment.content_id}")
            properties = _sub(part, NS_EB, "PartProperties")
            _sub(properties, NS_EB, "Property", attachment.content_type, name="MimeType")
    body = _sub(envelope, NS_SOAP12, "Body", **{f"{{{NS_WSU}}}Id": f"_{uuid.uuid4()}"})
    if body_xml is not None:
        body.append(etree.fromstring(body_xml))
    return envelope


def _reference(
    signed_info: etree._Element, uri: str, transform: str, digest: bytes, prefixes: str = ""
) -> None:
    reference = _sub(signed_info, NS_DS, "Reference", URI=uri)
    transforms = _sub(reference, NS_DS, "Transforms")
    element = _sub(transforms, NS_DS, "Transform", Algorithm=transform)
    if prefixes:
        _sub(element, NS_EXC_C14N, "InclusiveNamespaces", PrefixList=prefixes)
    _sub(reference, NS_DS, "DigestMethod", Algorithm=_SHA256)
    _sub(reference, NS_DS, "DigestValue", base64.b64encode(digest).decode())


SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def _hash_for(key: ec.EllipticCurvePrivateKey) -> hashes.HashAlgorithm:
    return hashes.SHA384() if key.curve.key_size > 256 else hashes.SHA256()


def _method_uri(key: SigningKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519"
    return f"http://www.w3.org/2001/04/xmldsig-more#ecdsa-{_hash_for(key).name}"


def _sign(key: SigningKey, data: bytes) -> bytes:
    """RSA PKCS#1 v1.5, Ed25519, or ECDSA as XML-DSig wants it: r and s, each padded to the key
    size."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(data)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_hash_for(key))))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def as4_message_sign(
    *,
    envelope: etree._Element,
    key: SigningKey,
    certificates: Sequence[x509.Certificate],
    attachments: Sequence[OutgoingAttachment] = (),
    token_type: str = TOKEN_PKIPATH,
) -> SignedMessage:
    """Sign `envelope` (from as4_envelope_build) with `key`; `certificates` is the chain, leaf
    last (a single certificate for #X509v3)."""
    # Work on a parsed copy: libxml2's C14N only honours an InclusiveNamespaces prefix that its
    # dictionary knows, which is the case for parsed documents but not always for built ones.
    envelope = xml_parse(etree.tostring(envelope))
    header = envelope.find(f"{{{NS_SOAP12}}}Header")
    security = header.find(f"{{{NS_WSSE}}}Security")
    messaging = header.find(f"{{{NS_EB}}}Messaging")
    body = envelope.find(f"{{{NS_SOAP12}}}Body")
    token_id = f"X509-{uuid.uuid4()}"
    if token_type == TOKEN_X509V3:
        der = certificates[-1].public_bytes(serialization.Encoding.DER)
    else:
        der = pkipath_encode(certificates)
    _sub(
        security,
        NS_WSSE,
        "BinarySecurityToken",
        base64.b64encode(der).decode(),
        EncodingType=_BASE64,
        ValueType=_TOKEN_PREFIX + token_type,
        **{f"{{{NS_WSU}}}Id": token_id},
    )
    signature = _sub(security, NS_DS, "Signature", Id=f"SIG-{uuid.uuid4()}")
    signed_info = _sub(signature, NS_DS, "SignedInfo")
    method = _sub(signed_info, NS_DS, "CanonicalizationMethod", Algorithm=C14N_EXCLUSIVE)
    _sub(method, NS_EXC_C14N, "InclusiveNamespaces", PrefixList="S12")
    _sub(signed_info, NS_DS, "SignatureMethod", Algorithm=_method_uri(key))
    for element in (messaging, body):
        digest = hashlib.sha256(canonicalise(element, C14N_EXCLUSIVE, ["S12"])).digest()
        _reference(signed_info, "#" + element.get(f"{{{NS_WSU}}}Id"), C14N_EXCLUSIVE, digest, "S12")
    for attachment in attachments:
        octets = attachment_octets(
            As4Attachment(
                content_id=attachment.content_id,
                content_type=attachment.content_type,
                headers={},
                content=attachment.content,
            )
        )
        _reference(
            signed_info,
            f"cid:{attachment.content_id}",
            TRANSFORM_ATTACHMENT_CONTENT,
            hashlib.sha256(octets).digest(),
        )
    value = _sign(key, canonicalise(signed_info, C14N_EXCLUSIVE, ["S12"]))
    _sub(signature, NS_DS, "SignatureValue", base64.b64encode(value).decode())
    key_info = _sub(signature, NS_DS, "KeyInfo")
    reference = _sub(_sub(key_info, NS_WSSE, "SecurityTokenReference"), NS_WSSE, "Reference")
    reference.set("URI", "#" + token_id)
    reference.set("ValueType", _TOKEN_PREFIX + token_type)
    xml = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    if not attachments:
        return SignedMessage(content_type='application/soap+xml; charset="UTF-8"', body=xml)
    return as4_mime_package(xml, attachments)


def as4_mime_package(xml: bytes, attachments: Sequence[OutgoingAttachment]) -> SignedMessage:
    """A multipart/related package: the SOAP part first, then the attachments (binary)."""
    boundary = f"----=_Part_{uuid.uuid4().hex}"
    root_id = f"root.{uuid.uuid4().hex}@comptoir.test"
    crlf = b"\r\n"
    parts = [
        b"--" + boundary.encode() + crlf
        + b"Content-Type: application/soap+xml; charset=UTF-8" + crlf
        + b"Content-Transfer-Encoding: binary" + crlf
        + f"Content-ID: <{root_id}>".encode() + crlf + crlf + xml
    ]  # fmt: skip
    for attachment in attachments:
        parts.append(
            b"--" + boundary.encode() + crlf
            + f"Content-Type: {attachment.content_type}".encode() + crlf
            + b"Content-Transfer-Encoding: binary" + crlf
            + f"Content-ID: <{attachment.content_id}>".encode() + crlf + crlf
            + attachment.content
        )  # fmt: skip
    body = crlf.join(parts) + crlf + b"--" + boundary.encode() + b"--" + crlf
    content_type = (
        f'multipart/related; boundary="{boundary}"; type="application/soap+xml"; '
        f'start="<{root_id}>"'
    )
    return SignedMessage(content_type=content_type, body=body)
