"""Shared pieces of the reliability tests (and bench/faults.py).

- :func:`pipeline_settings` and :func:`run_pipeline`: the steps a partition run does
  (register, ingest through the Web API, score, extract with rules) over a generated
  workspace served by the fake Slack, with a fixed ``now`` so two runs are comparable;
- :func:`table_state`: a content hash of every table, ignoring run timestamps;
- :class:`ProbedRepository`: a repository that calls a probe at named phases (inside
  the transaction, just before commit) so a driver can stop there and be killed;
- :func:`run_crash_child`: starts ``crash_driver`` in a child process and SIGKILLs it
  at a chosen phase or after a delay.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy import select as sql_select

from slack_events_dagster import steps
from slack_events_dagster.domain.models import SlackMessage
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.settings import Settings, SlackSettings, load_settings
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.engine import create_db_engine
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import TABLES_IN_DEPENDENCY_ORDER
from slack_events_dagster.testing.workspace_gen import GeneratedWorkspace, generate_workspace

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKSPACE_END = date(2024, 3, 29)
WORKSPACE_DAYS = 4
FIRST_DAY = WORKSPACE_END - timedelta(days=WORKSPACE_DAYS - 1)
# After the workspace's last day: ingestion is incremental (moves watermarks) and every
# event stamp is deterministic.
NOW = datetime(2024, 3, 30, 12, tzinfo=UTC)
TOKEN = "xoxb-reliability-token"

# Columns that say when a run happened, not what it stored; ingestion_state's counters
# describe the last run (a re-run after a crash fetches less), not the data.
IGNORED_COLUMNS = {
    "ingested_at",
    "updated_at",
    "created_at",
    "last_run_at",
    "ingestion_state.fetched",
    "ingestion_state.new",
    "ingestion_state.edited",
    "ingestion_state.deleted",
    "ingestion_state.api_calls",
}


def crash_workspace(seed: int = 7, channels: int = 3, per_day: int = 40) -> GeneratedWorkspace:
    """A few hundred messages with threads, edits and announcements the rules pick up."""
    return generate_workspace(
        channels=channels,
        days=WORKSPACE_DAYS,
        per_day=per_day,
        thread_fraction=0.25,
        seed=seed,
        end=WORKSPACE_END,
    )


def pipeline_settings(base_url: str, *, token: str = TOKEN, page_size: int = 40) -> Settings:
    return load_settings(
        slack={
            "source": "api",
            "base_url": base_url,
            "token": token,
            "page_size": page_size,
            "max_retries": 3,
            "retry_backoff_s": 0.01,
            "timeout_s": 10,
            "workspace_url": "https://fake-workspace.slack.com/",
        },
        pipeline={"timezone": "UTC", "start_date": FIRST_DAY, "candidate_threshold": 0.4},
    )


@dataclass
class PipelineReport:
    ingested: int = 0
    failed_channels: list[str] = field(default_factory=list)
    candidates: int = 0
    events: int = 0
    api_calls: int = 0


def run_pipeline(
    repository: SqlRepository,
    settings: Settings,
    *,
    channel_ids: set[str] | None = None,
    source: WebApiSource | None = None,
    now: datetime = NOW,
) -> PipelineReport:
    """What an ingest run of every channel does: ingest (incremental), score, extract."""
    source = source or WebApiSource(settings.slack)
    report = PipelineReport()
    channels = steps.register_channels(source, repository)
    if channel_ids is not None:
        channels = [c for c in channels if c.id in channel_ids]
    extractor = RuleExtractor()
    today = now.date()
    for channel in channels:
        ingested = steps.ingest_days(source, repository, settings, channel, today, today, now=now)
        report.ingested += ingested.new
        report.api_calls += ingested.api_calls
        if ingested.error is not None:
            # Stop like a failed run: which channel is extracted first changes events
            # (merging is order-dependent across channels), so a re-run must see the
            # same order as the uninterrupted run it is compared with.
            report.failed_channels.append(f"{channel.id}: {ingested.error}")
            break
        scored = steps.score_days(repository, settings, channel, FIRST_DAY, WORKSPACE_END, now=now)
        report.candidates += scored.candidates
        extracted = steps.extract_days(
            repository, extractor, settings, channel, FIRST_DAY, WORKSPACE_END, now=now
        )
        report.events += extracted.new
    return report


# -- table state ---------------------------------------------------------------------


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        return round(float(value), 9)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def table_rows(
    conn: Connection, table_name: str, ignore: frozenset[str] = frozenset()
) -> list[tuple[Any, ...]]:
    table = next(t for t in TABLES_IN_DEPENDENCY_ORDER if t.name == table_name)
    ignored = IGNORED_COLUMNS | ignore
    columns = [
        c
        for c in table.columns
        if c.name not in ignored and f"{table.name}.{c.name}" not in ignored
    ]
    rows = [tuple(_normal(v) for v in row) for row in conn.execute(sql_select(*columns))]
    return sorted(rows, key=lambda row: json.dumps(row, default=str))


def table_state(engine: Engine, ignore: frozenset[str] = frozenset()) -> dict[str, tuple[int, str]]:
    """Per table: (row count, sha256 of its rows without run timestamps)."""
    state: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in TABLES_IN_DEPENDENCY_ORDER:
            rows = table_rows(conn, table.name, ignore)
            digest = hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()
            state[table.name] = (len(rows), digest)
    return state


def state_difference(
    engine: Engine,
    reference: Engine,
    table: str,
    limit: int = 3,
    ignore: frozenset[str] = frozenset(),
) -> str:
    """A readable sample of the rows that differ in one table (for assertion messages)."""
    with engine.connect() as a, reference.connect() as b:
        ours, theirs = set(table_rows(a, table, ignore)), set(table_rows(b, table, ignore))
    extra = sorted(ours - theirs, key=str)[:limit]
    missing = sorted(theirs - ours, key=str)[:limit]
    return f"{table}: extra {extra} missing {missing}"


@dataclass
class Reference:
    state: dict[str, tuple[int, str]]
    repository: SqlRepository
    phase_counts: dict[str, int]


def assert_converged(repository: SqlRepository, reference: Reference, where: str = "") -> None:
    """Every table equals the reference's (run timestamps aside)."""
    state = table_state(repository.engine)
    differing = [t for t in state if state[t] != reference.state[t]]
    details = [
        state_difference(repository.engine, reference.repository.engine, t) for t in differing
    ]
    assert differing == [], f"{where}: {details}"


