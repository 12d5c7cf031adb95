"""Optional check of EORI numbers against the EU EORI validation service (EOS, SOAP).

The service (https://ec.europa.eu/taxation_customs/dds2/eos/validation/services/validation)
offers one operation, `validateEORI` in the namespace http://eori.ws.eos.dds.s/, taking up to 10
`eori` elements and answering `validateEORIResponse/return` with a `requestDate` and one `result`
per number: `eori`, `status` (0 valid, 1 not valid), `statusDescr`, and, when the operator agreed
to publication, `name`, `address`, `street`, `postalCode`, `city`, `country`.

Turned off while COMPTOIR_EORI_SERVICE_URL is empty. This module never raises to its caller: when
the service is off, unreachable, slow past COMPTOIR_EORI_SERVICE_TIMEOUT seconds or answers
anything but a well-formed answer, the numbers come back "unavailable" with a message saying they
were checked locally only. See docs/eori.md.
"""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from xml.parsers import expat
from xml.sax.saxutils import escape

import requests
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from comptoir.core.identifiers import eori_normalise

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise

logger = logging.getLogger(__name__)

SOAP_ENVELOPE_NS = "http://schemas.xmlsoap.org/soap/envelope/"
EORI_NS = "http://eori.ws.eos.dds.s/"
BATCH_SIZE = 10
DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 1_000_000

Status = Literal["valid", "invalid", "unavailable"]

MESSAGE_VALID = _("The EU EORI service confirms that this EORI number is valid")
MESSAGE_INVALID = _(
    "The EU EORI service does not know this EORI number: check the number with the company"
)
MESSAGE_UNAVAILABLE = _(
    "The EU EORI service could not be reached; the number was checked locally only"
)
MESSAGE_DISABLED = _(
    "The check against the EU EORI service is turned off; the number was checked locally only"
)


@dataclass(frozen=True)
class EoriRemoteResult:
    number: str
    status: Status
    message: StrPromise
    description: str = ""  # statusDescr, as the service words it (English)
    name: str = ""
    address: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""

    @property
    def available(self) -> bool:
        return self.status != "unavailable"


class _BadAnswer(Exception):
    """The service answered something that is not a validateEORI response we can trust."""


def _service_url() -> str:
    return str(getattr(settings, "COMPTOIR_EORI_SERVICE_URL", "") or "").strip()


def _timeout() -> float:
    value = getattr(settings, "COMPTOIR_EORI_SERVICE_TIMEOUT", DEFAULT_TIMEOUT_SECONDS)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT_SECONDS
    return seconds if seconds > 0 else DEFAULT_TIMEOUT_SECONDS


def _unavailable(number: str, message: StrPromise = MESSAGE_UNAVAILABLE) -> EoriRemoteResult:
    return EoriRemoteResult(number=number, status="unavailable", message=message)


def soap_request_body(*, numbers: list[str]) -> bytes:
    """The SOAP 1.1 envelope of one validateEORI call."""
    items = "".join(f"<ev:eori>{escape(number)}</ev:eori>" for number in numbers)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENVELOPE_NS}" xmlns:ev="{EORI_NS}">'
        "<soap:Header/><soap:Body>"
        f"<ev:validateEORI>{items}</ev:validateEORI>"
        "</soap:Body></soap:Envelope>"
    ).encode()


def _refuse(*args: Any) -> Any:
    raise _BadAnswer("DTDs and entity declarations are refused")


