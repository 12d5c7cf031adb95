"""A003 for real: the database stops answering under a running server.

A gunicorn server runs in a subprocess with its DATABASE_URL pointing at a small TCP proxy on
loopback in front of PostgreSQL (the test database, where this test commits its rows). Through
the proxy the server answers OK and A001 as usual; once the proxy is stopped (new connections
refused, open ones cut), the very same call answers 503 with A003 in JSON — not a server error —
and the server logs it; when the proxy comes back, so do the answers. PostgreSQL only: SQLite
is a file that cannot be unplugged like this."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from comptoir.audit.models import AuditEvent
from comptoir.b2g import services
from comptoir.b2g.models import B2GClient
from tests.b2g.test_authorisation import (  # noqa: F401 (chain is a fixture)
    body,
    chain,
    pem_of,
    register,
)
from tests.factories_operators import OperatorFactory
from tests.markers import requires_postgresql

ROOT = Path(__file__).resolve().parents[2]

# The condition of requires_postgresql, with a reason that says what this test needs it for.
needs_postgresql_server = pytest.mark.skipif(
    requires_postgresql.args[0],
    reason="stops the database under a running server (a TCP proxy in front of PostgreSQL): run "
    "with DATABASE_URL=postgres://postgres@127.0.0.1:5432/<database>",
)
pytestmark = [needs_postgresql_server, pytest.mark.django_db(transaction=True)]


class TcpProxy:
    """Forwards every connection on 127.0.0.1:<port> to the target; `stop` refuses new
    connections and cuts the open ones, `start` listens again on the same port."""

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.port = port
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._running = False

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._running = True
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._running:
            try:
                downstream, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                downstream.close()
                continue
            downstream.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update({downstream, upstream})
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._running = False
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    settings = connection.settings_dict
    target = (settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432))
    tcp_proxy = TcpProxy(target)
    tcp_proxy.start()
    yield tcp_proxy
    tcp_proxy.stop()


@pytest.fixture
def server(proxy: TcpProxy, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """gunicorn with the test database through the proxy; its log file at ["log"]."""
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}{password}@127.0.0.1:{proxy.port}/{settings['NAME']}",
        "DATABASE_CONN_MAX_AGE": "0",
        "PYTHONPATH": str(ROOT / "src"),
        "LOG_LEVEL": "INFO",
    }
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "comptoir.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--timeout",
                "30",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start:\n" + log.read_text()) from None
                time.sleep(0.1)
        yield {"url": f"http://127.0.0.1:{port}/api/v1/b2g/authorisations", "log": log}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _post(url: str, token: str, payload: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, content_type, raw = (
                response.status,
                response.headers.get("Content-Type", ""),
                response.read(),
            )
    except urllib.error.HTTPError as error:
        status, content_type, raw = error.code, error.headers.get("Content-Type", ""), error.read()
    assert content_type.startswith("application/json"), raw[:500]
    return status, content_type, json.loads(raw)


def test_stopped_database_answers_a003_and_recovers(server, proxy, chain) -> None:  # noqa: F811
    principal = OperatorFactory()
    stranger = OperatorFactory()
    register(principal, chain.principal)
    client, token = services.b2g_client_create(name="Access point")
    allowed = body(principal.eori, pem_of(chain.principal))
    refused = body(stranger.eori, pem_of(chain.principal))

    # Through the proxy: the usual answers (the set-up works, the rows are visible).
    status, _type, answer = _post(server["url"], token, allowed)
    assert (status, answer["code"]) == (200, "OK"), answer
    status, _type, answer = _post(server["url"], token, refused)
    assert (status, answer["code"]) == (200, "A001")
    audited = AuditEvent.objects.filter(action="b2g.authorisation_refused").count()
    assert audited == 1
    assert B2GClient.objects.get(pk=client.pk).calls == 2

    # The database goes away: A003 in JSON, 503, for allowed and refused calls alike.
    proxy.stop()
    for payload in (allowed, refused):
        status, _type, answer = _post(server["url"], token, payload)
        assert status == 503
        assert answer["authorised"] is False
        assert answer["code"] == "A003"
        assert answer["reason_code"] == "register_unavailable"
    assert AuditEvent.objects.filter(action="b2g.authorisation_refused").count() == audited
    assert B2GClient.objects.get(pk=client.pk).calls == 2
    # Any other API call: 503 with a code and Retry-After, not a server error.
    whoami = urllib.request.Request(
        server["url"].replace("/b2g/authorisations", "/b2g/whoami"),
        headers={"Authorization": f"Bearer {token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as outage:
        urllib.request.urlopen(whoami, timeout=30)
    assert outage.value.code == 503
    assert outage.value.headers["Retry-After"] == "30"
    assert json.loads(outage.value.read())["code"] == "unavailable"
    log = server["log"].read_text()
    assert "A003" in log
    assert "Traceback" not in log

    # It comes back: so do the answers.
    proxy.start()
    status, _type, answer = _post(server["url"], token, allowed)
    assert (status, answer["code"]) == (200, "OK")
    assert B2GClient.objects.get(pk=client.pk).calls == 3
