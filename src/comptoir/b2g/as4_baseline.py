"""The bare signature check, for the benchmark's baseline (issue 6, point 5).

`as4_baseline_verify` does only what any XML-signature check of an AS4 message must do, with the
same libraries as comptoir.b2g.as4 (lxml's exclusive C14N, hashlib, cryptography): parse the SOAP
XML, digest every referenced element (by wsu:Id) or attachment (raw octets), canonicalise
SignedInfo and check the RSA/ECDSA signature value with the certificate of the BinarySecurityToken
(the last one of a PkiPath). No HTTP or MIME handling, no safety checks beyond the parser's, no
coverage rules, no verdict: True or False. Not for production use: call
`comptoir.b2g.as4.as4_verify`.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from comptoir.b2g.as4 import (
    _HASHES,
    DIGESTS,
    NS_DS,
    NS_EXC_C14N,
    NS_WSSE,
    NS_WSU,
    SIGNATURE_METHODS,
    pkipath_certificates,
)

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_DS = f"{{{NS_DS}}}"
_WSU_ID = f"{{{NS_WSU}}}Id"
_INCLUSIVE = f"{{{NS_EXC_C14N}}}InclusiveNamespaces"


def _prefixes(element: Any) -> list[str] | None:
    inclusive = element.find(f".//{_INCLUSIVE}")
    return inclusive.get("PrefixList").split() if inclusive is not None else None


def as4_baseline_verify(xml: bytes, attachments: dict[str, bytes] | None = None) -> bool:
    root = etree.fromstring(xml, _PARSER)
    ids = {element.get(_WSU_ID): element for element in root.iterfind(f".//*[@{_WSU_ID}]")}
    signature = root.find(f".//{_DS}Signature")
    signed_info = signature.find(f"{_DS}SignedInfo")
    for reference in signed_info.iterfind(f"{_DS}Reference"):
        uri = reference.get("URI")
        if uri.startswith("cid:"):
            octets = (attachments or {})[uri[4:]]
        else:
            octets = etree.tostring(
                ids[uri[1:]],
                method="c14n",
                exclusive=True,
                inclusive_ns_prefixes=_prefixes(reference),
            )
        algorithm = DIGESTS[reference.find(f"{_DS}DigestMethod").get("Algorithm")]
        expected = base64.b64decode(reference.findtext(f"{_DS}DigestValue"))
        if hashlib.new(algorithm, octets).digest() != expected:
            return False
    data = etree.tostring(
        signed_info,
        method="c14n",
        exclusive=True,
        inclusive_ns_prefixes=_prefixes(signed_info.find(f"{_DS}CanonicalizationMethod")),
    )
    token_id = signature.find(f".//{{{NS_WSSE}}}Reference").get("URI")[1:]
    token = ids[token_id]
    der = base64.b64decode(token.text)
    if token.get("ValueType").endswith("#X509PKIPathv1"):
        certificate = pkipath_certificates(der)[-1]
    else:
        certificate = x509.load_der_x509_certificate(der)
    value = base64.b64decode(signature.findtext(f"{_DS}SignatureValue"))
    family, hash_name = SIGNATURE_METHODS[
        signed_info.find(f"{_DS}SignatureMethod").get("Algorithm")
    ]
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(value, data, padding.PKCS1v15(), _HASHES[hash_name]())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            size = len(value) // 2
            der_signature = encode_dss_signature(
                int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big")
            )
            key.verify(der_signature, data, ec.ECDSA(_HASHES[hash_name]()))
        else:
            return False
    except InvalidSignature:
        return False
    return family in ("rsa", "ec")
