"""The EU EORI service check against real SOAP servers on loopback, started by the tests: one that
answers like the EU service, one that is too slow, one that fails, and a port where nothing
listens."""

from __future__ import annotations

import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

import pytest
from django.utils import translation

from comptoir.core.eori_service import (
    EORI_NS,
    SOAP_ENVELOPE_NS,
    eori_check_remote,
    parse_xml_safely,
)

UNAVAILABLE = "The EU EORI service could not be reached; the number was checked locally only"
DISABLED = (
    "The check against the EU EORI service is turned off; the number was checked locally only"
)


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<S:Envelope xmlns:S="{SOAP_ENVELOPE_NS}"><S:Body>{body}</S:Body></S:Envelope>'
    ).encode()


def _result(number: str, *, valid: bool, name: str = "", address: str = "") -> str:
    status, description = ("0", "Valid") if valid else ("1", "Not valid")
    extra = f"<name>{escape(name)}</name><address>{escape(address)}</address>" if name else ""
    return (
        f"<result><eori>{escape(number)}</eori><status>{status}</status>"
        f"<statusDescr>{description}</statusDescr>{extra}</result>"
    )


@dataclass
class SoapServer:
    """Answers validateEORI like the EU service; `behaviour` picks how it misbehaves."""

    url: str = ""
    known: dict[str, tuple[str, str]] = field(default_factory=dict)  # number -> (name, address)
    behaviour: str = "answer"
    fail_from_call: int | None = None  # answer 500 from this call on (0-based)
    calls: list[list[str]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def numbers_of(self, request_body: bytes) -> list[str]:
        root = ET.fromstring(request_body)
        assert root.tag == f"{{{SOAP_ENVELOPE_NS}}}Envelope"
        body = root.find(f"{{{SOAP_ENVELOPE_NS}}}Body")
        assert body is not None
        operation = body.find(f"{{{EORI_NS}}}validateEORI")
        assert operation is not None, "no validateEORI operation in the request"
        return [(item.text or "") for item in operation if item.tag.endswith("eori")]

    def answer(self, numbers: list[str], call_index: int) -> tuple[int, bytes]:
        if self.fail_from_call is not None and call_index >= self.fail_from_call:
            return 500, b"Internal Server Error"
        if self.behaviour == "error500":
            return 500, _envelope(
                "<S:Fault><faultcode>S:Server</faultcode><faultstring>down</faultstring></S:Fault>"
            )
        if self.behaviour == "fault":
            return 200, _envelope(
                "<S:Fault><faultcode>S:Client</faultcode>"
                "<faultstring>Too many EORI numbers</faultstring></S:Fault>"
            )
        if self.behaviour == "garbage":
            return 200, b"<html><body>Service under maintenance</body></html"
        if self.behaviour == "large":
            return 200, b"<a>" + b"x" * 1_100_000 + b"</a>"
        if self.behaviour == "external_entity":
            return 200, (
                b'<?xml version="1.0"?><!DOCTYPE S:Envelope ['
                b'<!ENTITY secret SYSTEM "file:///etc/hostname">]>'
                + _envelope(
                    f'<ns2:validateEORIResponse xmlns:ns2="{EORI_NS}"><return>'
                    f"<result><eori>{numbers[0]}</eori><status>0</status>"
                    "<statusDescr>Valid</statusDescr><name>&secret;</name></result>"
                    "</return></ns2:validateEORIResponse>"
                ).split(b"?>", 1)[1]
            )
        if self.behaviour == "entity_expansion":
            return 200, (
                b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                b"<lolz>&lol2;</lolz>"
            )
        if self.behaviour == "unknown_status":
            results = "".join(
                f"<result><eori>{n}</eori><status>7</status></result>" for n in numbers
            )
        else:
            shown = numbers[1:] if self.behaviour == "drop_first" else numbers
            results = "".join(
                _result(
                    n,
                    valid=n in self.known,
                    name=self.known.get(n, ("", ""))[0],
                    address=self.known.get(n, ("", ""))[1],
                )
                for n in shown
            )
        return 200, _envelope(
            f'<ns2:validateEORIResponse xmlns:ns2="{EORI_NS}"><return>'
            f"<requestDate>2025-01-15+01:00</requestDate>{results}"
            "</return></ns2:validateEORIResponse>"
        )


def _handler(server_state: SoapServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server hook
            length = int(self.headers.get("Content-Length", "0"))
            numbers = server_state.numbers_of(self.rfile.read(length))
            with server_state.lock:
                call_index = len(server_state.calls)
                server_state.calls.append(numbers)
                server_state.headers.append(dict(self.headers))
            if server_state.behaviour == "sleep":
                server_state.release.wait(10)
            status, body = server_state.answer(numbers, call_index)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def soap_server(settings) -> Iterator[SoapServer]:
    state = SoapServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/validation"
    settings.COMPTOIR_EORI_SERVICE_URL = state.url
    settings.COMPTOIR_EORI_SERVICE_TIMEOUT = 5
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _statuses(results) -> dict[str, str]:
    return {number: result.status for number, result in results.items()}


def _messages(results) -> set[str]:
    with translation.override("en"):
        return {str(result.message) for result in results.values()}


def test_valid_and_unknown_numbers_with_the_published_name_and_address(soap_server):
    soap_server.known = {"FR552100554": ("RENAULT", "13-15 QUAI LE GALLO, BOULOGNE")}
    results = eori_check_remote(numbers=["FR552100554", "DE1234567"])
    assert _statuses(results) == {"FR552100554": "valid", "DE1234567": "invalid"}
    valid = results["FR552100554"]
    assert (valid.name, valid.address, valid.description) == (
        "RENAULT",
        "13-15 QUAI LE GALLO, BOULOGNE",
        "Valid",
    )
    assert valid.available
    with translation.override("en"):
        assert str(valid.message) == "The EU EORI service confirms that this EORI number is valid"
        assert str(results["DE1234567"].message) == (
            "The EU EORI service does not know this EORI number: check the number with the company"
        )
    assert soap_server.calls == [["FR552100554", "DE1234567"]]
    headers = {k.lower(): v for k, v in soap_server.headers[0].items()}
    assert headers["content-type"].startswith("text/xml")
    assert "soapaction" in headers


def test_twelve_numbers_go_in_two_calls_of_ten_and_two(soap_server):
    numbers = [f"IT{n:011d}" for n in range(12)]
    soap_server.known = {n: ("", "") for n in numbers[::2]}
    results = eori_check_remote(numbers=numbers)
    assert [len(call) for call in soap_server.calls] == [10, 2]
    assert [n for call in soap_server.calls for n in call] == numbers
    assert list(results) == numbers
    assert all(
        results[n].status == ("valid" if i % 2 == 0 else "invalid") for i, n in enumerate(numbers)
    )


def test_numbers_are_normalised_and_sent_once(soap_server):
    results = eori_check_remote(numbers=[" fr 552100554", "FR552100554", "", "  "])
    assert soap_server.calls == [["FR552100554"]]
    assert list(results) == ["FR552100554"]


def test_a_second_batch_that_fails_leaves_the_first_one_answered(soap_server):
    numbers = [f"AT{n:05d}" for n in range(12)]
    soap_server.known = {n: ("", "") for n in numbers}
    soap_server.fail_from_call = 1
    results = eori_check_remote(numbers=numbers)
    assert len(soap_server.calls) == 2
    assert {results[n].status for n in numbers[:10]} == {"valid"}
    assert {results[n].status for n in numbers[10:]} == {"unavailable"}


def test_disabled_service_is_not_called(soap_server, settings):
    settings.COMPTOIR_EORI_SERVICE_URL = ""
    results = eori_check_remote(numbers=["FR552100554"])
    assert soap_server.calls == []
    assert _statuses(results) == {"FR552100554": "unavailable"}
    assert not results["FR552100554"].available
    assert _messages(results) == {DISABLED}


def test_a_server_slower_than_the_timeout(soap_server, settings):
    soap_server.behaviour = "sleep"
    settings.COMPTOIR_EORI_SERVICE_TIMEOUT = 0.3
    started = time.monotonic()
    results = eori_check_remote(numbers=["FR552100554", "LU15027442"])
    elapsed = time.monotonic() - started
    assert len(soap_server.calls) == 1  # the request did reach it
    assert elapsed < 3, f"the timeout was not applied ({elapsed:.1f}s)"
    assert _statuses(results) == {"FR552100554": "unavailable", "LU15027442": "unavailable"}
    assert _messages(results) == {UNAVAILABLE}


@pytest.mark.parametrize(
    "behaviour",
    [
        "error500",
        "fault",
        "garbage",
        "large",
        "unknown_status",
        "external_entity",
        "entity_expansion",
    ],
)
def test_bad_answers_make_the_numbers_unavailable(soap_server, behaviour):
    soap_server.behaviour = behaviour
    results = eori_check_remote(numbers=["FR552100554"])
    assert len(soap_server.calls) == 1
    assert _statuses(results) == {"FR552100554": "unavailable"}
    assert results["FR552100554"].name == ""
    assert _messages(results) == {UNAVAILABLE}


def test_a_number_missing_from_the_answer_is_unavailable(soap_server):
    soap_server.behaviour = "drop_first"
    soap_server.known = {"BE0403170701": ("", "")}
    results = eori_check_remote(numbers=["FR552100554", "BE0403170701"])
    assert _statuses(results) == {"FR552100554": "unavailable", "BE0403170701": "valid"}


def test_a_closed_port(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.COMPTOIR_EORI_SERVICE_URL = f"http://127.0.0.1:{port}/validation"
    settings.COMPTOIR_EORI_SERVICE_TIMEOUT = 2
    results = eori_check_remote(numbers=["FR552100554"])
    assert _statuses(results) == {"FR552100554": "unavailable"}
    assert _messages(results) == {UNAVAILABLE}


def test_a_url_that_is_not_one(settings):
    settings.COMPTOIR_EORI_SERVICE_URL = "not a url"
    results = eori_check_remote(numbers=["FR552100554"])
    assert _statuses(results) == {"FR552100554": "unavailable"}


def test_the_xml_parser_refuses_any_dtd():
    with pytest.raises(Exception, match="refused"):
        parse_xml_safely(b'<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>')
    with pytest.raises(Exception, match="refused"):
        parse_xml_safely(b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/a.dtd"><a/>')
    element = parse_xml_safely(b'<a xmlns="urn:x"><b>text</b></a>')
    assert element.tag == "{urn:x}a"
    assert element.find("{urn:x}b").text == "text"
