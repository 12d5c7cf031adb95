"""The B2G check for access points under load (issue 6 point 5), on PostgreSQL with gunicorn.

One run, one server set-up: BENCH_B2G_CERTIFICATES registered ACTIVE certificates (default
100,000: each with its operator and EORI identity, loaded in bulk and kept between runs; all but
ten carry a random SHA-256 value, the ten the benchmark asks about are real certificates made
with `cryptography` for this run), gunicorn on a loopback port with `--workers 2`, threaded
workers that keep connections alive (`--worker-class gthread --threads 4 --keep-alive 30`, as
docs/b2g-access-points.md recommends; BENCH_B2G_WORKER_CLASS=sync for one-request-per-connection
sync workers) and the production settings (COMPTOIR_ENVIRONMENT=production, DEBUG=0, persistent
database connections), one B2G client (bearer token). Then, with BENCH_B2G_CLIENTS (default 8)
client threads, each on its own keep-alive `http.client` connection, for BENCH_B2G_SECONDS
(default 10) per measurement, split into BENCH_B2G_ROUNDS rounds (default 10) in which every phase
runs once, in turn, so that a change in the machine's load touches every phase alike (a warm-up
before each):

  (a) the bare endpoint of the same stack: GET /api/v1/b2g/whoami — same middleware, same
      authentication (token lookup and call counter), a JSON answer, no other query;
  (b) POST /api/v1/b2g/authorisations for the ten registered certificates in turn, by SHA-256
      fingerprint, then by PEM: throughput, p50/p95/p99 latency, ratio (b)/(a);
      targets: ratio ≥ 0.60 and p99 ≤ 10 ms;
  (c) POST /api/v1/b2g/messages/verify with ten signed AS4 messages (MIME multipart/related,
      an empty SOAP Body and one gzipped XML attachment (~16 KB before compression) as ICS2
      sends them, RSA-2048/SHA-256,
      X509PKIPathv1 token with the CA then the leaf) against the bare verification loop
      `comptoir.b2g.as4_baseline.as4_baseline_verify` over the same messages with the same
      libraries, in one process per core (as many processes as gunicorn workers) for the same
      duration: target ratio ≥ 0.50. The CPU time of the gunicorn workers per request and of
      the loop per verification is recorded as well (a comparison that the load generator,
      which shares the cores, does not bias), and a third loop runs the endpoint's own check
      in process (`as4_verify(...).details()`), to tell the verification code from the stack;
  (d) the authorisations by fingerprint again from the same clients, each on a fixed schedule,
      at half the rate they reached back to back in the round (latency counted from the time
      each request was due): the p99 below saturation, reported beside the target (which (b)
      measures).

Results: bench/results/b2g_check-postgresql.json (figures, targets and whether they are met,
the method, the machine and its load, the versions).

Environment:
    BENCH_DATABASE_URL      PostgreSQL database, created if missing
                            (default postgres://postgres@127.0.0.1:5432/bench_b2g)
    BENCH_B2G_CERTIFICATES  registered certificates (default 100000)
    BENCH_B2G_SECONDS       seconds per measurement (default 10)
    BENCH_B2G_ROUNDS        rounds the measurement is split into (default 10)
    BENCH_B2G_CLIENTS       concurrent clients (default 8)
    BENCH_B2G_WORKERS       gunicorn workers (default 2)
    BENCH_B2G_WORKER_CLASS  gthread (default) or sync

    .venv/bin/python bench/b2g_check.py
    BENCH_B2G_CERTIFICATES=5000 BENCH_B2G_SECONDS=4 .venv/bin/python bench/b2g_check.py
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import http.client
import json
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchcommon import RESULTS, ROOT, WORK, env_int, machine, postgresql_database, versions

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/bench_b2g"
TARGET_AUTHORISATION_RATIO = 0.60
TARGET_AUTHORISATION_P99_MS = 10.0
TARGET_VERIFY_RATIO = 0.50
#: The paced phase: the authorisations (by fingerprint) at this share of the rate they reached
#: back to back in the same round, from the same clients, each on a fixed schedule.
PACED_PHASE = "authorisation_paced"
GUNICORN_WORKER_ARGS = {
    "sync": [],
    # Threads keep each client's connection open (keep-alive) instead of one per request.
    "gthread": ["--worker-class", "gthread", "--threads", "4", "--keep-alive", "30"],
}
PACED_SHARE = 0.5
WARMUP_SECONDS = 2.0
CHUNK = 5000
REAL = 10  # certificates the benchmark asks about (real ones)
PREFIX = "B2G bench "
ATTACHMENT_BYTES = 16_000
CONN_MAX_AGE = "600"
#: The in-process verification loops: the bare one (the target's reference) and ours.
LOOPS = {"verify_bare_loop": "bare", "verify_full_loop": "full"}
PARTY_TYPE = "urn:oasis:names:tc:ebcore:partyid-type:unregistered:eu-customs:EORI"

SERVER_ENV = {
    "COMPTOIR_ENVIRONMENT": "production",
    "DEBUG": "0",
    "ALLOWED_HOSTS": "127.0.0.1",
    "EMAIL_HOST": "127.0.0.1",
    "DATABASE_CONN_MAX_AGE": CONN_MAX_AGE,
    "DJANGO_SETTINGS_MODULE": "comptoir.settings",
}


def main() -> int:
    count = env_int("BENCH_B2G_CERTIFICATES", 100_000)
    seconds = float(env_int("BENCH_B2G_SECONDS", 10))
    clients = env_int("BENCH_B2G_CLIENTS", 8)
    workers = env_int("BENCH_B2G_WORKERS", 2)
    rounds = max(1, env_int("BENCH_B2G_ROUNDS", 10))
    if count < REAL:
        print(f"BENCH_B2G_CERTIFICATES must be at least {REAL}", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()

    url = _prepare_database()
    os.environ.update(SERVER_ENV)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.update(_bench_seal())
    sys.path.insert(0, str(ROOT / "src"))

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0)
    keys = _keys()
    load = _load_certificates(count, keys)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    token = _client()
    messages = _messages(keys)
    connections.close_all()

    port = _free_port()
    server = _gunicorn_start(port, workers)
    http_phases: dict[str, tuple[Callable[[int], Request], bytes]] = {
        "bare": (lambda i: ("GET", "/api/v1/b2g/whoami", None, _auth(token)), b'"name"'),
        "authorisation_fingerprint": (
            lambda i: _authorisation_request(token, keys[i % REAL], "fingerprint"),
            b'"OK"',
        ),
        "authorisation_pem": (
            lambda i: _authorisation_request(token, keys[i % REAL], "pem"),
            b'"OK"',
        ),
        "verify_endpoint": (lambda i: _verify_request(token, messages[i % REAL]), b'"OK"'),
    }
    samples: dict[str, list[Sample]] = {name: [] for name in (*http_phases, PACED_PHASE, *LOOPS)}
    per_round = seconds / rounds
    # The load generator holds Django and the run's data: a full collection of its garbage
    # would stop every client thread for about 0.1 s and count as server latency.
    gc.freeze()
    try:
        _wait_ready(port, token)
        for round_number in range(rounds):
            print(f"Round {round_number + 1}/{rounds}", flush=True)
            warmup = WARMUP_SECONDS if round_number == 0 else WARMUP_SECONDS / 4
            for name, (request, expect) in http_phases.items():
                sample = http_sample(
                    port, clients, per_round, warmup, request, expect=expect, server=server
                )
                samples[name].append(sample)
                _print_phase(name, sample)
            # The same clients below saturation: half the rate the authorisations reached in
            # this round (back to back).
            saturated = len(samples["authorisation_fingerprint"][-1].latencies) / per_round
            request, expect = http_phases["authorisation_fingerprint"]
            sample = http_sample(
                port,
                clients,
                per_round,
                warmup / 2,
                request,
                expect=expect,
                server=server,
                rate=PACED_SHARE * saturated,
            )
            samples[PACED_PHASE].append(sample)
            _print_phase(PACED_PHASE, sample)
            # The loops run while gunicorn is idle (its workers wait on accept()).
            for name, mode in LOOPS.items():
                sample = loop_sample(
                    mode, messages, processes=workers, seconds=per_round, warmup=warmup
                )
                samples[name].append(sample)
                _print_phase(name, sample)
    finally:
        _gunicorn_stop(server)

    result = _result(
        count=count,
        seconds=seconds,
        rounds=rounds,
        clients=clients,
        workers=workers,
        load=load,
        samples=samples,
        messages=messages,
        load_before=load_before,
        connection=connection,
    )
    path = RESULTS / "b2g_check-postgresql.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for line in _summary(result):
        print(line)
    print(f"Written to {path.relative_to(ROOT)}")
    return 1 if result["targets"]["errors"] else 0


# --- The database -------------------------------------------------------------------------------


def _prepare_database() -> str:
    return postgresql_database(DEFAULT_PG_URL)


def _bench_seal() -> dict[str, str]:
    """The seal files that production settings require (only read when a registration document
    is sealed, which the benchmark never does): a throwaway EC key and self-signed certificate
    under var/bench/, made once."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key_path = WORK / "seal-key.pem"
    cert_path = WORK / "seal-cert.pem"
    if not (key_path.exists() and cert_path.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Comptoir bench seal")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return {"COMPTOIR_SEAL_KEY_FILE": str(key_path), "COMPTOIR_SEAL_CERT_FILE": str(cert_path)}


def _eori(n: int) -> str:
    from stdnum import luhn

    number = str(30_000_000 + n)
    return f"FR{number}{luhn.calc_check_digit(number)}"


@dataclass(frozen=True)
class BenchKey:
    eori: str
    key: Any
    certificate: Any  # the leaf
    chain: tuple[Any, ...]  # the CA, then the leaf
    pem: str
    sha256: str


def _keys() -> list[BenchKey]:
    """A CA and REAL RSA-2048 sealing certificates, new for each run; the n-th belongs to the
    operator with EORI _eori(n)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Comptoir bench"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )

    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Bench seal CA"))
        .issuer_name(name("Bench seal CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    keys = []
    for n in range(REAL):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        leaf = (
            x509.CertificateBuilder()
            .subject_name(name(f"Bench seal {_eori(n)}"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        der = leaf.public_bytes(Encoding.DER)
        keys.append(
            BenchKey(
                eori=_eori(n),
                key=key,
                certificate=leaf,
                chain=(ca, leaf),
                pem=leaf.public_bytes(Encoding.PEM).decode(),
                sha256=hashlib.sha256(der).hexdigest(),
            )
        )
    return keys


def _load_certificates(count: int, keys: list[BenchKey]) -> dict[str, Any]:
    """`count` operators, each with its EORI identity and one ACTIVE certificate (kept when
    already there); the first REAL get this run's real certificates."""
    from cryptography.hazmat.primitives.serialization import Encoding
    from django.db import transaction
    from django.utils import timezone

    from comptoir.certificates.models import Certificate, EoriIdentity
    from comptoir.operators.models import Operator

    started = time.perf_counter()
    have = Certificate.objects.filter(
        identity__operator__name__startswith=PREFIX, status=Certificate.Status.ACTIVE
    ).count()
    skipped = have == count
    now = timezone.now()
    if skipped:
        print(f"Reusing the {count} certificates loaded before", flush=True)
    else:
        with transaction.atomic():
            operators = Operator.objects.filter(name__startswith=PREFIX)
            Certificate.objects.filter(identity__operator__in=operators).delete()
            EoriIdentity.objects.filter(operator__in=operators).delete()
            operators.delete()
        done = 0
        while done < count:
            size = min(CHUNK, count - done)
            numbers = range(done, done + size)
            with transaction.atomic():
                made = Operator.objects.bulk_create(
                    Operator(
                        eori=_eori(n),
                        name=f"{PREFIX}{n:07d}",
                        search_name=f"{PREFIX.lower()}{n:07d}",
                        country="FR",
                        status=Operator.Status.ACTIVE,
                        lodging_channel=Operator.LodgingChannel.B2G,
                    )
                    for n in numbers
                )
                identities = EoriIdentity.objects.bulk_create(
                    EoriIdentity(operator=operator, identifier=operator.eori) for operator in made
                )
                Certificate.objects.bulk_create(
                    Certificate(
                        identity=identity,
                        name=f"Seal {identity.identifier}",
                        purpose=Certificate.Purpose.SEAL,
                        status=Certificate.Status.ACTIVE,
                        sha256=secrets.token_hex(32),
                        serial=secrets.token_hex(8),
                        not_before=now - timedelta(days=30),
                        not_after=now + timedelta(days=335),
                        activated_at=now - timedelta(days=29),
                    )
                    for identity in identities
                )
            done += size
            print(f"  {done}/{count} certificates", end="\r", flush=True)
        print()
    # This run's real certificates replace the random fingerprints of the first REAL rows.
    for key in keys:
        der = key.certificate.public_bytes(Encoding.DER)
        Certificate.objects.filter(identity__identifier=key.eori).update(
            sha256=key.sha256,
            der=der,
            serial=format(key.certificate.serial_number, "x"),
            not_before=key.certificate.not_valid_before_utc,
            not_after=key.certificate.not_valid_after_utc,
            status=Certificate.Status.ACTIVE,
        )
    registered = Certificate.objects.filter(
        identity__operator__name__startswith=PREFIX, status=Certificate.Status.ACTIVE
    ).count()
    return {
        "skipped": skipped,
        "seconds": round(time.perf_counter() - started, 1),
        "active_certificates": registered,
        "certificates_in_table": Certificate.objects.count(),
    }


def _client() -> str:
    """A new B2G client for this run (the previous runs' clients are disabled)."""
    from comptoir.b2g import services
    from comptoir.b2g.models import B2GClient

    B2GClient.objects.filter(name__startswith="Bench access point").update(enabled=False)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    _created, token = services.b2g_client_create(name=f"Bench access point {stamp}")
    return token


@dataclass(frozen=True)
class BenchMessage:
    content_type: str
    body: bytes  # the MIME package as sent
    capture: bytes  # Content-Type header, blank line, the package: for as4_verify in-process
    soap_xml: bytes  # for the baseline loop
    attachments: dict[str, bytes]  # Content-ID → octets, for the baseline loop


def _attachment(n: int) -> bytes:
    """An ICS2-like XML payload of about ATTACHMENT_BYTES, gzipped as AS4 compression sends it
    (the part is application/gzip, its MimeType property application/xml)."""
    items = []
    item = 0
    size = 0
    while size < ATTACHMENT_BYTES:
        line = (
            f"<GoodsItem><Sequence>{item + 1}</Sequence><Description>Bench goods {n}-{item} "
            f"cartons of spare parts</Description><Commodity>84733080</Commodity>"
            f"<GrossMass>{12.5 + item}</GrossMass><Seal>{secrets.token_hex(6)}</Seal></GoodsItem>"
        )
        items.append(line)
        size += len(line)
        item += 1
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><IE3F32 xmlns="urn:bench:ics2">'
        + "".join(items)
        + "</IE3F32>"
    ).encode()
    return gzip.compress(xml, mtime=0)