def parse_xml_safely(data: bytes) -> ET.Element:
    """Parse XML with expat, refusing any DTD (hence any entity, internal or external)."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")

    def qualified(name: str) -> str:
        uri, _space, local = name.rpartition(" ")
        return f"{{{uri}}}{local}" if uri else local

    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.StartElementHandler = lambda name, attrs: builder.start(qualified(name), attrs)
    parser.EndElementHandler = lambda name: builder.end(qualified(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise _BadAnswer(f"not well-formed XML: {exc}") from exc
    return builder.close()


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _child_text(element: ET.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def parse_soap_response(*, data: bytes) -> dict[str, EoriRemoteResult]:
    """The results of one validateEORI answer, by EORI number; _BadAnswer if it is not one."""
    root = parse_xml_safely(data)
    if root.tag != f"{{{SOAP_ENVELOPE_NS}}}Envelope":
        raise _BadAnswer(f"not a SOAP envelope: {root.tag}")
    body = root.find(f"{{{SOAP_ENVELOPE_NS}}}Body")
    if body is None:
        raise _BadAnswer("no SOAP body")
    fault = body.find(f"{{{SOAP_ENVELOPE_NS}}}Fault")
    if fault is not None:
        raise _BadAnswer(f"SOAP fault: {_child_text(fault, 'faultstring')}")
    response = body.find(f"{{{EORI_NS}}}validateEORIResponse")
    if response is None:
        raise _BadAnswer("no validateEORIResponse")
    returned = [child for child in response if _local(child.tag) == "return"]
    if len(returned) != 1:
        raise _BadAnswer("no single return element")
    results: dict[str, EoriRemoteResult] = {}
    for item in returned[0]:
        if _local(item.tag) != "result":
            continue
        number = eori_normalise(value=_child_text(item, "eori"))
        status_code = _child_text(item, "status")
        if not number or status_code not in {"0", "1"}:
            raise _BadAnswer(f"a result without a number or a known status: {status_code!r}")
        valid = status_code == "0"
        results[number] = EoriRemoteResult(
            number=number,
            status="valid" if valid else "invalid",
            message=MESSAGE_VALID if valid else MESSAGE_INVALID,
            description=_child_text(item, "statusDescr"),
            name=_child_text(item, "name"),
            address=_child_text(item, "address"),
            street=_child_text(item, "street"),
            postal_code=_child_text(item, "postalCode"),
            city=_child_text(item, "city"),
            country=_child_text(item, "country"),
        )
    return results


def _call(*, url: str, numbers: list[str], timeout: float) -> dict[str, EoriRemoteResult]:
    deadline = time.monotonic() + 2 * timeout  # connect, then the whole answer
    response = requests.post(
        url,
        data=soap_request_body(numbers=numbers),
        headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
        timeout=(timeout, timeout),
        stream=True,
        allow_redirects=False,
    )
    with response:
        if response.status_code != 200:
            raise _BadAnswer(f"HTTP status {response.status_code}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=65536):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise _BadAnswer("answer too large")
            if time.monotonic() > deadline:
                raise _BadAnswer("answer too slow")
            chunks.append(chunk)
    return parse_soap_response(data=b"".join(chunks))


def eori_check_remote(*, numbers: list[str]) -> dict[str, EoriRemoteResult]:
    """Ask the EU EORI service about these numbers (normalised, duplicates and empties dropped),
    10 a call. Every number gets a result; none of the failures of the service raises."""
    wanted = list(dict.fromkeys(n for n in (eori_normalise(value=v) for v in numbers) if n))
    url = _service_url()
    if not url:
        return {number: _unavailable(number, MESSAGE_DISABLED) for number in wanted}
    timeout = _timeout()
    results: dict[str, EoriRemoteResult] = {}
    for start in range(0, len(wanted), BATCH_SIZE):
        batch = wanted[start : start + BATCH_SIZE]
        try:
            answered = _call(url=url, numbers=batch, timeout=timeout)
        except (requests.RequestException, _BadAnswer, OSError) as exc:
            logger.warning("EU EORI service unavailable for %d number(s): %s", len(batch), exc)
            answered = {}
        except Exception:  # the contract: never raise to the caller
            logger.exception("EU EORI service check failed unexpectedly")
            answered = {}
        for number in batch:
            results[number] = answered.get(number) or _unavailable(number)
    return results
