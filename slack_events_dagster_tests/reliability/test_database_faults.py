"""The database goes away mid-run, and runs overlap.

- PostgreSQL: the app's connections are terminated (``pg_terminate_backend``) between
  transactions and inside one, and the server is restarted inside a transaction
  (``pg_ctlcluster ... restart``): the pool recovers by pre-ping or the failure is a
  clear RepositoryError naming the operation, and a re-run converges.
- Concurrency on PostgreSQL: two runs of the same partitions at once (threads and
  processes) and ten runs of different channels at once: no duplicate, no unhandled
  deadlock, watermarks never move back, the end state equals a sequential run.
- SQLite: concurrent runs wait for the write lock (busy timeout) instead of failing with
  "database is locked".
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from slack_events_dagster.domain.models import CandidateStatus, ts_sort_key
from slack_events_dagster.storage.base import RepositoryError
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import FakeSlack
from slack_events_dagster_tests.helpers.crash_points import (
    ProbedRepository,
    ProbedSource,
    run_crash_child,
)
from slack_events_dagster_tests.helpers.partition_run import (
    TOKEN,
    PipelineReport,
    Reference,
    assert_converged,
    crash_workspace,
    pipeline_settings,
    run_pipeline,
)
from slack_events_dagster_tests.helpers.stores import advance_watermark
from slack_events_dagster_tests.helpers.tables import assert_same_tables, table_state

pytestmark = pytest.mark.reliability

CLUSTER = ("15", "main")


def _terminate_backends(url: str) -> int:
    """Terminate every connection to the database of ``url`` (from another session)."""
    database = make_url(url).database
    admin = create_engine(
        make_url(url).set(database="postgres", drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": database},
                ).all()
            )
    finally:
        admin.dispose()


def _postgres_is_up(url: str) -> bool:
    engine = create_engine(url, connect_args={"connect_timeout": 2})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def _ensure_postgres_running(url: str) -> None:
    """After a restart test: the server must be back for everyone else's tests."""
    for _ in range(60):
        if _postgres_is_up(url):
            return
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", *CLUSTER, "start"],
            check=False,
            capture_output=True,
            timeout=60,
        )
        time.sleep(0.5)
    raise AssertionError("PostgreSQL did not come back after the restart test")


def _fresh(url: str) -> None:
    setup = SqlRepository.from_url(url)
    setup.create_schema()
    setup.close()


def _run_with_fault(
    url: str, fake: FakeSlack, phase: str, occurrence: int, fault: Callable[[], object]
) -> tuple[PipelineReport | None, Exception | None, list[str]]:
    """One pipeline run whose ``occurrence``-th ``phase`` (inside its transaction,
    before commit; ``fetch`` between transactions) triggers ``fault``."""
    seen: dict[str, int] = {}
    fired: list[str] = []

    def probe(name: str) -> None:
        seen[name] = seen.get(name, 0) + 1
        if name == phase and seen[name] == occurrence and not fired:
            fired.append(f"{name}#{occurrence}")
            fault()

    repository = ProbedRepository.probed(url, probe)
    settings = pipeline_settings(fake.base_url)
    try:
        report = run_pipeline(repository, settings, source=ProbedSource(settings.slack, probe))
        return report, None, fired
    except RepositoryError as exc:
        return None, exc, fired
    finally:
        repository.close()


def _rerun_converges(url: str, fake: FakeSlack, reference: Reference, where: str) -> None:
    repository = SqlRepository.from_url(url)
    try:
        report = run_pipeline(repository, pipeline_settings(fake.base_url))
        assert report.failed_channels == []
        assert_converged(repository, reference, where)
    finally:
        repository.close()


# -- connections terminated, server restarted -------------------------------------------


@pytest.mark.postgres
def test_idle_connections_terminated_between_transactions_are_replaced(
    workspace_slack: FakeSlack,
    postgres_reference: Reference,
    make_postgres_database: Callable[[], str],
) -> None:
    url = make_postgres_database()
    _fresh(url)
    # After the 3rd page arrives the pool's connection is idle: pre-ping replaces it.
    report, error, fired = _run_with_fault(
        url, workspace_slack, "fetch", 3, lambda: _terminate_backends(url)
    )
    assert fired == ["fetch#3"]
    assert error is None and report is not None
    assert report.failed_channels == [], "pre-ping recovers without failing anything"
    repository = SqlRepository.from_url(url)
    try:
        assert_converged(repository, postgres_reference, "terminated between transactions")
    finally:
        repository.close()


@pytest.mark.postgres
@pytest.mark.parametrize("phase", ["watermark", "extraction"])
def test_connection_terminated_inside_a_transaction_fails_clearly_then_converges(
    phase: str,
    workspace_slack: FakeSlack,
    postgres_reference: Reference,
    make_postgres_database: Callable[[], str],
) -> None:
    url = make_postgres_database()
    _fresh(url)
    report, error, fired = _run_with_fault(
        url, workspace_slack, phase, 2, lambda: _terminate_backends(url)
    )
    assert fired == [f"{phase}#2"]
    # Ingestion reports a failed channel; extraction raises: either way the message is
    # a RepositoryError naming the operation, with no password and no traceback text.
    if report is not None:
        [failure] = report.failed_channels
        assert "repository operation 'upsert_messages' failed" in failure
    else:
        assert isinstance(error, RepositoryError)
        assert "repository operation" in str(error)
        assert "postgres:postgres@" not in str(error)
    _rerun_converges(url, workspace_slack, postgres_reference, f"terminated in {phase}")