def _messages(keys: list[BenchKey]) -> list[BenchMessage]:
    from comptoir.b2g.as4 import as4_message_parse
    from comptoir.b2g.as4_sign import OutgoingAttachment, as4_envelope_build, as4_message_sign

    messages = []
    for n, key in enumerate(keys):
        attachment = OutgoingAttachment(
            content_id=f"payload-{n}@bench.test",
            content=_attachment(n),
            content_type="application/gzip",
        )
        envelope = as4_envelope_build(from_party_id=key.eori, attachments=(attachment,))
        signed = as4_message_sign(
            envelope=envelope, key=key.key, certificates=key.chain, attachments=(attachment,)
        )
        capture = signed.capture()
        parsed = as4_message_parse(capture)
        messages.append(
            BenchMessage(
                content_type=signed.content_type,
                body=signed.body,
                capture=capture,
                soap_xml=parsed.soap_xml,
                attachments={a.content_id: a.content for a in parsed.attachments},
            )
        )
    return messages


# --- The server ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _worker_class() -> str:
    worker_class = os.environ.get("BENCH_B2G_WORKER_CLASS", "gthread")
    if worker_class not in GUNICORN_WORKER_ARGS:
        raise SystemExit(f"BENCH_B2G_WORKER_CLASS: one of {', '.join(GUNICORN_WORKER_ARGS)}")
    return worker_class


