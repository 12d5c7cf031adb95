"""Directory name search at scale, on PostgreSQL and SQLite: `make bench`.

For each database: load BENCH_OPERATORS generated operators (default 1,000,000) with the
`operators_import` command, timing it (and a second, idempotent import of the same file), then
measure over BENCH_QUERIES queries of the kind people type (prefixes and partial words of names,
with and without accents, in the name's country) the latency of the directory's first page as
the page reads it (`directory_paginator(country=..., name=...).page(1)`: the count capped at
1,000, the 20 ids in name order, those operators with their activities), interleaved with a
bare indexed lookup of the same database (one operator by primary key), and write p50/p95/p99,
the ratio search/bare and whether the targets are met to
bench/results/directory_search-<vendor>.json.

Environment:
    BENCH_OPERATORS      rows generated and imported (default 1000000; 20000 for a quick check)
    BENCH_QUERIES        measured queries (default 500)
    BENCH_VENDORS        "postgresql sqlite" (default) or either one
    BENCH_DATABASE_URL   PostgreSQL database, created if missing; its operators table is
                         emptied (default postgres://postgres@127.0.0.1:5432/bench)
    BENCH_REUSE=1        keep the operators already loaded when their number is right
    BENCH_REIMPORT=0     skip the second (idempotent) import
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchcommon import BENCH, RESULTS, ROOT, WORK, env_int, machine, postgresql_database, versions

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/bench"
PAGE = 20
SEED = 4242
#: p95 targets of the issue, in milliseconds.
TARGET_P95_MS = {"postgresql": 50.0, "sqlite": 100.0}
#: Import target on PostgreSQL: a million rows in under two minutes.
TARGET_IMPORT_SECONDS_PER_MILLION = {"postgresql": 120.0}
LEGAL_FORMS = {
    "sa", "sas", "sarl", "snc", "sasu", "eurl", "gmbh", "ag", "kg", "ek", "ohg", "se", "spa",
    "srl", "sl", "slu", "bv", "nv", "vof", "lda", "ab", "as", "oy", "aps", "sro", "kft", "zrt",
    "ltd", "llc", "inc", "plc", "dac", "co", "cie", "fils", "et", "sp", "z", "o",
}  # fmt: skip
QUERY_KINDS = {
    # kind: share of the queries
    "prefix": 30,  # the start of one word of the name, as written ("Lefè", "Müll")
    "prefix_no_accents": 20,  # the same typed without accents ("lefe", "mull")
    "two_words": 20,  # a whole word then the start of the next ("transports dup")
    "inner": 10,  # a piece inside a word ("fèvr")
    "full_name": 10,  # the whole name as written
    "upper_case": 10,  # the start of a word in capitals ("DUPON")
}


# --- The parent: generate once, then one child process per database ----------------------


def main() -> int:
    parser = argparse.ArgumentParser(description="Directory search benchmark (make bench).")
    parser.add_argument("--child", choices=["postgresql", "sqlite"], help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    operators = env_int("BENCH_OPERATORS", 1_000_000)
    queries = env_int("BENCH_QUERIES", 500)
    if args.child:
        return _child(args.child, args.csv, operators=operators, queries=queries)

    sys.path.insert(0, str(BENCH))
    import generate_operators

    vendors = os.environ.get("BENCH_VENDORS", "postgresql sqlite").split()
    unknown = set(vendors) - {"postgresql", "sqlite"}
    if unknown:
        print(f"BENCH_VENDORS: unknown {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    csv_path = WORK / f"operators-{operators}-v{generate_operators.VERSION}.csv"
    if not csv_path.exists():
        started = time.monotonic()
        print(f"Generating {operators} operators into {csv_path}…", flush=True)
        generate_operators.write(csv_path, operators)
        print(f"  done in {time.monotonic() - started:.1f} s", flush=True)
    failed = []
    for vendor in vendors:
        print(f"\n== {vendor} ==", flush=True)
        command = [sys.executable, __file__, "--child", vendor, "--csv", str(csv_path)]
        if subprocess.call(command, cwd=ROOT) != 0:  # noqa: S603 (our own script)
            failed.append(vendor)
    print()
    for vendor in vendors:
        path = RESULTS / f"directory_search-{vendor}.json"
        if vendor not in failed and path.exists():
            print(_summary_line(json.loads(path.read_text())))
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _summary_line(result: dict[str, Any]) -> str:
    search, bare, target = result["search_ms"], result["bare_ms"], result["target"]
    load = result["import"]
    return (
        f"{result['vendor']:<10} {result['operators']} operators, {result['queries']} queries: "
        f"search p50 {search['p50']:.2f} ms, p95 {search['p95']:.2f} ms, p99 {search['p99']:.2f}"
        f" ms; bare p50 {bare['p50']:.3f} ms, p95 {bare['p95']:.3f} ms; ratio p95 "
        f"{result['ratio']['p95']:.1f}; target p95 ≤ {target['p95_ms']:.0f} ms "
        f"{'met' if target['met'] else 'NOT met'}; import {load['seconds']:.1f} s "
        f"({load['rows_per_second']:.0f} rows/s)"
    )


# --- The child: one database ---------------------------------------------------------------


def _prepare_database(vendor: str, *, reuse: bool) -> str:
    if vendor == "sqlite":
        path = WORK / "bench.sqlite3"
        if not reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    return postgresql_database(DEFAULT_PG_URL)


def _child(vendor: str, csv_path: Path, *, operators: int, queries: int) -> int:
    reuse = os.environ.get("BENCH_REUSE", "") == "1"
    os.environ["DATABASE_URL"] = _prepare_database(vendor, reuse=reuse)
    os.environ["DEBUG"] = "0"  # as in production: no query log
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
    sys.path.insert(0, str(ROOT / "src"))
    load_before = os.getloadavg()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from comptoir.audit.models import AuditEvent
    from comptoir.operators.models import Operator

    call_command("migrate", verbosity=0)
    load: dict[str, Any] = {"skipped": False}
    last = AuditEvent.objects.filter(action="operators.imported").order_by("-sequence").first()
    if reuse and last is not None and last.data.get("file") == csv_path.name:
        load["skipped"] = True
        print(f"Reusing the operators loaded from {csv_path.name}", flush=True)
        load.update(_earlier_import(vendor, csv_path))
    else:
        table = Operator._meta.db_table
        with connection.cursor() as cursor:
            if vendor == "postgresql":
                cursor.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")
            else:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        load.update(_timed_import(csv_path, call_command, AuditEvent))
        if os.environ.get("BENCH_REIMPORT", "1") != "0":
            load["reimport"] = _timed_import(csv_path, call_command, AuditEvent)
    seconds = load.get("seconds")
    if seconds:
        load["rows_per_second"] = load["rows"] / seconds
        target = TARGET_IMPORT_SECONDS_PER_MILLION.get(vendor)
        if target is not None:
            load["target_seconds_per_million"] = target
            load["seconds_per_million"] = seconds * 1_000_000 / load["rows"]
            load["target_met"] = load["seconds_per_million"] <= target
    else:
        load["rows_per_second"] = 0.0

    from comptoir.operators.directory import directory_paginator

    rng = random.Random(SEED)  # noqa: S311 (benchmark sample, deterministic on purpose)
    sample = _sample(Operator, rng, size=max(queries * 2, 200))
    plan = _queries(sample, rng, count=queries)
    warm = _queries(sample, random.Random(SEED + 1), count=min(50, queries))  # noqa: S311

    def search(country: str, name: str) -> int:
        # The first page as the directory page reads it: the capped count, the ids of the
        # page in name order, then those operators with their activities.
        paginator = directory_paginator(country=country, name=name, per_page=PAGE)
        return len(paginator.page(1).object_list) if paginator.count else 0

    def bare(pk: int) -> int:
        return 1 if Operator.objects.filter(pk=pk).first() is not None else 0

    for query in warm:  # caches, connections, plans
        search(query["country"], query["text"])
        bare(query["pk"])
    timings: list[dict[str, Any]] = []
    for query in plan:  # interleaved, so that both see the same machine load
        started = time.perf_counter()
        hits = search(query["country"], query["text"])
        search_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        bare(query["pk"])
        bare_ms = (time.perf_counter() - started) * 1000
        timings.append({**query, "hits": hits, "search_ms": search_ms, "bare_ms": bare_ms})

    search_stats = _stats([t["search_ms"] for t in timings])
    bare_stats = _stats([t["bare_ms"] for t in timings])
    by_kind = {}
    for kind in QUERY_KINDS:
        of_kind = [t for t in timings if t["kind"] == kind]
        if of_kind:
            by_kind[kind] = {
                "queries": len(of_kind),
                **_stats([t["search_ms"] for t in of_kind]),
                "with_results": sum(1 for t in of_kind if t["hits"]) / len(of_kind),
            }
    slowest = sorted(timings, key=lambda t: t["search_ms"], reverse=True)[:10]
    result = {
        "benchmark": "directory_search",
        "vendor": vendor,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "operators": Operator.objects.count(),
        "operators_generated": operators,
        "queries": len(timings),
        "page_size": PAGE,
        "search": "directory_paginator(country=..., name=..., per_page=20).page(1)",
        "bare": "Operator.objects.filter(pk=...).first()",
        "search_ms": search_stats,
        "bare_ms": bare_stats,
        "ratio": {
            "p50": search_stats["p50"] / bare_stats["p50"],
            "p95": search_stats["p95"] / bare_stats["p95"],
        },
        "target": {
            "p95_ms": TARGET_P95_MS[vendor],
            "met": search_stats["p95"] <= TARGET_P95_MS[vendor],
        },
        "queries_with_results": sum(1 for t in timings if t["hits"]) / len(timings),
        "by_kind": by_kind,
        "slowest": [
            {key: t[key] for key in ("kind", "country", "text", "hits", "search_ms")}
            for t in slowest
        ],
        "import": load,
        "machine": machine(load_before),
        "versions": versions(connection),
    }
    path = RESULTS / f"directory_search-{vendor}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(_summary_line(result))
    print(f"Written to {path.relative_to(ROOT)}")
    return 0


def _earlier_import(vendor: str, csv_path: Path) -> dict[str, Any]:
    """BENCH_REUSE=1 does not load the file again: keep the import figures of the run that did,
    with the time they were measured."""
    path = RESULTS / f"directory_search-{vendor}.json"
    if not path.exists():
        return {}
    earlier = json.loads(path.read_text(encoding="utf-8"))
    figures = earlier.get("import") or {}
    if figures.get("skipped") or figures.get("file", csv_path.name) != csv_path.name:
        return {key: value for key, value in figures.items() if key != "skipped"}
    return {
        **{key: value for key, value in figures.items() if key != "skipped"},
        "measured_at": earlier.get("measured_at"),
        "file": csv_path.name,
    }


def _timed_import(csv_path: Path, call_command: Any, audit_event: Any) -> dict[str, Any]:
    output = io.StringIO()
    started = time.perf_counter()
    call_command("operators_import", str(csv_path), stdout=output)
    seconds = time.perf_counter() - started
    print(output.getvalue().strip(), flush=True)
    event = audit_event.objects.filter(action="operators.imported").order_by("-sequence").first()
    counts = {key: event.data[key] for key in ("rows", "created", "updated", "unchanged")}
    return {**counts, "rejected": event.data["rejected"], "seconds": seconds}


def _sample(operator_model: Any, rng: random.Random, *, size: int) -> list[dict[str, Any]]:
    """Operators picked at random (by primary key, deterministic) among those listed."""
    from django.db.models import Max, Min

    bounds = operator_model.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        raise SystemExit("No operator loaded: nothing to search.")
    picked: dict[int, dict[str, Any]] = {}
    for _attempt in range(20):
        wanted = {rng.randint(bounds["low"], bounds["high"]) for _ in range(size * 2)}
        rows = operator_model.objects.filter(pk__in=list(wanted)[:900]).values(
            "pk", "name", "country"
        )
        for row in rows:
            picked.setdefault(row["pk"], row)
        if len(picked) >= size:
            break
    return [picked[pk] for pk in sorted(picked)][:size]


def _queries(sample: list[dict[str, Any]], rng: random.Random, *, count: int) -> list[dict]:
    from comptoir.core.text import search_text

    kinds = list(QUERY_KINDS)
    weights = [QUERY_KINDS[kind] for kind in kinds]
    plan = []
    while len(plan) < count:
        row = rng.choice(sample)
        kind = rng.choices(kinds, weights)[0]
        words = [word for word in row["name"].replace("&", " ").split() if word]
        useful = [
            word
            for word in words
            if len(word) >= 3
            and "." not in word  # abbreviations of legal forms: people type the name
            and search_text(word).replace(" ", "") not in LEGAL_FORMS
        ]
        if not useful:
            continue
        word = rng.choice(useful)
        if kind == "full_name":
            text = row["name"]
        elif kind == "two_words":
            index = words.index(word)
            if index + 1 >= len(words) or len(words[index + 1]) < 2:
                continue
            following = words[index + 1]
            text = f"{word} {following[: rng.randint(2, len(following))]}".lower()
        elif kind == "inner":
            if len(word) < 5:
                continue
            start = rng.randint(1, len(word) - 4)
            text = word[start : start + rng.randint(3, min(5, len(word) - start))].lower()
        else:
            text = word[: rng.randint(3, min(len(word), 8))]
            if kind == "prefix":
                text = text.lower() if rng.random() < 0.7 else text
            elif kind == "prefix_no_accents":
                text = search_text(text)
            else:
                text = text.upper()
        plan.append({"kind": kind, "country": row["country"], "text": text, "pk": row["pk"]})
    return plan


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def percentile(share: float) -> float:
        # Nearest rank, so that p99 of 500 values is a measured value.
        rank = max(1, round(share * len(ordered)))
        return ordered[min(rank, len(ordered)) - 1]

    return {
        "p50": percentile(0.50),
        "p95": percentile(0.95),
        "p99": percentile(0.99),
        "mean": statistics.fmean(ordered),
        "max": ordered[-1],
    }


if __name__ == "__main__":
    sys.exit(main())
