"""AS4 (ebMS 3.0) messages: parse them as received and verify their WS-Security signature.

Two steps, both pure (no database, no network):

- `as4_message_parse(raw)` takes the message as an access point received it: raw SOAP XML, a MIME
  multipart/related package (SOAP part and attachments by Content-ID), or either of them preceded
  by HTTP (or MIME) headers and a blank line, as in captures. It returns an `As4Message` or raises
  `As4ParseError` (a code and a message).
- `as4_signature_verify(message)` checks the `wsse:Security/ds:Signature`: every `ds:Reference`
  digest (elements by `wsu:Id`, attachments by `cid:`), the coverage of `eb:Messaging`, the SOAP
  Body and every attachment, then the SignatureValue over the canonicalised SignedInfo with the
  key of the referenced BinarySecurityToken. It returns a `SignatureVerdict` whose status is
  `valid` only when all of that holds, `absent` when there is no signature, `invalid` otherwise.

`as4_verify(raw)` does both: this is what the HTTP endpoint and the benchmark call.

XML is parsed with lxml without DTDs, entities or network access (a DOCTYPE is refused), exclusive
C14N is libxml2's, the signature value is checked with `cryptography`. See docs/as4.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import quopri
import re
import threading
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import pairwise
from typing import Any, Literal
from urllib.parse import unquote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.utils.translation import gettext_lazy as _
from lxml import etree

# --- Namespaces and algorithm URIs -------------------------------------------------------------

NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS_EB = "http://docs.oasis-open.org/ebxml-msg/ebms/v3.0/ns/core/200704/"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
NS_XENC = "http://www.w3.org/2001/04/xmlenc#"

C14N_EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"
C14N_INCLUSIVE = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
TRANSFORM_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SWA = "http://docs.oasis-open.org/wss/oasis-wss-SwAProfile-1.1#"
TRANSFORM_ATTACHMENT_CONTENT = SWA + "Attachment-Content-Signature-Transform"
TRANSFORM_ATTACHMENT_COMPLETE = SWA + "Attachment-Complete-Signature-Transform"

TOKEN_X509V3 = "X509v3"
TOKEN_PKIPATH = "X509PKIPathv1"
TOKEN_X509DATA = "X509Data"

DIGESTS: dict[str, str] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
}

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

#: Signature method URI → (key family, hash name or "" for EdDSA).
SIGNATURE_METHODS: dict[str, tuple[str, str]] = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": ("rsa", "sha1"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": ("rsa", "sha256"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": ("rsa", "sha384"),
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": ("rsa", "sha512"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": ("ec", "sha256"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": ("ec", "sha384"),
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": ("ec", "sha512"),
    "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519": ("ed25519", ""),
}

_CANONICALIZATIONS = frozenset({C14N_EXCLUSIVE, C14N_INCLUSIVE})

#: Smaller keys are refused whatever the rest says (ICS2 asks for RSA 2048 or more).
MIN_RSA_KEY_SIZE = 2048
MIN_EC_KEY_SIZE = 256

# --- Parsing ----------------------------------------------------------------------------------

PARSE_MESSAGES = {
    "empty": _("The message is empty"),
    "headers": _("The headers before the message body cannot be read: %(detail)s"),
    "mime": _("The MIME multipart/related package cannot be read: %(detail)s"),
    "doctype": _("The message contains a DOCTYPE declaration, which is not allowed in SOAP"),
    "xml": _("The SOAP part is not well-formed XML: %(detail)s"),
    "not_soap": _("The XML is not a SOAP 1.2 or SOAP 1.1 Envelope"),
    "soap_structure": _(
        "The SOAP Envelope must hold an optional Header then one Body, and nothing else"
    ),
    "messaging": _("The SOAP header holds more than one eb:Messaging element"),
}


class As4ParseError(ValueError):
    """The message cannot be read; `code` is one of PARSE_MESSAGES' keys."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)

    @property
    def message(self) -> str:
        return str(PARSE_MESSAGES[self.code]) % {"detail": self.detail}


@dataclass(frozen=True)
class As4Attachment:
    content_id: str  # without the angle brackets; "" when the part has none
    content_type: str
    headers: dict[str, str]  # lower-case names
    content: bytes  # after Content-Transfer-Encoding decoding


@dataclass(frozen=True)
class PartyRef:
    value: str
    type: str


@dataclass
class As4Message:
    envelope: Any  # lxml root element (soap:Envelope)
    soap_xml: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)  # HTTP/MIME headers, lower-case names
    attachments: list[As4Attachment] = field(default_factory=list)
    messaging: Any = None  # the eb:Messaging element of the SOAP header, if any
    from_parties: tuple[PartyRef, ...] = ()
    message_id: str | None = None
    encrypted_content_ids: frozenset[str] = frozenset()

    @property
    def soap_namespace(self) -> str:
        tag: str = self.envelope.tag
        return tag[1 : tag.index("}")]

    @cached_property
    def header(self) -> Any:
        return self.envelope.find(f"{{{self.soap_namespace}}}Header")

    @cached_property
    def body(self) -> Any:
        return self.envelope.find(f"{{{self.soap_namespace}}}Body")

    @property
    def from_party(self) -> PartyRef | None:
        """The eb:From PartyId when there is exactly one."""
        return self.from_parties[0] if len(self.from_parties) == 1 else None

    def attachment(self, content_id: str) -> As4Attachment | None:
        for attachment in self.attachments:
            if attachment.content_id == content_id:
                return attachment
        return None