@pytest.mark.postgres
@pytest.mark.pg_restart
def test_server_restart_mid_transaction_then_rerun_converges(
    workspace_slack: FakeSlack,
    postgres_reference: Reference,
    make_postgres_database: Callable[[], str],
) -> None:
    url = make_postgres_database()
    _fresh(url)

    def restart() -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", *CLUSTER, "restart"],
            check=True,
            capture_output=True,
            timeout=120,
        )

    try:
        report, error, fired = _run_with_fault(url, workspace_slack, "upsert", 2, restart)
    finally:
        _ensure_postgres_running(url)
    assert fired == ["upsert#2"]
    if report is not None:
        assert report.failed_channels, "the transaction that outlived the server failed"
        assert all("upsert_messages" in failure for failure in report.failed_channels)
    else:
        assert isinstance(error, RepositoryError)
    _rerun_converges(url, workspace_slack, postgres_reference, "after a server restart")


# -- concurrent runs -----------------------------------------------------------------


class WatermarkWatcher:
    """Reads the watermarks in a loop; records any that moved backwards."""

    def __init__(self, url: str) -> None:
        self.repository = SqlRepository.from_url(url)
        self.backwards: list[str] = []
        self.reads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        last: dict[str, tuple[int, int]] = {}
        while not self._stop.is_set():
            for channel, ts in self.repository.get_watermarks().items():
                key = ts_sort_key(ts)
                if channel in last and key < last[channel]:
                    self.backwards.append(f"{channel}: {last[channel]} -> {key}")
                last[channel] = key
            self.reads += 1
            self._stop.wait(0.01)

    def __enter__(self) -> WatermarkWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.repository.close()