def _gunicorn_start(port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "comptoir.wsgi",
        "--chdir",
        str(ROOT / "src"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        *GUNICORN_WORKER_ARGS.get(_worker_class(), []),
        "--log-level",
        "warning",
    ]
    print(f"Starting gunicorn on 127.0.0.1:{port} with {workers} workers", flush=True)
    return subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603 (our own command)


def _gunicorn_stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _worker_pids(server: subprocess.Popen[bytes]) -> list[int]:
    try:
        text = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text()
    except OSError:
        return []
    return [int(pid) for pid in text.split()]


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _wait_ready(port: int, token: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/v1/b2g/whoami", headers=_auth(token))
            response = connection.getresponse()
            body = response.read()
            connection.close()
            if response.status == 200:
                return
            raise RuntimeError(f"whoami answered {response.status}: {body[:300]!r}")
        except (ConnectionError, OSError):
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


Request = tuple[str, str, bytes | None, dict[str, str]]


def _authorisation_request(token: str, key: BenchKey, how: str) -> Request:
    body: dict[str, str] = {"party_id": key.eori, "party_type": PARTY_TYPE}
    if how == "pem":
        body["certificate"] = key.pem
    else:
        body["fingerprint"] = key.sha256
    headers = {**_auth(token), "Content-Type": "application/json"}
    return ("POST", "/api/v1/b2g/authorisations", json.dumps(body).encode(), headers)


def _verify_request(token: str, message: BenchMessage) -> Request:
    headers = {**_auth(token), "Content-Type": message.content_type}
    return ("POST", "/api/v1/b2g/messages/verify", message.body, headers)


# --- Measuring ----------------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return 0.0
    rank = max(1, min(len(values), round(share * len(values) + 0.5)))
    return values[rank - 1]


@dataclass
class Sample:
    """One measurement period of one phase."""

    latencies: list[float]  # seconds
    errors: list[str]
    seconds: float
    server_cpu: float = 0.0  # seconds of CPU of the gunicorn workers
    client_cpu: float = 0.0  # seconds of CPU of this process (the load generator)
    count: int = 0  # loops: verifications done
    cpu: float = 0.0  # loops: CPU seconds of the loop processes


def http_sample(
    port: int,
    clients: int,
    seconds: float,
    warmup: float,
    request: Callable[[int], Request],
    *,
    expect: bytes,
    server: subprocess.Popen[bytes],
    rate: float | None = None,
) -> Sample:
    """`clients` threads send requests back to back for `warmup` seconds, then for `seconds`;
    the latencies of the second period are kept (request sent → answer read).

    With `rate` (requests per second, all clients together) each client sends on a fixed
    schedule instead, its share of the rate, and the latency is counted from the time the
    request was due, so that a request sent late because the previous answer came late counts
    its wait (no coordinated omission)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[list[str]] = [[] for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    timing: dict[str, float] = {}

    def run(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = index
        start.wait()
        measured_from = timing["from"]
        until = timing["until"]
        mine = latencies[index]
        interval = clients / rate if rate else 0.0
        due = time.perf_counter() + (index * interval / clients)
        while True:
            verb, target, body, headers = request(n)
            n += clients
            if rate:
                time.sleep(max(0.0, due - time.perf_counter()))
            began = time.perf_counter()
            if began >= until:
                break
            if rate:
                began, due = due, due + interval
            try:
                connection.request(verb, target, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError) as exc:
                connection.close()
                errors[index].append(type(exc).__name__)
                continue
            ended = time.perf_counter()
            if response.status != 200 or expect not in data:
                errors[index].append(f"{response.status}: {data[:200]!r}")
            elif began >= measured_from:
                mine.append(ended - began)
            if response.will_close:
                connection.close()
        connection.close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    timing["from"] = now + warmup
    timing["until"] = now + warmup + seconds
    start.wait()
    pids = _worker_pids(server)
    time.sleep(max(0.0, timing["from"] - time.perf_counter()))
    cpu_before = _cpu_seconds(pids)
    client_before = time.process_time()
    for thread in threads:
        thread.join()
    return Sample(
        latencies=[v for part in latencies for v in part],
        errors=[e for part in errors for e in part],
        seconds=seconds,
        server_cpu=_cpu_seconds(pids) - cpu_before,
        client_cpu=time.process_time() - client_before,
    )


def http_summary(request: str, samples: list[Sample]) -> dict[str, Any]:
    values = sorted(v * 1000 for sample in samples for v in sample.latencies)
    failures = [e for sample in samples for e in sample.errors]
    seconds = sum(sample.seconds for sample in samples)
    count = len(values)
    server_cpu = sum(sample.server_cpu for sample in samples)
    client_cpu = sum(sample.client_cpu for sample in samples)
    return {
        "request": request,
        "requests": count,
        "errors": len(failures),
        "first_errors": failures[:3],
        "throughput_per_s": round(count / seconds, 1),
        "throughput_per_round": [round(len(s.latencies) / s.seconds, 1) for s in samples],
        "latency_ms": {
            "p50": round(_percentile(values, 0.50), 2),
            "p95": round(_percentile(values, 0.95), 2),
            "p99": round(_percentile(values, 0.99), 2),
            "mean": round(sum(values) / count, 2) if count else 0.0,
            "max": round(values[-1], 2) if values else 0.0,
        },
        "server_cpu_ms_per_request": round(server_cpu * 1000 / count, 3) if count else None,
        "client_cpu_share": round(client_cpu / (seconds * (os.cpu_count() or 1)), 3),
    }


def _loop_worker(
    mode: str, messages: list[BenchMessage], seconds: float, warmup: float, queue: Any
) -> None:  # pragma: no cover - a child process
    from comptoir.b2g.as4 import as4_verify
    from comptoir.b2g.as4_baseline import as4_baseline_verify

    def bare(message: BenchMessage) -> bool:
        return as4_baseline_verify(message.soap_xml, message.attachments)

    def full(message: BenchMessage) -> bool:
        verdict = as4_verify(message.capture)
        verdict.details()
        return verdict.status == "valid"

    check = bare if mode == "bare" else full
    n = 0
    deadline = time.perf_counter() + warmup
    while time.perf_counter() < deadline:
        check(messages[n % len(messages)])
        n += 1
    done = failures = 0
    cpu_before = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if not check(messages[n % len(messages)]):
            failures += 1
        done += 1
        n += 1
    queue.put((done, failures, time.process_time() - cpu_before))


def loop_sample(
    mode: str, messages: list[BenchMessage], *, processes: int, seconds: float, warmup: float
) -> Sample:
    """A verification loop in `processes` processes (one per gunicorn worker) for `seconds`."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    children = [
        context.Process(target=_loop_worker, args=(mode, messages, seconds, warmup, queue))
        for _ in range(processes)
    ]
    for child in children:
        child.start()
    outcomes = [queue.get() for _ in children]
    for child in children:
        child.join()
    return Sample(
        latencies=[],
        errors=["failed verification"] * sum(o[1] for o in outcomes),
        seconds=seconds,
        count=sum(o[0] for o in outcomes),
        cpu=sum(o[2] for o in outcomes),
    )


def loop_summary(function: str, processes: int, samples: list[Sample]) -> dict[str, Any]:
    done = sum(sample.count for sample in samples)
    seconds = sum(sample.seconds for sample in samples)
    cpu = sum(sample.cpu for sample in samples)
    return {
        "function": function,
        "processes": processes,
        "verifications": done,
        "failures": sum(len(sample.errors) for sample in samples),
        "throughput_per_s": round(done / seconds, 1),
        "throughput_per_round": [round(s.count / s.seconds, 1) for s in samples],
        "cpu_ms_per_verification": round(cpu * 1000 / done, 3) if done else None,
    }


def _print_phase(name: str, sample: Sample) -> None:
    if sample.latencies or not sample.count:
        values = sorted(sample.latencies)
        rate = len(values) / sample.seconds
        p99 = _percentile(values, 0.99) * 1000
        print(
            f"  {name:<28} {rate:>8.1f} req/s   p99 {p99:7.2f} ms   errors {len(sample.errors)}",
            flush=True,
        )
    else:
        print(
            f"  {name:<28} {sample.count / sample.seconds:>8.1f} verifications/s   "
            f"failures {len(sample.errors)}",
            flush=True,
        )


# --- The result ---------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def _result(**kw: Any) -> dict[str, Any]:
    import gunicorn

    samples: dict[str, list[Sample]] = kw["samples"]
    workers = kw["workers"]
    messages: list[BenchMessage] = kw["messages"]
    bare = http_summary("GET /api/v1/b2g/whoami", samples["bare"])
    by_fingerprint = http_summary(
        "POST /api/v1/b2g/authorisations (fingerprint)", samples["authorisation_fingerprint"]
    )
    by_pem = http_summary("POST /api/v1/b2g/authorisations (PEM)", samples["authorisation_pem"])
    paced = http_summary(
        f"POST /api/v1/b2g/authorisations (fingerprint) at {PACED_SHARE:.0%} of their rate",
        samples[PACED_PHASE],
    )
    verify = http_summary("POST /api/v1/b2g/messages/verify", samples["verify_endpoint"])
    bare_loop = loop_summary(
        "comptoir.b2g.as4_baseline.as4_baseline_verify(soap_xml, attachments)",
        workers,
        samples["verify_bare_loop"],
    )
    full_loop = loop_summary(
        "comptoir.b2g.as4.as4_verify(capture).details() (the endpoint's check, without HTTP "
        "and the register)",
        workers,
        samples["verify_full_loop"],
    )
    ratio_fingerprint = _ratio(by_fingerprint["throughput_per_s"], bare["throughput_per_s"])
    ratio_pem = _ratio(by_pem["throughput_per_s"], bare["throughput_per_s"])
    p99 = max(by_fingerprint["latency_ms"]["p99"], by_pem["latency_ms"]["p99"])
    verify_ratio = _ratio(verify["throughput_per_s"], bare_loop["throughput_per_s"])
    cpu_ratio = (
        _ratio(bare_loop["cpu_ms_per_verification"], verify["server_cpu_ms_per_request"])
        if verify["server_cpu_ms_per_request"] and bare_loop["cpu_ms_per_verification"]
        else None
    )
    errors = (
        sum(part["errors"] for part in (bare, by_fingerprint, by_pem, paced, verify))
        + bare_loop["failures"]
        + full_loop["failures"]
    )

    def per_round(numerator: dict[str, Any], denominator: dict[str, Any]) -> list[float]:
        return [
            _ratio(a, b)
            for a, b in zip(
                numerator["throughput_per_round"], denominator["throughput_per_round"], strict=True
            )
        ]

    targets = {
        "authorisation_ratio": {
            "target": f">= {TARGET_AUTHORISATION_RATIO}",
            "fingerprint": ratio_fingerprint,
            "pem": ratio_pem,
            "fingerprint_per_round": per_round(by_fingerprint, bare),
            "pem_per_round": per_round(by_pem, bare),
            "met": min(ratio_fingerprint, ratio_pem) >= TARGET_AUTHORISATION_RATIO,
        },
        "authorisation_p99_ms": {
            "target": f"<= {TARGET_AUTHORISATION_P99_MS}",
            "fingerprint": by_fingerprint["latency_ms"]["p99"],
            "pem": by_pem["latency_ms"]["p99"],
            "met": p99 <= TARGET_AUTHORISATION_P99_MS,
        },
        "authorisation_p99_ms_below_saturation": {
            "target": f"<= {TARGET_AUTHORISATION_P99_MS} (the same target, read below saturation)",
            "offered_rate_per_s": paced["throughput_per_s"],
            "fingerprint": paced["latency_ms"]["p99"],
            "met": paced["latency_ms"]["p99"] <= TARGET_AUTHORISATION_P99_MS,
        },
        "verify_ratio": {
            "target": f">= {TARGET_VERIFY_RATIO}",
            "throughput": verify_ratio,
            "cpu_time": cpu_ratio,
            "in_process": _ratio(full_loop["throughput_per_s"], bare_loop["throughput_per_s"]),
            "throughput_per_round": per_round(verify, bare_loop),
            "met": verify_ratio >= TARGET_VERIFY_RATIO,
        },
    }
    # The issue's targets; the p99 below saturation is reported beside them, not instead.
    issue_targets = ("authorisation_ratio", "authorisation_p99_ms", "verify_ratio")
    met = all(targets[key]["met"] for key in issue_targets) and errors == 0
    clients = kw["clients"]
    # With `clients` closed-loop clients on `workers` single-threaded workers, the mean latency
    # is at least clients × (server CPU per request) / workers, even with the cores to itself.
    floor = {
        key: round(clients * part["server_cpu_ms_per_request"] / workers, 1)
        for key, part in (("fingerprint", by_fingerprint), ("pem", by_pem))
        if part["server_cpu_ms_per_request"]
    }
    targets["authorisation_p99_ms"]["mean_latency_floor_ms"] = floor
    notes = [
        f"Server CPU per request: whoami {bare['server_cpu_ms_per_request']} ms, authorisations "
        f"{by_fingerprint['server_cpu_ms_per_request']} ms (fingerprint) and "
        f"{by_pem['server_cpu_ms_per_request']} ms (PEM), verify endpoint "
        f"{verify['server_cpu_ms_per_request']} ms; bare verification loop "
        f"{bare_loop['cpu_ms_per_verification']} ms and as4_verify + details "
        f"{full_loop['cpu_ms_per_verification']} ms per message.",
        f"With {clients} closed-loop clients on {workers} workers the mean latency of the "
        f"authorisations cannot be below {floor.get('fingerprint')} ms (fingerprint) and "
        f"{floor.get('pem')} ms (PEM) at that CPU cost (clients × CPU per "
        f"request / workers), whatever the machine's other load.",
        "The verify endpoint pays the HTTP and Django stack (whoami alone costs "
        f"{bare['server_cpu_ms_per_request']} ms), the client authentication (the call "
        "counter's UPDATE … RETURNING), the register's SELECT and the JSON details on top of "
        "the verification; the bare loop pays only parse, C14N, digests and one RSA verify.",
    ]
    return {
        "benchmark": "b2g_check",
        "vendor": "postgresql",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "certificates": kw["count"],
        "load": kw["load"],
        "server": {
            "command": " ".join(
                ["gunicorn comptoir.wsgi --workers", str(workers)]
                + GUNICORN_WORKER_ARGS[_worker_class()]
            ),
            "workers": workers,
            "settings": {k: v for k, v in SERVER_ENV.items() if k != "DJANGO_SETTINGS_MODULE"},
        },
        "clients": kw["clients"],
        "seconds_per_measurement": kw["seconds"],
        "rounds": kw["rounds"],
        "warmup_seconds": WARMUP_SECONDS,
        "bare": bare,
        "authorisation_fingerprint": by_fingerprint,
        "authorisation_pem": by_pem,
        "authorisation_paced": paced,
        "message_verification": {
            "endpoint": verify,
            "bare_loop": bare_loop,
            "full_loop": full_loop,
            "messages": {
                "count": len(messages),
                "bytes": round(sum(len(m.body) for m in messages) / len(messages)),
                "attachment_bytes": round(
                    sum(len(a) for m in messages for a in m.attachments.values()) / len(messages)
                ),
                "shape": "MIME multipart/related, empty SOAP Body, one gzipped XML attachment "
                "(application/gzip, Attachment-Content-Signature-Transform), references to "
                "eb:Messaging, soap:Body and the attachment, exclusive C14N, SHA-256, RSA-2048 "
                "(rsa-sha256), X509PKIPathv1 token (CA, leaf)",
            },
        },
        "targets": {**targets, "errors": errors, "met": met},
        "notes": notes,
        "method": (
            "One run on one machine: PostgreSQL, gunicorn (production settings, loopback port) "
            "and the load generator (client threads with http.client, one connection each) "
            "share the cores. The phases alternate in rounds (whoami, authorisations by "
            "fingerprint, by PEM, verify endpoint, bare loop, full loop; then again) so that a "
            "change of the machine's load touches every phase alike. HTTP phases are closed "
            "loops: each client sends its next request when the previous answer is read; "
            "latency is from sending to reading the answer, throughput the answers per second "
            "after a warm-up. The verification loops run in as many processes as gunicorn has "
            "workers (one per core) for the same duration while gunicorn is idle; the bare loop "
            "gets the SOAP XML and the attachment octets already split out. Ratios: "
            "verify_ratio.throughput = endpoint answers per second / bare loop verifications "
            "per second (the target); cpu_time = the bare loop's CPU per verification / the "
            "gunicorn workers' CPU per request (without the load generator's share); "
            "in_process = as4_verify + details per second / bare loop per second (the "
            "verification code alone, without HTTP, authentication and the register)."
        ),
        "machine": machine(kw["load_before"]),
        "versions": {**versions(kw["connection"]), "gunicorn": gunicorn.__version__},
    }


def _summary(result: dict[str, Any]) -> list[str]:
    targets = result["targets"]
    verification = result["message_verification"]
    lines = [f"{result['certificates']} certificates; {result['clients']} clients"]
    for key in ("bare", "authorisation_fingerprint", "authorisation_pem", "authorisation_paced"):
        part = result[key]
        lines.append(
            f"  {part['request']:<48} {part['throughput_per_s']:>8.1f}/s  p50 "
            f"{part['latency_ms']['p50']:.2f} ms  p99 {part['latency_ms']['p99']:.2f} ms"
        )
    endpoint = verification["endpoint"]
    lines.append(
        f"  {endpoint['request']:<48} {endpoint['throughput_per_s']:>8.1f}/s  p50 "
        f"{endpoint['latency_ms']['p50']:.2f} ms  p99 {endpoint['latency_ms']['p99']:.2f} ms"
    )
    for key in ("bare_loop", "full_loop"):
        loop = verification[key]
        lines.append(
            f"  {key + ' (' + str(loop['processes']) + ' processes)':<48} "
            f"{loop['throughput_per_s']:>8.1f}/s"
        )
    ratio = targets["authorisation_ratio"]
    p99 = targets["authorisation_p99_ms"]
    below = targets["authorisation_p99_ms_below_saturation"]
    verify = targets["verify_ratio"]
    lines += [
        f"authorisations/bare: fingerprint {ratio['fingerprint']}, PEM {ratio['pem']} "
        f"(target >= {TARGET_AUTHORISATION_RATIO}: {'met' if ratio['met'] else 'NOT met'})",
        f"authorisations p99: fingerprint {p99['fingerprint']} ms, PEM {p99['pem']} ms "
        f"(target <= {TARGET_AUTHORISATION_P99_MS} ms: {'met' if p99['met'] else 'NOT met'})",
        f"authorisations p99 below saturation ({below['offered_rate_per_s']}/s): "
        f"{below['fingerprint']} ms ({'within' if below['met'] else 'above'} "
        f"{TARGET_AUTHORISATION_P99_MS} ms)",
        f"verify endpoint/bare loop: {verify['throughput']} (target >= {TARGET_VERIFY_RATIO}: "
        f"{'met' if verify['met'] else 'NOT met'}); by CPU time {verify['cpu_time']}; "
        f"in process {verify['in_process']}",
    ]
    if targets["errors"]:
        lines.append(f"ERRORS: {targets['errors']}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
