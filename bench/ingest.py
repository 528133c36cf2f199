"""Ingestion benchmark: a generated workspace through the fake Slack server into SQLite
and PostgreSQL, then an incremental run with 1% new messages.

Default: 20 channels x 30 days x 200 messages (120,000 messages, 10% of them thread
replies in about 2,500 threads), rate limits off, Slack page size from the settings'
default. The real slack_sdk client talks HTTP to the fake server, which runs in a child
process: in the same process its JSON encoding and HTTP handling would compete with
ingestion for the GIL and be counted as ingestion time (``--fake-in-process`` shows by
how much). So the figures are the product's: its HTTP client, normalization and
database writes. Peak memory is the ingesting process's alone (its high-water mark is
reset before each backend where Linux allows it).

    .venv/bin/python -m bench.ingest                       # full size
    .venv/bin/python -m bench.ingest --channels 3 --days 5 --per-day 100 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from slack_events_dagster.domain.models import datetime_to_ts
from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack
from slack_events_dagster.testing.workspace_gen import DEFAULT_END, generate_workspace
from slack_events_dagster_tests.helpers.stores import ingest_workspace

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _peak_rss_mb() -> float:
    """This process's peak resident memory (since the last reset, where Linux has one)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    # ru_maxrss is in kilobytes on Linux and is never reset.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> None:
    with contextlib.suppress(OSError):
        _CLEAR_REFS.write_text("5")  # "5" resets VmHWM to the current RSS


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


def _serve_fake(conn: Connection, workspace_options: dict[str, Any]) -> None:
    """Child process: seed and run the fake server, then answer the benchmark's commands."""
    workspace = generate_workspace(**workspace_options)
    fake = FakeSlack.from_workspace(workspace, rate_limits=False)
    conn.send((fake.start(), workspace.message_count()))
    del workspace  # the fake keeps its own copy
    while True:
        command, argument = conn.recv()
        if command == "calls":
            conn.send(dict(sorted(fake.calls.items())))
        elif command == "cpu":
            conn.send(time.process_time())
        elif command == "reset":
            fake.reset_counts()
            conn.send(None)
        elif command == "add":
            conn.send(_add_new_messages(fake, *argument))
        else:
            fake.stop()
            conn.send(None)
            return


class _FakeControl:
    """The benchmark's handle on the fake server, in this process or in a child."""

    def __init__(self, conn: Connection | None = None, fake: FakeSlack | None = None) -> None:
        self._conn = conn
        self._fake = fake

    def _ask(self, command: str, argument: Any = None) -> Any:
        assert self._conn is not None
        self._conn.send((command, argument))
        return self._conn.recv()

    def calls(self) -> dict[str, int]:
        if self._fake is not None:
            return dict(sorted(self._fake.calls.items()))
        result: dict[str, int] = self._ask("calls")
        return result

    def cpu_seconds(self) -> float | None:
        """CPU time the fake server process has used (None when it shares this process)."""
        if self._fake is not None:
            return None
        used: float = self._ask("cpu")
        return used

    def reset_counts(self) -> None:
        if self._fake is not None:
            self._fake.reset_counts()
        else:
            self._ask("reset")

    def add_new_messages(self, fraction: float, seed: int) -> int:
        if self._fake is not None:
            return _add_new_messages(self._fake, fraction, seed)
        added: int = self._ask("add", (fraction, seed))
        return added


@contextmanager
def _fake_slack(
    workspace_options: dict[str, Any], in_process: bool
) -> Iterator[tuple[str, int, _FakeControl]]:
    """(base URL, message count, control) of a running fake server."""
    if in_process:
        workspace = generate_workspace(**workspace_options)
        fake = FakeSlack.from_workspace(workspace, rate_limits=False)
        with fake.serve() as base_url:
            yield base_url, workspace.message_count(), _FakeControl(fake=fake)
        return
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_fake, args=(child, workspace_options), daemon=True)
    process.start()
    try:
        base_url, messages = parent.recv()
        yield base_url, messages, _FakeControl(conn=parent)
        parent.send(("stop", None))
        parent.recv()
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