_parsers = threading.local()


def _xml_parser() -> Any:
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            dtd_validation=False,
            remove_blank_text=False,
            remove_comments=False,
            remove_pis=False,
            collect_ids=False,
        )
        _parsers.parser = parser
    return parser


def xml_parse(data: bytes) -> Any:
    """Parse XML safely: no DTD (a DOCTYPE is refused), no entity expansion, no network.

    The byte search refuses a DOCTYPE before parsing in UTF-8 and ASCII-compatible encodings;
    in others (UTF-16), the parsed document's DOCTYPE is refused after parsing, which is safe
    since the parser neither loads DTDs nor substitutes entities."""
    if b"<!DOCTYPE" in data:
        raise As4ParseError("doctype")
    try:
        root = etree.fromstring(data, _xml_parser())
    except etree.XMLSyntaxError as exc:
        raise As4ParseError("xml", str(exc)) from None
    if root.getroottree().docinfo.doctype:
        raise As4ParseError("doctype")
    return root


_PARAM = re.compile(r';\s*([A-Za-z0-9!#$&^_.+\-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)')


def content_type_split(value: str) -> tuple[str, dict[str, str]]:
    """`multipart/related; boundary="x"; type=...` → ("multipart/related", {"boundary": "x", …})."""
    main, _sep, _rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value[len(main) :]):
        raw = match.group(2)
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params[match.group(1).lower()] = raw
    return main.strip().lower(), params


def _headers_parse(block: bytes, *, allow_start_line: bool) -> dict[str, str]:
    headers: dict[str, str] = {}
    last: str | None = None
    lines = block.decode("iso-8859-1").splitlines()
    for index, line in enumerate(lines):
        if not line:
            continue
        if line[0] in " \t" and last is not None:  # folded header
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or " " in name.strip():
            if index == 0 and allow_start_line:  # "HTTP/1.1 200 OK" or "POST /as4 HTTP/1.1"
                continue
            raise As4ParseError("headers", f"line {index + 1} is not a header")
        last = name.strip().lower()
        headers[last] = value.strip()
    return headers


def _split_head(data: bytes) -> tuple[bytes, bytes] | None:
    """Split at the first blank line: (headers, body), or None when there is none."""
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if crlf == -1 and lf == -1:
        return None
    if lf == -1 or (crlf != -1 and crlf < lf):
        return data[:crlf], data[crlf + 4 :]
    return data[:lf], data[lf + 2 :]


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        eol = data.find(b"\n", pos)
        if eol == -1:
            raise As4ParseError("headers", "truncated chunked body")
        size_text = data[pos:eol].split(b";")[0].strip()
        if not size_text or not all(c in b"0123456789abcdefABCDEF" for c in size_text):
            raise As4ParseError("headers", "bad chunk size")
        size = int(size_text, 16)
        pos = eol + 1
        if size == 0:
            return bytes(out)
        out += data[pos : pos + size]
        pos += size
        if data.startswith(b"\r\n", pos):
            pos += 2
        elif data.startswith(b"\n", pos):
            pos += 1


def _multipart_split(body: bytes, boundary: str) -> list[bytes]:
    if not boundary:
        raise As4ParseError("mime", "no boundary")
    dash = b"--" + boundary.encode("iso-8859-1")
    start = body.find(dash)
    while start > 0 and body[start - 1 : start] != b"\n":
        start = body.find(dash, start + 1)
    if start == -1:
        raise As4ParseError("mime", "the boundary is not found")
    parts: list[bytes] = []
    pos = start + len(dash)
    delimiter = b"\n" + dash
    while True:
        if body.startswith(b"--", pos):
            return parts
        eol = body.find(b"\n", pos)
        if eol == -1:
            raise As4ParseError("mime", "a part is truncated")
        pos = eol + 1
        nxt = body.find(delimiter, pos)
        if nxt == -1:
            raise As4ParseError("mime", "the closing boundary is missing")
        end = nxt - 1 if nxt > pos and body[nxt - 1 : nxt] == b"\r" else nxt
        parts.append(body[pos:end])
        pos = nxt + len(delimiter)


