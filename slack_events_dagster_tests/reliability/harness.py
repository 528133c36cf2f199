"""Shared pieces of the reliability tests (and bench/faults.py).

- :func:`pipeline_settings` and :func:`run_pipeline`: the steps a partition run does
  (register, ingest through the Web API, score, extract with rules) over a generated
  workspace served by the fake Slack, with a fixed ``now`` so two runs are comparable;
- :func:`table_state`: a content hash of every table, ignoring run timestamps;
- :class:`ProbedRepository`: a repository that calls a probe at named phases (inside
  the transaction, just before commit) so a driver can stop there and be killed;
- :func:`run_crash_child`: starts ``crash_driver`` in a child process and SIGKILLs it
  at a chosen phase or after a delay;
- :func:`cli_site` and :func:`kill_cli`: the product's main job, ``slack-events run``
  (full Dagster runs on a persistent instance), in a child process, SIGKILLed when its
  database shows a given progress, inside a digest post, or after a delay.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import threading
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
from slack_events_dagster.testing.fake_openai import FakeOpenAIServer
from slack_events_dagster.testing.fake_slack import FakeSlack
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
            # Stop like a failed run. Merging is independent of channel order except
            # for the rare cases in domain/test_merge_order.py (strict xfail), so the
            # re-run still sees the order of the uninterrupted run it is compared with.
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


def assert_same_tables(
    engine: Engine,
    reference: Engine,
    where: str,
    *,
    ignore: frozenset[str] = frozenset(),
    expected: dict[str, tuple[int, str]] | None = None,
) -> None:
    """Every table of ``engine`` equals the reference's (run timestamps and ``ignore``
    aside); a failure shows the differing rows. ``expected``: the reference's
    ``table_state``, when the caller has it already."""
    state = table_state(engine, ignore)
    expected = expected if expected is not None else table_state(reference, ignore)
    differing = [t for t in state if state[t] != expected[t]]
    details = [state_difference(engine, reference, t, ignore=ignore) for t in differing]
    assert differing == [], f"{where}: {details}"


def assert_converged(repository: SqlRepository, reference: Reference, where: str = "") -> None:
    """Every table equals the reference's (run timestamps aside)."""
    assert_same_tables(
        repository.engine, reference.repository.engine, where, expected=reference.state
    )


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


# -- `slack-events run` in a child process: full Dagster runs --------------------------
#
# The product's main job as a user starts it: a config file, a persistent Dagster
# instance in DAGSTER_HOME, the fake Slack (with a digest channel, not ingested) and the
# fake OpenAI server. The workspace ends yesterday and the run's default range ends
# today, so the last day goes through the incremental path and moves watermarks.

RUN_CHANNELS, RUN_DAYS = 3, 3
RUN_TOKEN = "xoxb-dagster-run-token"
RUN_LLM_KEY = "sk-dagster-run-key"
DIGEST_CHANNEL = "C0DIGESTS1"
RUN_SCOPES = ["channels:history", "channels:read", "users:read", "chat:write"]
# Progress the parent reads from the child's SQLite file (one count each), in the order
# a run reaches them for the first time.
RUN_PROGRESS: dict[str, str] = {
    "messages": "SELECT count(*) FROM raw_slack_messages",
    "watermarks": "SELECT count(*) FROM channel_watermarks",
    "candidates": "SELECT count(*) FROM event_candidates",
    "llm_calls": "SELECT count(*) FROM llm_calls",
    "events": "SELECT count(*) FROM events",
    "digests": "SELECT count(*) FROM digests",
    "in_progress": "SELECT count(*) FROM event_candidates WHERE status = 'in_progress'",
}
# Columns that differ between two runs for reasons other than the data: how long a model
# call took, and the ts Slack gave the posted digest (a new message per run).
RUN_IGNORED = frozenset({"llm_calls.latency_ms", "digests.posted_ts", "digests.posted_at"})


