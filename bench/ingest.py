"""Ingestion benchmark: a generated workspace through the fake Slack server into SQLite
and PostgreSQL, then an incremental run with 1% new messages.

Default: 20 channels x 30 days x 200 messages (120,000 messages, 10% thread replies),
rate limits off. The real slack_sdk client talks HTTP to the in-process fake server, so
the figures include JSON encoding and HTTP on both sides; peak memory (ru_maxrss) also
includes the fake server's copy of the workspace, printed separately as the baseline.

    .venv/bin/python -m bench.ingest                       # full size
    .venv/bin/python -m bench.ingest --channels 3 --days 5 --per-day 100 --json
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from slack_events_dagster.domain.models import datetime_to_ts
from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.ingest import ingest_workspace
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack
from slack_events_dagster.testing.workspace_gen import DEFAULT_END, generate_workspace

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _add_new_messages(fake: FakeSlack, fraction: float, seed: int) -> int:
    """Post ``fraction`` of the workspace again as new messages, 10% of them as replies."""
    rng = random.Random(seed)
    end = datetime(DEFAULT_END.year, DEFAULT_END.month, DEFAULT_END.day, tzinfo=UTC)
    start = end + timedelta(days=1)
    total = sum(len(c.messages) for c in fake.channels.values())
    count = max(1, round(total * fraction))
    channel_ids = sorted(fake.channels)
    for index in range(count):
        channel_id = channel_ids[index % len(channel_ids)]
        ts = datetime_to_ts(start + timedelta(seconds=index * 7 + rng.randint(0, 5)))
        recent = fake.channels[channel_id].history_ts[-50:]
        if rng.random() < 0.1 and recent:
            fake.add_reply(channel_id, rng.choice(recent), f"reply {index}", ts=ts)
        else:
            fake.add_message(channel_id, f"new message {index} about the release", ts=ts)
    return count


def _postgres_database(admin_url: str) -> tuple[str, Any]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bench_ingest_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    workspace = generate_workspace(
        channels=args.channels,
        days=args.days,
        per_day=args.per_day,
        thread_fraction=0.1,
        seed=args.seed,
    )
    fake = FakeSlack.from_workspace(workspace, rate_limits=False)
    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
    else:
        url, drop = _postgres_database(args.postgres_url)
    repository = SqlRepository.from_url(url)
    repository.create_schema()
    baseline_mb = _peak_rss_mb()
    try:
        with fake.serve() as base_url:
            settings = SlackSettings(
                source="api",
                token=DEFAULT_TOKEN,
                base_url=base_url,
                page_size=args.page_size,
                retry_backoff_s=0.05,
            )
            source = WebApiSource(settings)
            started = time.perf_counter()
            full = ingest_workspace(source, repository)
            full_s = time.perf_counter() - started
            stored = repository.count_messages()
            full_calls = dict(sorted(fake.calls.items()))

            fake.reset_counts()
            added = _add_new_messages(fake, 0.01, args.seed)
            started = time.perf_counter()
            incremental = ingest_workspace(source, repository)
            incremental_s = time.perf_counter() - started
            incremental_calls = dict(sorted(fake.calls.items()))
        return {
            "backend": backend,
            "messages": workspace.message_count(),
            "stored": stored,
            "full_seconds": round(full_s, 2),
            "messages_per_second": round(stored / full_s, 1),
            "full_api_calls": full_calls,
            "full_failed_channels": len(full.failed),
            "incremental_new_messages": added,
            "incremental_stored_new": incremental.total("new"),
            "incremental_seconds": round(incremental_s, 2),
            "incremental_api_calls": incremental_calls,
            "baseline_rss_mb": round(baseline_mb, 1),
            "peak_rss_mb": round(_peak_rss_mb(), 1),
        }
    finally:
        repository.close()
        if drop is not None:
            drop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--channels", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=200)
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            result = run_backend(backend, args, Path(workdir))
            results.append(result)
            print(
                f"{backend:9s} {result['stored']:>8,} messages in {result['full_seconds']:>7.2f} s "
                f"= {result['messages_per_second']:>8,.0f} msg/s; peak RSS "
                f"{result['peak_rss_mb']:.0f} MB (fake server + data before ingest: "
                f"{result['baseline_rss_mb']:.0f} MB)"
            )
            print(f"          full run API calls:        {result['full_api_calls']}")
            print(
                f"          incremental (+{result['incremental_new_messages']} new, "
                f"{result['incremental_stored_new']} stored) in "
                f"{result['incremental_seconds']:.2f} s, API calls: "
                f"{result['incremental_api_calls']}"
            )
            sys.stdout.flush()
    if args.json:
        print(json.dumps({"benchmark": "ingest", "results": results}))


if __name__ == "__main__":
    main()