def _part_parse(part: bytes) -> tuple[dict[str, str], bytes]:
    if part.startswith(b"\r\n"):
        return {}, part[2:]
    if part.startswith(b"\n"):
        return {}, part[1:]
    split = _split_head(part)
    if split is None:
        raise As4ParseError("mime", "a part has no blank line after its headers")
    headers = _headers_parse(split[0], allow_start_line=False)
    content = split[1]
    encoding = headers.get("content-transfer-encoding", "").lower()
    if encoding == "base64":
        try:
            content = base64.b64decode(re.sub(rb"\s+", b"", content), validate=True)
        except binascii.Error:
            raise As4ParseError("mime", "a base64 part cannot be decoded") from None
    elif encoding == "quoted-printable":
        content = quopri.decodestring(content)
    return headers, content


def _content_id(value: str) -> str:
    value = value.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value.strip()


def _multipart_parse(body: bytes, params: dict[str, str]) -> tuple[bytes, str, list[As4Attachment]]:
    parts = [_part_parse(part) for part in _multipart_split(body, params.get("boundary", ""))]
    if not parts:
        raise As4ParseError("mime", "the package has no part")
    start = _content_id(params.get("start", ""))
    root_index = 0
    if start:
        for index, (headers, _content) in enumerate(parts):
            if _content_id(headers.get("content-id", "")) == start:
                root_index = index
                break
        else:
            raise As4ParseError("mime", "the start part is not found")
    root_headers, root_content = parts[root_index]
    attachments: list[As4Attachment] = []
    seen: set[str] = set()
    for index, (headers, content) in enumerate(parts):
        if index == root_index:
            continue
        content_id = _content_id(headers.get("content-id", ""))
        if content_id and content_id in seen:
            raise As4ParseError("mime", f"two parts have the Content-ID {content_id}")
        seen.add(content_id)
        attachments.append(
            As4Attachment(
                content_id=content_id,
                content_type=headers.get("content-type", "text/plain"),
                headers=headers,
                content=content,
            )
        )
    return root_content, root_headers.get("content-type", ""), attachments


def _descendant(element: Any, *names: str) -> Any:
    """The first eb: child, grandchild… along `names`, or None."""
    for name in names:
        element = element.find(f"{{{NS_EB}}}{name}")
        if element is None:
            return None
    return element


def _ebms_parse(message: As4Message) -> None:
    header = message.header
    if header is None:
        return
    messagings = header.findall(f"{{{NS_EB}}}Messaging")
    if len(messagings) > 1:
        raise As4ParseError("messaging")
    if messagings:
        messaging = messagings[0]
        message.messaging = messaging
        # UserMessage or SignalMessage, then MessageInfo/MessageId and PartyInfo/From.
        for kind in messaging.iterchildren(f"{{{NS_EB}}}UserMessage", f"{{{NS_EB}}}SignalMessage"):
            info = kind.find(f"{{{NS_EB}}}MessageInfo")
            if info is not None:
                message.message_id = (info.findtext(f"{{{NS_EB}}}MessageId") or "").strip() or None
            break
        from_ = _descendant(messaging, "UserMessage", "PartyInfo", "From")
        if from_ is not None:
            message.from_parties = tuple(
                PartyRef(value=(p.text or "").strip(), type=(p.get("type") or "").strip())
                for p in from_.findall(f"{{{NS_EB}}}PartyId")
            )
    encrypted: set[str] = set()
    for reference in header.iter(f"{{{NS_XENC}}}CipherReference"):
        uri = reference.get("URI") or ""
        if uri.startswith("cid:"):
            encrypted.add(unquote(uri[4:]))
    message.encrypted_content_ids = frozenset(encrypted)


def as4_message_parse(raw: bytes) -> As4Message:
    """Read an AS4 message as received (see the module docstring); As4ParseError otherwise."""
    if not raw or raw.isspace():
        raise As4ParseError("empty")
    headers: dict[str, str] = {}
    body = raw
    start = raw[:256].lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf")
    if not (start.startswith(b"<") or start.startswith(b"--")):
        split = _split_head(raw)
        if split is None:
            raise As4ParseError("headers", "no blank line after the headers")
        headers = _headers_parse(split[0], allow_start_line=True)
        body = split[1]
        if "chunked" in headers.get("transfer-encoding", "").lower():
            lead = body[:256].lstrip(b" \t\r\n").removeprefix(b"\xef\xbb\xbf")
            if not (lead.startswith(b"<") or lead.startswith(b"--")):
                body = _dechunk(body)
    content_type = headers.get("content-type", "")
    main, params = content_type_split(content_type)
    attachments: list[As4Attachment] = []
    lead = body[:1024].lstrip()
    if main == "multipart/related" or (not content_type and lead.startswith(b"--")):
        if not params.get("boundary"):
            # No Content-Type (a bare package): the boundary is on the first line.
            first_line = lead.split(b"\n", 1)[0].rstrip(b"\r")
            params["boundary"] = first_line[2:].decode("iso-8859-1")
        soap_xml, _root_type, attachments = _multipart_parse(body, params)
        main = main or "multipart/related"
    else:
        soap_xml = body
    if soap_xml[:1].isspace() or soap_xml[-1:].isspace():
        soap_xml = soap_xml.strip()
    root = xml_parse(soap_xml)
    if root.tag not in (f"{{{NS_SOAP12}}}Envelope", f"{{{NS_SOAP11}}}Envelope"):
        raise As4ParseError("not_soap")
    namespace = root.tag[1 : root.tag.index("}")]
    tags = [child.tag for child in root.iterchildren(etree.Element)]
    if tags not in ([f"{{{namespace}}}Header", f"{{{namespace}}}Body"], [f"{{{namespace}}}Body"]):
        raise As4ParseError("soap_structure")
    message = As4Message(
        envelope=root,
        soap_xml=soap_xml,
        content_type=content_type or main,
        headers=headers,
        attachments=attachments,
    )
    _ebms_parse(message)
    return message