def _spent(before: float | None, after: float | None) -> float | None:
    return round(after - before, 2) if before is not None and after is not None else None


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
    workspace_options = {
        "channels": args.channels,
        "days": args.days,
        "per_day": args.per_day,
        "thread_fraction": 0.1,
        "seed": args.seed,
    }
    drop = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
    else:
        url, drop = _postgres_database(args.postgres_url)
    repository = SqlRepository.from_url(url)
    repository.create_schema()
    try:
        with _fake_slack(workspace_options, args.fake_in_process) as (base_url, messages, fake):
            options: dict[str, Any] = {"page_size": args.page_size} if args.page_size else {}
            settings = SlackSettings(
                source="api",
                token=DEFAULT_TOKEN,
                base_url=base_url,
                retry_backoff_s=0.05,
                **options,
            )
            source = WebApiSource(settings)
            _reset_peak_rss()
            baseline_mb = _peak_rss_mb()
            fake_cpu = fake.cpu_seconds()
            started, cpu = time.perf_counter(), time.process_time()
            full = ingest_workspace(source, repository)
            full_s, full_cpu = time.perf_counter() - started, time.process_time() - cpu
            full_fake_cpu = _spent(fake_cpu, fake.cpu_seconds())
            stored = repository.count_messages()
            full_calls = fake.calls()
            full_threads = full.total("threads_refreshed")

            fake.reset_counts()
            added = fake.add_new_messages(0.01, args.seed)
            fake_cpu = fake.cpu_seconds()
            started, cpu = time.perf_counter(), time.process_time()
            incremental = ingest_workspace(source, repository)
            incremental_s = time.perf_counter() - started
            incremental_cpu = time.process_time() - cpu
            incremental_fake_cpu = _spent(fake_cpu, fake.cpu_seconds())
            incremental_calls = fake.calls()
        return {
            "backend": backend,
            "page_size": settings.page_size,
            "fake_server": "in-process" if args.fake_in_process else "child process",
            "messages": messages,
            "stored": stored,
            "full_seconds": round(full_s, 2),
            "messages_per_second": round(stored / full_s, 1),
            # CPU of the ingesting process (Python, slack_sdk, SQLite's C code) and of the
            # fake server: what is left of the wall time is waiting (PostgreSQL, the OS).
            "full_cpu_seconds": round(full_cpu, 2),
            "full_fake_server_cpu_seconds": full_fake_cpu,
            "full_api_calls": full_calls,
            "full_threads_read": full_threads,
            "full_failed_channels": len(full.failed),
            "incremental_new_messages": added,
            "incremental_stored_new": incremental.total("new"),
            "incremental_threads_read": incremental.total("threads_refreshed"),
            "incremental_seconds": round(incremental_s, 2),
            "incremental_cpu_seconds": round(incremental_cpu, 2),
            "incremental_fake_server_cpu_seconds": incremental_fake_cpu,
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
    parser.add_argument(
        "--page-size", type=int, default=None, help="default: slack.page_size's default"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument(
        "--fake-in-process",
        action="store_true",
        help="run the fake server in this process (it then competes for the GIL)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory() as workdir:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            result = run_backend(backend, args, Path(workdir))
            results.append(result)
            print(
                f"{backend:9s} {result['stored']:>8,} messages in {result['full_seconds']:>7.2f} s "
                f"= {result['messages_per_second']:>8,.0f} msg/s (page size "
                f"{result['page_size']}, fake server in {result['fake_server']}); peak RSS "
                f"{result['peak_rss_mb']:.0f} MB (before ingest: "
                f"{result['baseline_rss_mb']:.0f} MB)"
            )
            print(
                f"          CPU: ingesting process {result['full_cpu_seconds']:.2f} s, "
                f"fake server {result['full_fake_server_cpu_seconds']} s"
            )
            print(
                f"          full run API calls:        {result['full_api_calls']} "
                f"({result['full_threads_read']} threads)"
            )
            print(
                f"          incremental (+{result['incremental_new_messages']} new, "
                f"{result['incremental_stored_new']} stored, "
                f"{result['incremental_threads_read']} threads re-read) in "
                f"{result['incremental_seconds']:.2f} s (CPU "
                f"{result['incremental_cpu_seconds']:.2f} s), API calls: "
                f"{result['incremental_api_calls']}"
            )
            sys.stdout.flush()
    if args.json:
        print(json.dumps({"benchmark": "ingest", "results": results}))


if __name__ == "__main__":
    main()
