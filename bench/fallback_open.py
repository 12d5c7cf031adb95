"""Opening the administration's fallback with 100,000 operators, on PostgreSQL and SQLite.

For each database, in a process of its own: make sure BENCH_FALLBACK_OPERATORS active operators
exist (default 100,000), each with one person (French, English or German in turn, with an
e-mail address) holding a valid legal-representative position, loaded in bulk and kept between
runs; empty the notices, outbox, outages and task queue; then time

  (a) the service desk's call `continuity.services.fallback_open(...)`, commit included: what
      the service desk waits for (target: at once — it only writes the outage, its audit event
      and the fan-out row, and queues one task);
  (b) the background worker (`manage.py db_worker --batch --max-tasks 1`, the fan-out task)
      until every notice and every outbox row is written and every delivery task queued
      (target ≤ 30 s),

check the counts (one notice and one e-mail per person, nobody twice) and write
bench/results/fallback_open-<vendor>.json with the machine and the versions. E-mails are queued,
not sent: delivery is the mail server's pace, measured elsewhere.

Environment:
    BENCH_FALLBACK_OPERATORS  operators (and people) to tell (default 100000)
    BENCH_VENDORS             "postgresql sqlite" (default) or either one
    BENCH_DATABASE_URL        PostgreSQL database, created if missing; its notices, outbox,
                              outages and task queue are emptied
                              (default postgres://postgres@127.0.0.1:5432/bench_fallback)

    .venv/bin/python bench/fallback_open.py
    BENCH_FALLBACK_OPERATORS=5000 BENCH_VENDORS=sqlite .venv/bin/python bench/fallback_open.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from benchcommon import RESULTS, ROOT, WORK, env_int, machine, postgresql_database, versions

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/bench_fallback"
TARGET_FAN_OUT_SECONDS = 30.0
#: What "at once" means for the service desk's call, in milliseconds.
TARGET_OPEN_MS = 1000.0
CHUNK = 5000
LANGUAGES = ("fr", "en", "de")
PREFIX = "fbench_"


def main() -> int:
    parser = argparse.ArgumentParser(description="Fallback opening benchmark.")
    parser.add_argument("--child", choices=["postgresql", "sqlite"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    operators = env_int("BENCH_FALLBACK_OPERATORS", 100_000)
    if args.child:
        return _child(args.child, operators=operators)
    vendors = os.environ.get("BENCH_VENDORS", "postgresql sqlite").split()
    unknown = set(vendors) - {"postgresql", "sqlite"}
    if unknown:
        print(f"BENCH_VENDORS: unknown {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = []
    for vendor in vendors:
        print(f"\n== {vendor} ==", flush=True)
        command = [sys.executable, __file__, "--child", vendor]
        if subprocess.call(command, cwd=ROOT) != 0:  # noqa: S603 (our own script)
            failed.append(vendor)
    print()
    for vendor in vendors:
        path = RESULTS / f"fallback_open-{vendor}.json"
        if vendor not in failed and path.exists():
            print(_summary_line(json.loads(path.read_text())))
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _summary_line(result: dict[str, Any]) -> str:
    target = result["target"]
    return (
        f"{result['vendor']:<10} {result['people']} people at {result['operators']} operators: "
        f"fallback_open {result['open_ms']:.1f} ms; fan-out {result['fan_out_seconds']:.1f} s "
        f"({result['notices']} notices, {result['emails']} e-mails, "
        f"{result['delivery_tasks']} delivery tasks); target ≤ "
        f"{target['fan_out_seconds']:.0f} s {'met' if target['met'] else 'NOT met'}"
    )


# --- The child: one database ---------------------------------------------------------------


def _prepare_database(vendor: str) -> str:
    if vendor == "sqlite":
        return f"sqlite:///{WORK / 'fallback.sqlite3'}"
    return postgresql_database(DEFAULT_PG_URL)


def _load_people(count: int) -> dict[str, Any]:
    """BENCH_FALLBACK_OPERATORS operators with one legal representative each, in bulk; kept
    when already there."""
    from django.db import transaction
    from django.utils import timezone

    from comptoir.accounts.models import User
    from comptoir.operators.models import Operator, Position

    have = Position.objects.filter(
        person__username__startswith=PREFIX, status=Position.Status.VALID
    ).count()
    if have == count:
        print(f"Reusing the {count} operators and people loaded before", flush=True)
        return {"skipped": True, "seconds": 0.0}
    started = time.perf_counter()
    with transaction.atomic():
        Position.objects.filter(person__username__startswith=PREFIX).delete()
        Operator.objects.filter(name__startswith="Fallback bench ").delete()
        User.objects.filter(username__startswith=PREFIX).delete()
    now = timezone.now()
    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        numbers = range(done, done + size)
        with transaction.atomic():
            people = User.objects.bulk_create(
                User(
                    username=f"{PREFIX}{n:07d}",
                    email=f"{PREFIX}{n:07d}@example.test",
                    first_name="Bench",
                    last_name=f"Person {n}",
                    language=LANGUAGES[n % len(LANGUAGES)],
                    password="!",
                    date_joined=now,
                )
                for n in numbers
            )
            operators = Operator.objects.bulk_create(
                Operator(
                    name=f"Fallback bench {n:07d}",
                    search_name=f"fallback bench {n:07d}",
                    country="FR",
                    status=Operator.Status.ACTIVE,
                    lodging_channel=Operator.LodgingChannel.B2G,
                )
                for n in numbers
            )
            if people[0].pk is None or operators[0].pk is None:  # SQLite before 3.35
                people = list(
                    User.objects.filter(username__startswith=PREFIX).order_by("-pk")[:size]
                )[::-1]
                operators = list(
                    Operator.objects.filter(name__startswith="Fallback bench ").order_by("-pk")[
                        :size
                    ]
                )[::-1]
            Position.objects.bulk_create(
                Position(
                    person=person,
                    operator=operator,
                    role=Position.Role.LEGAL_REPRESENTATIVE,
                    status=Position.Status.VALID,
                    since=now,
                )
                for person, operator in zip(people, operators, strict=True)
            )
        done += size
        print(f"  {done}/{count} operators and people", end="\r", flush=True)
    print()
    return {"skipped": False, "seconds": time.perf_counter() - started}


def _empty(vendor: str) -> None:
    """Nothing left from an earlier run: notices, outbox, outages, fan-outs, queued tasks."""
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from comptoir.continuity.models import FanOut, Outage
    from comptoir.notifications.models import Notice, OutboxMessage

    tables = [
        model._meta.db_table for model in (Notice, OutboxMessage, FanOut, Outage, DBTaskResult)
    ]
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(f"TRUNCATE {', '.join(tables)}")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (our own table names)


def _service_desk() -> Any:
    from comptoir.accounts.models import User
    from comptoir.operators.models import Authority, Position

    authority, _ = Authority.objects.get_or_create(
        code="BENCH-DESK",
        defaults={"name": "Bench service desk", "country": "FR", "kind": "national_administration"},
    )
    person, _ = User.objects.get_or_create(
        username="bench_service_desk", defaults={"email": "desk@example.test", "language": "en"}
    )
    Position.objects.get_or_create(
        person=person,
        authority=authority,
        role=Position.Role.SERVICE_DESK,
        defaults={"status": Position.Status.VALID},
    )
    return person


def _child(vendor: str, *, operators: int) -> int:
    os.environ["DATABASE_URL"] = _prepare_database(vendor)
    os.environ["DEBUG"] = "0"  # as in production: no query log
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
    sys.path.insert(0, str(ROOT / "src"))
    load_before = os.getloadavg()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from comptoir.continuity.models import FanOut
    from comptoir.continuity.services import FAN_OUT_BATCH, fallback_open
    from comptoir.notifications.models import Notice, OutboxMessage

    call_command("migrate", verbosity=0)
    _empty(vendor)
    load = _load_people(operators)
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    desk = _service_desk()

    started = time.perf_counter()
    outage = fallback_open(
        person=desk,
        kind="administration",
        contact_office="Bureau de Paris-Orly, 01 23 45 67 89",
        instructions="Lodge through the portal until the fallback procedure closes.",
        description="Benchmark",
    )
    open_ms = (time.perf_counter() - started) * 1000
    after_open = time.perf_counter()
    queued = DBTaskResult.objects.count()
    call_command("db_worker", "--batch", "--max-tasks", "1", "--no-startup-delay", verbosity=0)
    fan_out_seconds = time.perf_counter() - after_open

    fan_out = FanOut.objects.get(outage=outage, event="opened")
    notices = Notice.objects.filter(reference=outage.reference).count()
    distinct = Notice.objects.values("recipient_id").distinct().count()
    emails = OutboxMessage.objects.count()
    delivery_tasks = DBTaskResult.objects.filter(
        task_path__endswith="deliver_outbox_messages"
    ).count()
    people = fan_out.notices
    ok = (
        fan_out.finished_at is not None
        and notices == people == distinct == emails
        and people >= operators
    )
    result = {
        "benchmark": "fallback_open",
        "vendor": vendor,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "operators": operators,
        "people": people,
        "open_ms": open_ms,
        "tasks_queued_by_open": queued,
        "fan_out_seconds": fan_out_seconds,
        "fan_out_batches": fan_out.batches,
        "batch_size": FAN_OUT_BATCH,
        "notices": notices,
        "people_told_once": distinct == notices,
        "emails": emails,
        "delivery_tasks": delivery_tasks,
        "counts_ok": ok,
        "target": {
            "open_ms": TARGET_OPEN_MS,
            "fan_out_seconds": TARGET_FAN_OUT_SECONDS,
            "met": ok and open_ms <= TARGET_OPEN_MS and fan_out_seconds <= TARGET_FAN_OUT_SECONDS,
        },
        "load": load,
        "machine": machine(load_before),
        "versions": versions(connection),
    }
    path = RESULTS / f"fallback_open-{vendor}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(_summary_line(result))
    print(f"Written to {path.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