# --- Verification -----------------------------------------------------------------------------

Status = Literal["valid", "invalid", "absent"]


@dataclass(frozen=True)
class ReferenceResult:
    uri: str
    ok: bool
    reason: str = ""  # a code: digest_mismatch, not_found, duplicate_id, … ("" when ok)
    target: str = ""  # what the reference designates: "eb:Messaging", "soap:Body", "attachment"…
    digest_algorithm: str = ""


@dataclass(frozen=True)
class SignatureVerdict:
    """The outcome of the check. `status` is "valid" only if every check passed; `code` names the
    first failure (see VERDICT_CODES) and `problems` lists them all."""

    status: Status
    code: str
    problems: tuple[str, ...] = ()
    references: tuple[ReferenceResult, ...] = ()
    signature_algorithm: str | None = None
    canonicalization: str | None = None
    signature_value_ok: bool | None = None
    token_type: str | None = None
    chain: tuple[x509.Certificate, ...] = ()  # as in the token: leaf last for #X509PKIPathv1
    from_parties: tuple[PartyRef, ...] = ()
    message_id: str | None = None

    @property
    def signer(self) -> x509.Certificate | None:
        """The certificate whose key made the signature: the last one of the chain."""
        return self.chain[-1] if self.chain else None

    @property
    def from_party(self) -> PartyRef | None:
        return self.from_parties[0] if len(self.from_parties) == 1 else None

    @property
    def failed_references(self) -> tuple[ReferenceResult, ...]:
        return tuple(r for r in self.references if not r.ok)

    def details(self) -> dict[str, Any]:
        """A JSON-ready summary for the API answer."""
        return {
            "status": self.status,
            "code": self.code,
            "message": str(VERDICT_CODES.get(self.code, self.code)),
            "problems": list(self.problems),
            "signature_algorithm": self.signature_algorithm,
            "canonicalization": self.canonicalization,
            "signature_value_ok": self.signature_value_ok,
            "references": [
                {
                    "uri": r.uri,
                    "target": r.target,
                    "ok": r.ok,
                    "reason": r.reason,
                    "digest_algorithm": r.digest_algorithm,
                }
                for r in self.references
            ],
            "token_type": self.token_type,
            "signer": certificate_summary(self.signer) if self.signer is not None else None,
            "chain": [certificate_summary(c) for c in self.chain],
            "chain_linked": chain_is_linked(self.chain) if self.chain else None,
            "from": [{"party_id": p.value, "type": p.type} for p in self.from_parties],
            "message_id": self.message_id,
        }


VERDICT_CODES = {
    "valid": _("The signature is valid: every reference and the signature value verify"),
    "absent": _("The message has no WS-Security signature"),
    "malformed_signature": _("The signature is incomplete or malformed"),
    "multiple_signatures": _("The security header holds more than one signature"),
    "unsupported_algorithm": _("The signature uses an algorithm that is not supported"),
    "reference_failed": _("A signed part of the message does not match its digest"),
    "not_covered": _("A part of the message that must be signed is not signed"),
    "token_missing": _("The certificate that made the signature cannot be found in the message"),
    "token_malformed": _("The security token holds no readable certificate"),
    "key_mismatch": _("The key of the certificate does not fit the signature algorithm"),
    "weak_key": _("The key of the certificate is too short to be trusted"),
    "signature_value_invalid": _("The signature value does not verify with the certificate"),
}

#: The order in which failures are reported as `code` (the most telling first).
_CODE_ORDER = (
    "malformed_signature",
    "multiple_signatures",
    "unsupported_algorithm",
    "token_missing",
    "token_malformed",
    "key_mismatch",
    "weak_key",
    "signature_value_invalid",
    "reference_failed",
    "not_covered",
)


#: Certificates recur from message to message (a sender seals with the same one for years), and
#: what is read from one depends only on its bytes: remembered per process, by value.
_CERTIFICATE_FACTS_CACHE = 1024


def certificate_summary(certificate: x509.Certificate) -> dict[str, str]:
    """Subject, issuer, serial, SHA-256 fingerprint and validity (a field that cannot be decoded
    is given as "unreadable")."""
    return dict(_certificate_summary(certificate))