# -- phase probes ------------------------------------------------------------------

PHASES = ("fetch", "upsert", "watermark", "score", "extraction")
_OPERATION_PHASES = {
    "upsert_candidates": "score",
    "set_candidate_status": "extraction",
    "upsert_events": "extraction",
    "delete_events": "extraction",
}

Probe = Callable[[str], None]


class ProbedRepository(SqlRepository):
    """Calls ``probe(phase)`` inside each write transaction, just before it commits."""

    def __init__(self, engine: Engine, probe: Probe) -> None:
        super().__init__(engine)
        self.probe = probe
        self._writing_watermark = False

    @classmethod
    def probed(cls, url: str, probe: Probe) -> ProbedRepository:
        return cls(create_db_engine(url), probe)

    def upsert_messages(self, messages: Any, *, watermarks: dict[str, str] | None = None) -> Any:
        self._writing_watermark = bool(watermarks)
        try:
            return super().upsert_messages(messages, watermarks=watermarks)
        finally:
            self._writing_watermark = False

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[Connection]:
        with super()._transaction(operation) as conn:
            yield conn
            if operation == "upsert_messages":
                self.probe("watermark" if self._writing_watermark else "upsert")
            elif operation in _OPERATION_PHASES:
                self.probe(_OPERATION_PHASES[operation])


class ProbedSource(WebApiSource):
    """A Web API source calling ``probe("fetch")`` after each page arrives."""

    def __init__(self, settings: SlackSettings, probe: Probe) -> None:
        super().__init__(settings)
        self.probe = probe

    def fetch(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for page in super().fetch(*args, **kwargs):
            self.probe("fetch")
            yield page


class PhaseCounter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(PHASES, 0)

    def __call__(self, phase: str) -> None:
        self.counts[phase] += 1


# -- child processes -------------------------------------------------------------


@dataclass
class CrashOutcome:
    killed: bool
    # The phase and occurrence the child was stopped at, or "delay" / "finished".
    where: str
    output: str


def run_crash_child(
    database_url: str,
    base_url: str,
    *,
    stop_phase: str | None = None,
    stop_at: int = 0,
    kill_after_s: float | None = None,
    page_size: int = 40,
    channel_ids: set[str] | None = None,
    timeout_s: float = 60.0,
) -> CrashOutcome:
    """Run ``crash_driver`` in a child process and SIGKILL it at the chosen point.

    With ``stop_phase`` the child stops (sleeping, inside the transaction when the phase
    is a write) at that phase's ``stop_at``-th occurrence and is killed there; with
    ``kill_after_s`` it is killed that long after it reports it has started.
    """
    command = [
        sys.executable,
        "-m",
        "slack_events_dagster_tests.reliability.crash_driver",
        "--database-url",
        database_url,
        "--base-url",
        base_url,
        "--page-size",
        str(page_size),
    ]
    if stop_phase is not None:
        command += ["--stop-phase", stop_phase, "--stop-at", str(stop_at)]
    for channel_id in sorted(channel_ids or ()):
        command += ["--channel", channel_id]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=REPO_ROOT,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    kill_at: float | None = None
    where = "finished"
    try:
        while True:
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"crash driver did not reach its point: {lines[-5:]}")
            if kill_at is not None and now >= kill_at:
                where = f"delay {kill_after_s:.3f}s"
                break
            wait = 0.2 if kill_at is None else max(0.0, min(0.2, kill_at - now))
            ready, _, _ = select.select([child.stdout], [], [], wait)
            if not ready:
                continue
            line = child.stdout.readline()
            if not line:
                child.wait(timeout=30)  # the child finished before the kill
                break
            lines.append(line.rstrip())
            if line.startswith("STARTED") and kill_after_s is not None:
                kill_at = time.monotonic() + kill_after_s
            if line.startswith("STOPPED"):
                where = line.split(maxsplit=1)[1].strip()
                break
        killed = child.poll() is None
        if killed:
            child.kill()  # SIGKILL: no cleanup, no rollback, no atexit
        child.wait(timeout=10)
        return CrashOutcome(killed=killed, where=where, output="\n".join(lines))
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        child.stdout.close()


def messages_in(workspace: GeneratedWorkspace) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (channel_id, raw["ts"]): raw
        for channel_id, items in workspace.messages.items()
        for raw in items
    }


def stored_messages(repository: SqlRepository) -> list[SlackMessage]:
    found: list[SlackMessage] = []
    for channel in repository.get_channels(include_archived=True):
        found.extend(
            repository.get_messages(
                channel.id, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            )
        )
    return found