def run_workspace(end: date, seed: int = 11) -> GeneratedWorkspace:
    return generate_workspace(
        channels=RUN_CHANNELS,
        days=RUN_DAYS,
        per_day=60,
        thread_fraction=0.25,
        seed=seed,
        end=end,
    )


class PostWatchingSlack(FakeSlack):
    """The fake Slack calling ``on_post(body)`` after ``chat.postMessage`` stored the
    message and before it answers: a client killed there never learns the ts."""

    on_post: Callable[[dict[str, Any]], None] | None = None

    def _api_chat_postMessage(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        body = super()._api_chat_postMessage(params, scopes)
        if self.on_post is not None:
            self.on_post(body)
        return body

    def posts_in(self, channel_id: str) -> list[dict[str, Any]]:
        return [p for p in self.posted if p["channel"] == channel_id]


@contextmanager
def run_fakes(end: date) -> Iterator[tuple[PostWatchingSlack, FakeOpenAIServer]]:
    """The fake Slack serving :func:`run_workspace` plus a digest channel, and the fake
    OpenAI server (a little latency, so extraction takes a moment a kill can hit)."""
    workspace = run_workspace(end)
    fake = PostWatchingSlack(tokens={RUN_TOKEN: RUN_SCOPES})
    fake.load(workspace.channels, workspace.users, workspace.messages.items())
    fake.add_channel(
        {"id": DIGEST_CHANNEL, "name": "digests", "created": 0, "members": [], "is_archived": False}
    )
    with fake.serve(), FakeOpenAIServer(latency_s=0.05, require_api_key=RUN_LLM_KEY) as llm:
        yield fake, llm


@dataclass
class CliSite:
    """One installation: config file, SQLite database, DAGSTER_HOME and output folder."""

    folder: Path
    config: Path
    database: Path
    dagster_home: Path

    @property
    def url(self) -> str:
        return f"sqlite:///{self.database}"


def cli_site(folder: Path, slack_url: str, llm_url: str, first_day: date) -> CliSite:
    """Write the config of a `slack-events run` over the run workspace into ``folder``.

    Secrets are in the file, as a user may write them; the digest is posted to the
    digest channel, which is not ingested.
    """
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    out = folder / "out"
    settings = {
        "database": {"type": "sqlite", "path": str(folder / "app.db")},
        "slack": {
            "source": "api",
            "base_url": slack_url,
            "token": RUN_TOKEN,
            "page_size": 40,
            "max_retries": 3,
            "retry_backoff_s": 0.01,
            "timeout_s": 10,
            "workspace_url": "https://fake-workspace.slack.com/",
            "exclude_channels": ["digests"],
        },
        "llm": {"provider": "openai", "base_url": llm_url, "api_key": RUN_LLM_KEY, "batch_size": 2},
        "pipeline": {
            "start_date": first_day.isoformat(),
            "timezone": "UTC",
            "candidate_threshold": 0.4,
        },
        "digest": {
            "post": True,
            "channel": DIGEST_CHANNEL,
            # Today's digest is as of min(digest.time, now): at midnight, two runs a
            # minute apart render the same digest ("changed since" names the moment).
            "time": "00:00",
            "output_dir": str(out),
            "calendar_path": str(out / "events.ics"),
        },
    }
    config = folder / "settings.yaml"
    config.write_text(json.dumps(settings, indent=2), encoding="utf-8")  # JSON is YAML
    return CliSite(folder, config, folder / "app.db", home)


def _cli_popen(site: CliSite, log: Any) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_EVENTS_", "DAGSTER_"))}
    env.update({"DAGSTER_HOME": str(site.dagster_home), "PYTHONUNBUFFERED": "1"})
    return subprocess.Popen(
        [sys.executable, "-m", "slack_events_dagster.cli", "--config", str(site.config), "run"],
        cwd=site.folder,  # no stray config.yaml or .env from the repository
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, killed as a whole
    )


@dataclass
class CliOutcome:
    returncode: int | None
    output: str
    seconds: float
    killed: bool = False
    # What the kill was waiting for ("messages>=180", "post#2", "delay 1.20s") or "finished".
    where: str = "finished"
    counts: dict[str, int] = field(default_factory=dict)


def run_cli(site: CliSite, timeout_s: float = 180.0) -> CliOutcome:
    """`slack-events run` to completion."""
    return kill_cli(site, None, timeout_s=timeout_s)


def progress(database: Path) -> dict[str, int]:
    """The child's progress counts; zeros before the schema exists."""
    counts = dict.fromkeys(RUN_PROGRESS, 0)
    if not database.exists():
        return counts
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
        try:
            for name, query in RUN_PROGRESS.items():
                counts[name] = int(conn.execute(query).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not migrated yet
        pass
    return counts


@dataclass(frozen=True)
class KillPoint:
    """Where to SIGKILL the child: when ``progress()[what]`` reaches ``at``; on the
    ``at``-th digest post (what="post": inside Slack's chat.postMessage, before the
    answer); or ``at`` seconds after it started (what="delay")."""

    what: str
    at: float

    def __str__(self) -> str:
        if self.what == "delay":
            return f"delay {self.at:.2f}s"
        if self.what == "post":
            return f"post#{int(self.at)}"
        return f"{self.what}>={int(self.at)}"


# The kinds of kill points, in the order a run reaches them.
RUN_KILL_KINDS = (
    "delay",
    "messages",
    "watermarks",
    "candidates",
    "llm_calls",
    "events",
    "digests",
    "post",
)


def run_kill_point(kind: str, seed: int, reference: CliOutcome) -> KillPoint:
    """A seeded point of ``kind`` within what the uninterrupted ``reference`` run did."""
    rng = random.Random(seed)
    if kind == "delay":
        return KillPoint("delay", rng.uniform(0.0, reference.seconds))
    if kind == "post":
        return KillPoint("post", rng.randint(1, reference.counts["digests"]))
    return KillPoint(kind, rng.randint(1, reference.counts[kind]))


def _reached(point: KillPoint, site: CliSite, elapsed: float) -> bool:
    if point.what == "delay":
        return elapsed >= point.at
    if point.what == "post":
        return False  # the fake Slack's on_post kills
    return progress(site.database)[point.what] >= point.at


def kill_cli(
    site: CliSite,
    point: KillPoint | None,
    *,
    slack: PostWatchingSlack | None = None,
    timeout_s: float = 180.0,
    poll_s: float = 0.01,
) -> CliOutcome:
    """Run `slack-events run` in a child process and SIGKILL it (with its process group)
    at ``point``; without one, let it finish."""
    log_path = site.folder / f"cli-{time.monotonic_ns()}.log"
    started = time.monotonic()
    killed = threading.Event()
    with log_path.open("wb") as log:
        child = _cli_popen(site, log)

        def kill() -> None:
            if child.poll() is None:
                killed.set()
                os.killpg(child.pid, signal.SIGKILL)  # no cleanup, no rollback, no atexit

        posts = 0

        def on_post(body: dict[str, Any]) -> None:
            nonlocal posts
            if body.get("channel") != DIGEST_CHANNEL:
                return
            posts += 1
            if point is not None and point.what == "post" and posts == point.at:
                kill()

        if slack is not None:
            slack.on_post = on_post
        try:
            deadline = started + timeout_s
            while child.poll() is None:
                now = time.monotonic()
                if now > deadline:
                    raise TimeoutError(f"slack-events run did not finish in {timeout_s}s")
                if point is not None and _reached(point, site, now - started):
                    kill()
                time.sleep(poll_s)
        finally:
            if slack is not None:
                slack.on_post = None
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
    return CliOutcome(
        returncode=child.returncode,
        output=log_path.read_text(encoding="utf-8", errors="replace"),
        seconds=time.monotonic() - started,
        killed=killed.is_set(),
        where=str(point) if killed.is_set() and point is not None else "finished",
        counts=progress(site.database),
    )