@lru_cache(maxsize=_CERTIFICATE_FACTS_CACHE)
def _certificate_summary(certificate: x509.Certificate) -> tuple[tuple[str, str], ...]:
    fields: dict[str, Callable[[], str]] = {
        "subject": lambda: certificate.subject.rfc4514_string(),
        "issuer": lambda: certificate.issuer.rfc4514_string(),
        "serial_number": lambda: format(certificate.serial_number, "x"),
        "sha256": lambda: certificate.fingerprint(hashes.SHA256()).hex(),
        "not_valid_before": lambda: certificate.not_valid_before_utc.isoformat(),
        "not_valid_after": lambda: certificate.not_valid_after_utc.isoformat(),
    }
    summary = []
    for name, read in fields.items():
        try:
            summary.append((name, read()))
        except Exception:  # lazily decoded fields of a damaged certificate
            summary.append((name, "unreadable"))
    return tuple(summary)


def chain_is_linked(chain: tuple[x509.Certificate, ...]) -> bool:
    """Each certificate of the path (root first, leaf last) is issued by the one before it
    (names and signature). Says nothing about trust: that is the certificate policy's job."""
    return all(_issued_by(issuer, subject) for issuer, subject in pairwise(chain))


@lru_cache(maxsize=_CERTIFICATE_FACTS_CACHE)
def _issued_by(issuer: x509.Certificate, subject: x509.Certificate) -> bool:
    try:
        subject.verify_directly_issued_by(issuer)
    except Exception:  # InvalidSignature, ValueError, UnsupportedAlgorithm, damaged fields
        return False
    return True