def _concurrently(functions: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(functions))

    def start(function: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        return function()

    with ThreadPoolExecutor(max_workers=len(functions)) as pool:
        futures = [pool.submit(start, f) for f in functions]
        return [future.result(timeout=300) for future in futures]


def _pipeline_on(url: str, base_url: str, channel_ids: set[str] | None = None) -> Callable[[], Any]:
    def run() -> PipelineReport:
        repository = SqlRepository.from_url(url)  # one engine per run, as in two processes
        try:
            return run_pipeline(repository, pipeline_settings(base_url), channel_ids=channel_ids)
        finally:
            repository.close()

    return run


PARTITION = {"C00000002"}


def _partition_reference(make_database: Callable[[], str], base_url: str) -> SqlRepository:
    """One channel's partitions run once, alone: what concurrent runs must end with."""
    url = make_database()
    _fresh(url)
    _pipeline_on(url, base_url, PARTITION)()
    return SqlRepository.from_url(url)


def _assert_same_state(url: str, reference: SqlRepository, where: str, runs: int) -> None:
    repository = SqlRepository.from_url(url)
    try:
        assert repository.event_integrity() == ([], [])
        # Everything, attempts included: runs of one partition take turns on its
        # extraction lock, so each candidate is extracted (and counted) once.
        assert_same_tables(repository.engine, reference.engine, f"{where} ({runs} runs)")
    finally:
        repository.close()


@pytest.mark.postgres
def test_two_runs_of_the_same_partition_at_once_on_postgres(
    workspace_slack: FakeSlack, make_postgres_database: Callable[[], str]
) -> None:
    base_url = workspace_slack.base_url
    reference = _partition_reference(make_postgres_database, base_url)
    url = make_postgres_database()
    _fresh(url)
    try:
        with WatermarkWatcher(url) as watcher:
            reports = _concurrently(
                [_pipeline_on(url, base_url, PARTITION), _pipeline_on(url, base_url, PARTITION)]
            )
        assert [r.failed_channels for r in reports] == [[], []]
        assert watcher.backwards == []
        _assert_same_state(url, reference, "two threads at once", runs=2)
    finally:
        reference.close()


@pytest.mark.postgres
def test_two_processes_and_a_thread_on_the_same_partition_on_postgres(
    workspace_slack: FakeSlack, make_postgres_database: Callable[[], str]
) -> None:
    base_url = workspace_slack.base_url
    reference = _partition_reference(make_postgres_database, base_url)
    url = make_postgres_database()
    _fresh(url)
    children = [lambda: run_crash_child(url, base_url, channel_ids=PARTITION) for _ in range(2)]
    try:
        with WatermarkWatcher(url) as watcher:
            results = _concurrently([*children, _pipeline_on(url, base_url, PARTITION)])
        for outcome in results[:2]:
            assert not outcome.killed and "failed_channels=[]" in outcome.output, outcome.output
        assert results[2].failed_channels == []
        assert watcher.backwards == []
        _assert_same_state(url, reference, "two processes and a thread", runs=3)
    finally:
        reference.close()


@pytest.fixture(scope="module")
def ten_channel_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack.from_workspace(
        crash_workspace(seed=11, channels=10, per_day=15),
        tokens={TOKEN: ["channels:history", "channels:read", "users:read"]},
    )
    with fake.serve():
        yield fake


# Tables whose content does not depend on the order channels are extracted in (all of
# them since merging is order-independent: test_channel_order_does_not_change_events).
ORDER_FREE_TABLES = (
    "slack_channels",
    "slack_users",
    "raw_slack_messages",
    "channel_watermarks",
    "ingestion_state",
    "event_candidates",
    "llm_calls",
    "digests",
    "events",
    "event_sources",
    "event_links",
)


@pytest.mark.postgres
def test_ten_runs_of_different_channels_at_once_on_postgres(
    ten_channel_slack: FakeSlack, make_postgres_database: Callable[[], str]
) -> None:
    sequential, concurrent = make_postgres_database(), make_postgres_database()
    _fresh(sequential)
    _fresh(concurrent)
    base_url = ten_channel_slack.base_url
    channel_ids = sorted(ten_channel_slack.channels)
    assert len(channel_ids) == 10
    for channel_id in channel_ids:
        _pipeline_on(sequential, base_url, {channel_id})()
    with WatermarkWatcher(concurrent) as watcher:
        reports = _concurrently([_pipeline_on(concurrent, base_url, {c}) for c in channel_ids])
    assert all(r.failed_channels == [] for r in reports)
    assert watcher.backwards == []
    one, other = SqlRepository.from_url(sequential), SqlRepository.from_url(concurrent)
    try:
        assert other.event_integrity() == ([], [])
        state, expected = table_state(other.engine), table_state(one.engine)
        assert {t: state[t] for t in ORDER_FREE_TABLES} == {
            t: expected[t] for t in ORDER_FREE_TABLES
        }
        # And every extracted candidate is the source of exactly one event.
        extracted = {
            (c.channel_id, c.ts) for c in other.get_candidates(statuses=[CandidateStatus.EXTRACTED])
        }
        sources = [(s.channel_id, s.ts) for e in other.get_events() for s in e.sources]
        assert len(sources) == len(set(sources)), "a message is the source of two events"
        assert extracted <= set(sources)
    finally:
        one.close()
        other.close()


def test_channel_order_does_not_change_events(ten_channel_slack: FakeSlack, tmp_path: Path) -> None:
    forward, backward = (f"sqlite:///{tmp_path / name}" for name in ("f.db", "b.db"))
    base_url = ten_channel_slack.base_url
    channel_ids = sorted(ten_channel_slack.channels)
    for url, order in ((forward, channel_ids), (backward, channel_ids[::-1])):
        _fresh(url)
        for channel_id in order:
            _pipeline_on(url, base_url, {channel_id})()
    one, other = SqlRepository.from_url(forward), SqlRepository.from_url(backward)
    try:
        assert table_state(one.engine)["events"] == table_state(other.engine)["events"]
    finally:
        one.close()
        other.close()


def test_concurrent_runs_on_sqlite_wait_instead_of_failing(
    workspace_slack: FakeSlack, tmp_path: Path
) -> None:
    names = iter(range(10))
    base_url = workspace_slack.base_url
    reference = _partition_reference(
        lambda: f"sqlite:///{tmp_path / f'db{next(names)}.db'}", base_url
    )
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    _fresh(url)
    children = [lambda: run_crash_child(url, base_url, channel_ids=PARTITION) for _ in range(2)]
    runs = [_pipeline_on(url, base_url, PARTITION) for _ in range(2)]
    try:
        results = _concurrently([*children, *runs])
        for outcome in results[:2]:
            assert "database is locked" not in outcome.output
            assert not outcome.killed and "failed_channels=[]" in outcome.output, outcome.output
        for report in results[2:]:
            assert report.failed_channels == []
        _assert_same_state(url, reference, "four runs at once on SQLite", runs=4)
    finally:
        reference.close()


def test_sqlite_busy_timeout_is_honoured(tmp_path: Path) -> None:
    """A writer holding the lock longer than a moment delays the next one; it does not
    make it fail (the busy timeout is the bound)."""
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    _fresh(url)
    holder, waiter = SqlRepository.from_url(url), SqlRepository.from_url(url)
    release = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with holder.engine.begin() as conn:  # BEGIN IMMEDIATE: the write lock
            conn.execute(text("UPDATE channel_watermarks SET ts = ts"))
            held.set()
            release.wait(timeout=10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(timeout=10)
        timer = threading.Timer(0.5, release.set)
        timer.start()
        assert advance_watermark(waiter, "C1", "1700000000.000100") is True
        timer.join()
    finally:
        release.set()
        thread.join(timeout=10)
        holder.close()
        waiter.close()
