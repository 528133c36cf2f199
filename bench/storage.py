"""Storage benchmark: batched idempotent upserts against the naive one-row-one-commit path.

For SQLite and PostgreSQL it upserts N synthetic but realistic messages in
batches (as the pipeline does), upserts them all again (the idempotent path),
and inserts a 2,000-message sample the naive way the old project did: one
INSERT and one COMMIT per message on a default-configured connection (rollback
journal and full sync on SQLite), into the same table with the same rows, so the
ratio measures the write strategy alone. Messages are generated as a stream, so memory
must not grow with N; the peak RSS is printed.

    python bench/storage.py [--n 100000] [--batch 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text

from slack_events_dagster.domain.models import SlackMessage
from slack_events_dagster.storage.bulk import DialectFormat
from slack_events_dagster.storage.engine import normalize_url
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import metadata

DEFAULT_POSTGRES_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
NAIVE_SAMPLE = 2000
START_TS = 1_735_689_600  # 2025-01-01

WORDS = [
    "deploy",
    "release",
    "the",
    "on",
    "at",
    "for",
    "we",
    "will",
    "tomorrow",
    "meeting",
    "incident",
    "API",
    "team",
    "rollout",
    "staging",
    "prod",
    "fix",
    "please",
    "review",
    "PR",
    "thanks",
    "café",
    "naïve",
    "東京",
    "Grüße",
    "завтра",
    "🎉",
    "✅",
    "🚀",
    "&lt;tag&gt;",
    "<@U024BE7LH>",
    "<#C024BE7LR|general>",
    "<https://example.com/runbook|runbook>",
]


def message_length(rng: random.Random) -> int:
    """Lengths like real Slack: median about 80 characters, a long tail to 4,000."""
    return min(4000, max(3, int(rng.lognormvariate(4.38, 1.05))))


def synthetic_messages(n: int, seed: int = 7, channels: int = 20) -> Iterator[SlackMessage]:
    rng = random.Random(seed)
    for i in range(n):
        target = message_length(rng)
        words: list[str] = []
        size = 0
        while size < target:
            word = rng.choice(WORDS)
            words.append(word)
            size += len(word) + 1
        body = " ".join(words)[:target]
        ts = f"{START_TS + i * 7}.{rng.randrange(1_000_000):06d}"
        threaded = rng.random() < 0.1
        yield SlackMessage(
            channel_id=f"C{i % channels:08d}",
            ts=ts,
            thread_ts=ts if threaded else None,
            user=f"U{rng.randrange(500):08d}",
            text=body,
            blocks=[
                {
                    "type": "rich_text",
                    "block_id": f"b{i}",
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": body}]}
                    ],
                }
            ],
            reactions=[{"name": "tada", "count": 2, "users": ["U1", "U2"]}] if i % 5 == 0 else [],
            reply_count=rng.randrange(1, 6) if threaded else 0,
        )


def batches(items: Iterator[SlackMessage], size: int) -> Iterator[list[SlackMessage]]:
    while batch := list(islice(items, size)):
        yield batch


def timed_upserts(repository: SqlRepository, n: int, batch: int) -> tuple[float, int]:
    """Seconds spent inside upsert_messages (generation excluded) and rows written."""
    spent = 0.0
    written = 0
    for chunk in batches(synthetic_messages(n), batch):
        started = time.perf_counter()
        counts = repository.upsert_messages(chunk)
        spent += time.perf_counter() - started
        written += counts.inserted + counts.updated
    return spent, written


def _naive_rows(sample: list[SlackMessage], fmt: DialectFormat) -> list[tuple[object, ...]]:
    now = fmt.timestamp(datetime.now(UTC))
    return [fmt.message_values(m, now) for m in sample]


def naive_sqlite(path: Path, sample: list[SlackMessage]) -> float:
    """The old way on the same table: Python's default connection (rollback journal,
    synchronous=FULL), one INSERT and one COMMIT per message."""
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    fmt = DialectFormat("sqlite", "qmark")
    rows = _naive_rows(sample, fmt)
    conn = sqlite3.connect(path)
    started = time.perf_counter()
    for row in rows:
        conn.execute(fmt.insert_messages_sql(), row)
        conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def naive_postgres(url: str, sample: list[SlackMessage]) -> float:
    """The same on PostgreSQL: a plain connection, one INSERT and one COMMIT per message."""
    engine = create_engine(normalize_url(url))
    metadata.create_all(engine)
    engine.dispose()
    fmt = DialectFormat("postgresql", "pyformat")
    rows = _naive_rows(sample, fmt)
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for row in rows:
            conn.execute(fmt.insert_messages_sql(), row)
            conn.commit()
        return time.perf_counter() - started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_backend(name: str, repository: SqlRepository, n: int, batch: int, naive_s: float) -> dict:
    first_s, first_written = timed_upserts(repository, n, batch)
    rss_after_first = peak_rss_mb()
    rerun_s, rerun_written = timed_upserts(repository, n, batch)
    stored = repository.count_messages()
    naive_per_s = NAIVE_SAMPLE / naive_s
    first_per_s = n / first_s
    result = {
        "first_per_s": round(first_per_s),
        "rerun_per_s": round(n / rerun_s),
        "naive_per_s": round(naive_per_s),
        "ratio_to_naive": round(first_per_s / naive_per_s, 1),
        "rerun_ratio_to_naive": round((n / rerun_s) / naive_per_s, 1),
        "first_written": first_written,
        "rerun_written": rerun_written,
        "stored": stored,
        "peak_rss_after_first_mb": round(rss_after_first, 1),
    }
    print(
        f"{name:>8}: first {result['first_per_s']:>9,} msg/s | re-run {result['rerun_per_s']:>9,}"
        f" msg/s | naive {result['naive_per_s']:>6,} msg/s | first/naive "
        f"{result['ratio_to_naive']}x | re-run wrote {rerun_written} rows | stored {stored:,}",
        file=sys.stderr,
    )
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SLACK_EVENTS_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args(argv)

    sample = list(synthetic_messages(NAIVE_SAMPLE, seed=99))
    lengths = sorted(len(m.text) for m in sample)
    print(
        f"n={args.n:,} batch={args.batch} text length median={lengths[len(lengths) // 2]} "
        f"p99={lengths[int(len(lengths) * 0.99)]} max={lengths[-1]}",
        file=sys.stderr,
    )
    report: dict = {"n": args.n}
    with tempfile.TemporaryDirectory() as tmp:
        naive_s = naive_sqlite(Path(tmp) / "naive.db", sample)
        repository = SqlRepository.from_url(f"sqlite:///{tmp}/bench.db")
        repository.create_schema()
        report["sqlite"] = run_backend("sqlite", repository, args.n, args.batch, naive_s)
        repository.close()

    if not args.skip_postgres:
        admin = create_engine(normalize_url(args.postgres_url), isolation_level="AUTOCOMMIT")
        database = f"slack_events_bench_{os.getpid()}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        try:
            url = normalize_url(args.postgres_url).set(database=database)
            plain_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
            naive_s = naive_postgres(plain_url, sample)
            with admin.connect() as conn:  # the batched run starts from an empty table too
                conn.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{database}"'))
            repository = SqlRepository.from_url(url)
            repository.create_schema()
            report["postgres"] = run_backend("postgres", repository, args.n, args.batch, naive_s)
            repository.close()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()

    report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(f"peak RSS {report['peak_rss_mb']} MB", file=sys.stderr)
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