def _der_length(data: bytes, pos: int) -> tuple[int, int]:
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4 or pos + 1 + count > len(data):
        raise ValueError("bad DER length")
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _certificate_load(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except Exception as exc:  # ValueError, InvalidVersion…
        raise ValueError(str(exc)) from None


def pkipath_certificates(der: bytes) -> tuple[x509.Certificate, ...]:
    """The certificates of a PkiPath (a DER SEQUENCE OF Certificate), in their order."""
    if not der or der[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    length, pos = _der_length(der, 1)
    end = pos + length
    if end != len(der):
        raise ValueError("trailing bytes after the SEQUENCE")
    certificates = []
    while pos < end:
        if der[pos] != 0x30:
            raise ValueError("an element is not a certificate")
        inner, content = _der_length(der, pos + 1)
        next_pos = content + inner
        if next_pos > end:
            raise ValueError("truncated certificate")
        certificates.append(_certificate_load(der[pos:next_pos]))
        pos = next_pos
    if not certificates:
        raise ValueError("empty PkiPath")
    return tuple(certificates)


def _b64(text: str | None) -> bytes:
    """Base64 text with line breaks (binascii skips characters outside the alphabet; the values
    decoded here are either signed or checked against a signature)."""
    return binascii.a2b_base64(text or "")


def _prefix_list(parent: Any) -> list[str]:
    inclusive = parent.find(f"{{{NS_EXC_C14N}}}InclusiveNamespaces")
    if inclusive is None:
        return []
    return (inclusive.get("PrefixList") or "").split()


def canonicalise(node: Any, algorithm: str, prefixes: list[str] | None = None) -> bytes:
    """C14N 1.0 (inclusive or exclusive, without comments) of an element or a document.

    For a parsed document (lxml skips an InclusiveNamespaces prefix that is not in the parser's
    dictionary, which only matters for trees built in code: parse them again first)."""
    if algorithm == C14N_EXCLUSIVE:
        octets: bytes = etree.tostring(
            node,
            method="c14n",
            exclusive=True,
            with_comments=False,
            inclusive_ns_prefixes=prefixes or None,
        )
        if prefixes and "#default" in prefixes and isinstance(node.tag, str):
            _default_namespace_check(node)
        return octets
    if algorithm == C14N_INCLUSIVE:
        return etree.tostring(node, method="c14n", exclusive=False, with_comments=False)
    raise ValueError(algorithm)


class UnsupportedCanonicalization(ValueError):
    """The canonical form cannot be produced faithfully (see `canonicalise`)."""


def _default_namespace_check(node: Any) -> None:
    """libxml2 (through lxml) ignores "#default" in an InclusiveNamespaces PrefixList. Its output
    is still right when no default namespace is in scope, or when the apex element is itself in
    the default namespace (it is then rendered anyway); otherwise refuse rather than guess."""
    if node.nsmap.get(None) and node.prefix is not None:
        raise UnsupportedCanonicalization("#default")


def _id_index(root: Any) -> dict[str, list[Any]]:
    """Elements by wsu:Id, Id or ID (more than one element for an id means a forged message)."""
    xpath = getattr(_parsers, "ids", None)
    if xpath is None:
        xpath = etree.XPath("//@wsu:Id | //@Id | //@ID", namespaces={"wsu": NS_WSU})
        _parsers.ids = xpath
    index: dict[str, list[Any]] = {}
    for attribute in xpath(root):
        elements = index.setdefault(str(attribute), [])
        element = attribute.getparent()
        if not any(e is element for e in elements):
            elements.append(element)
    return index


def _without_signature(element: Any, signature: Any) -> Any:
    """A copy of `element` with the ds:Signature removed (enveloped-signature transform)."""
    path = []
    node = signature
    while node is not None and node is not element:
        parent = node.getparent()
        if parent is None:
            return element
        path.append(parent.index(node))
        node = parent
    if node is None:
        return element
    copy = deepcopy(element)
    target = copy
    for index in reversed(path):
        target = target[index]
    parent = target.getparent()
    if target.tail:
        previous = target.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + target.tail
        else:
            parent.text = (parent.text or "") + target.tail
    parent.remove(target)
    return copy


def attachment_octets(attachment: As4Attachment) -> bytes:
    """The Attachment-Content-Signature-Transform (WSS SwA profile 1.1, 5.4.1 and 5.4.2)."""
    main, _params = content_type_split(attachment.content_type)
    if main in ("text/xml", "application/xml") or (
        main.endswith("+xml") and main.split("/")[0] in ("application", "image")
    ):
        return canonicalise(xml_parse(attachment.content).getroottree(), C14N_EXCLUSIVE)
    if main.startswith("text/"):
        return re.sub(rb"\r\n|\r|\n", b"\r\n", attachment.content)
    return attachment.content


def _target_name(message: As4Message, element: Any) -> str:
    if message.messaging is not None and element is message.messaging:
        return "eb:Messaging"
    if element is message.body:
        return "soap:Body"
    return etree.QName(element).localname


def _reference_check(
    message: As4Message,
    reference: Any,
    ids: dict[str, list[Any]],
    signature: Any,
    covered: list[Any],
    covered_cids: set[str],
) -> ReferenceResult:
    uri = reference.get("URI")
    children = _child_map(reference)
    digest_methods = children.get(_DS_DIGEST_METHOD, [])
    digest_values = children.get(_DS_DIGEST_VALUE, [])
    transforms_elements = children.get(_DS_TRANSFORMS, [])
    digest_uri = digest_methods[0].get("Algorithm", "") if len(digest_methods) == 1 else ""
    digest_name = DIGESTS.get(digest_uri, "")
    transforms = (
        [(t.get("Algorithm", ""), t) for t in transforms_elements[0].iterchildren(_DS_TRANSFORM)]
        if transforms_elements
        else []
    )

    def fail(reason: str, target: str = "") -> ReferenceResult:
        return ReferenceResult(
            uri=uri or "", ok=False, reason=reason, target=target, digest_algorithm=digest_name
        )

    if uri is None:
        return fail("no_uri")
    if len(transforms_elements) > 1 or len(digest_values) != 1 or len(digest_methods) != 1:
        return fail("malformed_reference")
    if not digest_name:
        return fail("unsupported_digest")
    try:
        expected = _b64(digest_values[0].text)
    except (binascii.Error, ValueError):
        return fail("malformed_digest")

    if uri.startswith("cid:"):
        content_id = unquote(uri[4:])
        target = "attachment"
        attachment = message.attachment(content_id)
        if attachment is None:
            return fail("attachment_not_found", target)
        covered_cids.add(content_id)
        if [a for a, _t in transforms] != [TRANSFORM_ATTACHMENT_CONTENT]:
            if TRANSFORM_ATTACHMENT_COMPLETE in [a for a, _t in transforms]:
                return fail("unsupported_transform:Attachment-Complete-Signature-Transform", target)
            return fail("unsupported_transform", target)
        if content_id in message.encrypted_content_ids:
            return fail("attachment_encrypted", target)
        try:
            octets = attachment_octets(attachment)
        except As4ParseError:
            return fail("attachment_not_xml", target)
    elif uri.startswith("#") or uri == "":
        if uri == "":
            element = message.envelope
        else:
            found = ids.get(uri[1:], [])
            if not found:
                return fail("not_found")
            if len(found) > 1:
                return fail("duplicate_id")
            element = found[0]
        target = _target_name(message, element)
        node = element
        octets_opt: bytes | None = None
        algorithms = [a for a, _t in transforms]
        for index, (algorithm, transform) in enumerate(transforms):
            if algorithm == TRANSFORM_ENVELOPED and index == 0:
                node = _without_signature(node, signature)
            elif algorithm in _CANONICALIZATIONS and index == len(algorithms) - 1:
                try:
                    octets_opt = canonicalise(node, algorithm, _prefix_list(transform))
                except UnsupportedCanonicalization:
                    return fail("unsupported_transform:#default", target)
            else:
                return fail("unsupported_transform", target)
        if octets_opt is None:
            octets_opt = canonicalise(node, C14N_INCLUSIVE)
        octets = octets_opt
        covered.append(element)
    else:
        return fail("external_reference")

    digest = hashlib.new(digest_name, octets).digest()
    if not hmac.compare_digest(digest, expected):
        return fail("digest_mismatch", target)
    return ReferenceResult(uri=uri, ok=True, target=target, digest_algorithm=digest_name)


_DS_SIGNED_INFO = f"{{{NS_DS}}}SignedInfo"
_DS_SIGNATURE_VALUE = f"{{{NS_DS}}}SignatureValue"
_DS_C14N_METHOD = f"{{{NS_DS}}}CanonicalizationMethod"
_DS_SIGNATURE_METHOD = f"{{{NS_DS}}}SignatureMethod"
_DS_REFERENCE = f"{{{NS_DS}}}Reference"
_DS_TRANSFORMS = f"{{{NS_DS}}}Transforms"
_DS_TRANSFORM = f"{{{NS_DS}}}Transform"
_DS_DIGEST_METHOD = f"{{{NS_DS}}}DigestMethod"
_DS_DIGEST_VALUE = f"{{{NS_DS}}}DigestValue"


def _child_map(element: Any) -> dict[str, list[Any]]:
    """The child elements by tag, in one pass (cheaper than one find() per name)."""
    children: dict[str, list[Any]] = {}
    for child in element.iterchildren(etree.Element):
        children.setdefault(child.tag, []).append(child)
    return children


def _is_covered(element: Any, covered: list[Any]) -> bool:
    node = element
    while node is not None:
        if any(node is c for c in covered):
            return True
        node = node.getparent()
    return False


def _token_resolve(
    signature: Any, ids: dict[str, list[Any]]
) -> tuple[str, tuple[x509.Certificate, ...]]:
    """(token type, certificates) of the key of the signature; raises _Failure."""
    key_info = signature.find(f"{{{NS_DS}}}KeyInfo")
    if key_info is None:
        raise _Failure("token_missing")
    x509_data = key_info.find(f"{{{NS_DS}}}X509Data")
    x509_certificate = None if x509_data is None else x509_data.find(f"{{{NS_DS}}}X509Certificate")
    if x509_certificate is not None:
        try:
            certificate = _certificate_load(_b64(x509_certificate.text))
            return TOKEN_X509DATA, _certificates_checked((certificate,))
        except (ValueError, binascii.Error):
            raise _Failure("token_malformed") from None
    str_element = key_info.find(f"{{{NS_WSSE}}}SecurityTokenReference")
    reference = None if str_element is None else str_element.find(f"{{{NS_WSSE}}}Reference")
    uri = reference.get("URI", "") if reference is not None else ""
    if not uri.startswith("#"):
        raise _Failure("token_missing")
    tokens = ids.get(uri[1:], [])
    if len(tokens) != 1 or tokens[0].tag != f"{{{NS_WSSE}}}BinarySecurityToken":
        raise _Failure("token_missing")
    token = tokens[0]
    value_type = token.get("ValueType", "")
    kind = value_type.rpartition("#")[2]
    if kind not in (TOKEN_X509V3, TOKEN_PKIPATH):
        raise _Failure("unsupported_algorithm", f"token:{value_type}")
    try:
        der = _b64(token.text)
        if kind == TOKEN_X509V3:
            return kind, _certificates_checked((_certificate_load(der),))
        return kind, _certificates_checked(pkipath_certificates(der))
    except (ValueError, binascii.Error):
        raise _Failure("token_malformed") from None


def _certificates_checked(
    certificates: tuple[x509.Certificate, ...],
) -> tuple[x509.Certificate, ...]:
    """cryptography decodes some fields lazily: read the key now, so that a damaged key is a
    malformed token, not a crash (names are read, when asked for, by certificate_summary)."""
    try:
        for certificate in certificates:
            certificate.public_key()
    except Exception as exc:  # UnsupportedAlgorithm, ValueError…
        raise ValueError(str(exc)) from None
    return certificates


class _Failure(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.problem = f"{code}:{detail}" if detail else code
        super().__init__(self.problem)


def _signature_value_check(
    method: str, certificate: x509.Certificate, signed_info: bytes, value: bytes
) -> None:
    family, hash_name = SIGNATURE_METHODS[method]
    key = certificate.public_key()
    try:
        if family == "rsa":
            if not isinstance(key, rsa.RSAPublicKey):
                raise _Failure("key_mismatch")
            if key.key_size < MIN_RSA_KEY_SIZE:
                raise _Failure("weak_key", f"rsa-{key.key_size}")
            key.verify(value, signed_info, padding.PKCS1v15(), _HASHES[hash_name]())
        elif family == "ec":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise _Failure("key_mismatch")
            if key.curve.key_size < MIN_EC_KEY_SIZE:
                raise _Failure("weak_key", f"ec-{key.curve.name}")
            size = (key.curve.key_size + 7) // 8
            if len(value) != 2 * size:
                raise _Failure("signature_value_invalid", "ecdsa_length")
            r = int.from_bytes(value[:size], "big")
            s = int.from_bytes(value[size:], "big")
            key.verify(encode_dss_signature(r, s), signed_info, ec.ECDSA(_HASHES[hash_name]()))
        else:
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise _Failure("key_mismatch")
            key.verify(value, signed_info)
    except InvalidSignature:
        raise _Failure("signature_value_invalid") from None


def _security_headers(message: As4Message) -> list[Any]:
    header = message.header
    if header is None:
        return []
    return header.findall(f"{{{NS_WSSE}}}Security")


def as4_signature_verify(message: As4Message) -> SignatureVerdict:
    """Check the WS-Security signature of a parsed message (see the module docstring)."""
    base: dict[str, Any] = {"from_parties": message.from_parties, "message_id": message.message_id}
    signatures = [
        signature
        for security in _security_headers(message)
        for signature in security.findall(f"{{{NS_DS}}}Signature")
    ]
    if not signatures:
        return SignatureVerdict(status="absent", code="absent", **base)
    if len(signatures) > 1:
        return SignatureVerdict(
            status="invalid", code="multiple_signatures", problems=("multiple_signatures",), **base
        )
    signature = signatures[0]
    problems: list[str] = []
    parts = _child_map(signature)
    signed_infos = parts.get(_DS_SIGNED_INFO, [])
    values = parts.get(_DS_SIGNATURE_VALUE, [])
    if len(signed_infos) != 1 or len(values) != 1:
        return SignatureVerdict(
            status="invalid", code="malformed_signature", problems=("malformed_signature",), **base
        )
    signed_info = signed_infos[0]
    value_text = values[0].text or ""
    info = _child_map(signed_info)
    c14n_elements = info.get(_DS_C14N_METHOD, [])
    method_elements = info.get(_DS_SIGNATURE_METHOD, [])
    if len(c14n_elements) != 1 or len(method_elements) != 1:
        return SignatureVerdict(
            status="invalid", code="malformed_signature", problems=("malformed_signature",), **base
        )
    c14n_element = c14n_elements[0]
    c14n = c14n_element.get("Algorithm", "")
    method = method_elements[0].get("Algorithm", "")
    base.update(signature_algorithm=method or None, canonicalization=c14n or None)
    if c14n not in _CANONICALIZATIONS:
        problems.append(f"unsupported_algorithm:canonicalization:{c14n}")
    if method not in SIGNATURE_METHODS:
        problems.append(f"unsupported_algorithm:signature:{method}")

    ids = _id_index(message.envelope)
    covered: list[Any] = []
    covered_cids: set[str] = set()
    references = tuple(
        _reference_check(message, reference, ids, signature, covered, covered_cids)
        for reference in info.get(_DS_REFERENCE, [])
    )
    if not references:
        problems.append("malformed_signature:no_reference")
    for result in references:
        if not result.ok:
            problems.append(f"reference_failed:{result.uri}:{result.reason}")

    if message.messaging is not None and not _is_covered(message.messaging, covered):
        problems.append("not_covered:eb:Messaging")
    body = message.body
    if body is None or not _is_covered(body, covered):
        problems.append("not_covered:soap:Body")
    for attachment in message.attachments:
        if not attachment.content_id or attachment.content_id not in covered_cids:
            problems.append(f"not_covered:cid:{attachment.content_id}")

    token_type: str | None = None
    chain: tuple[x509.Certificate, ...] = ()
    signature_value_ok: bool | None = None
    try:
        token_type, chain = _token_resolve(signature, ids)
    except _Failure as failure:
        problems.append(failure.problem)
    if chain and c14n in _CANONICALIZATIONS and method in SIGNATURE_METHODS:
        signature_value_ok = False
        try:
            value = _b64(value_text)
            signed_octets = canonicalise(signed_info, c14n, _prefix_list(c14n_element))
            _signature_value_check(method, chain[-1], signed_octets, value)
            signature_value_ok = True
        except UnsupportedCanonicalization:
            problems.append("unsupported_algorithm:canonicalization:#default")
        except (binascii.Error, ValueError):
            problems.append("malformed_signature:signature_value")
        except _Failure as failure:
            problems.append(failure.problem)

    ok = not problems and signature_value_ok is True
    if ok:
        code = "valid"
    else:
        first = [p.split(":", 1)[0] for p in problems] or ["signature_value_invalid"]
        code = min(first, key=lambda c: _CODE_ORDER.index(c) if c in _CODE_ORDER else 99)
    return SignatureVerdict(
        status="valid" if ok else "invalid",
        code=code,
        problems=tuple(problems),
        references=references,
        signature_value_ok=signature_value_ok,
        token_type=token_type,
        chain=chain,
        **base,
    )


def as4_verify(raw: bytes) -> SignatureVerdict:
    """Parse and verify a message as received; As4ParseError when it cannot be read."""
    return as4_signature_verify(as4_message_parse(raw))
