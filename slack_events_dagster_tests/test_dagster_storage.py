"""The pipeline on persistent Dagster instances, with the product's instance storages
(``slack_events_dagster.dagster_storage``).

On PostgreSQL, ``PooledPostgresStorage`` as deploy/dagster.yaml configures it: run,
event-log and schedule storage in their own fresh database, the app's tables in
another. On SQLite, ``KeptSqliteStorage`` in a directory. Each test counts the
connections the storage opens while the runs write their events, then reads the runs
back through a second instance object on Dagster's own storage class (and on
PostgreSQL straight from the ``runs`` table), so the data is where Dagster expects it.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.storage.event_log.base import EventRecordsFilter
from dagster._core.test_utils import instance_for_test
from dagster_postgres.event_log import PostgresEventLogStorage
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from slack_events_dagster import steps
from slack_events_dagster.dagster_storage import EVENT_BATCH_SIZE
from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.defs.resources import message_source
from slack_events_dagster.settings import load_settings
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
CHANNELS = ("C0VLNVAD8VE", "C0Q3BGHK7PB", "C0HKM3VJAU8")
FIRST, LAST = date(2026, 3, 9), date(2026, 3, 11)
TIMEZONE = "America/New_York"
MODULE = "slack_events_dagster.dagster_storage"
UNREGISTERED = "C0NOTREGISTERED"


@pytest.fixture
def dagster_postgres_url(make_postgres_database: Callable[[], str]) -> str:
    """A fresh database for the Dagster instance's own storage, through psycopg2.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, whose server-side
    parameters break dagster-postgres 0.29's ``NOTIFY run_events, %(notify_id)s``
    ("syntax error at or near $1"). A deployment's dagster.yaml must name the
    driver too: ``postgres_url: postgresql+psycopg2://...`` or, with
    ``postgres_db``, ``scheme: postgresql+psycopg2``.
    """
    url = make_url(make_postgres_database()).set(drivername="postgresql+psycopg2")
    return url.render_as_string(hide_password=False)


@dataclass
class Pipeline:
    defs: dg.Definitions
    resources: dict[str, Any]
    repository: SqlRepository
    output: Path

    def run(
        self,
        instance: dg.DagsterInstance,
        job: str,
        start: str,
        end: str,
        run_id: str | None = None,
    ) -> dg.ExecuteInProcessResult:
        return self.defs.resolve_job_def(job).execute_in_process(
            instance=instance,
            resources=self.resources,
            tags={RANGE_START: start, RANGE_END: end},
            raise_on_error=False,
            run_id=run_id,
        )

    def run_all(self, instance: dg.DagsterInstance) -> set[str]:
        """Every channel's ingestion, then the digest, over FIRST..LAST; their run ids."""
        instance.add_dynamic_partitions("channels", list(CHANNELS))
        results = [
            self.run(instance, "ingest_job", f"{c}|{FIRST}", f"{c}|{LAST}") for c in CHANNELS
        ]
        results.append(self.run(instance, "digest_job", FIRST.isoformat(), LAST.isoformat()))
        assert all(result.success for result in results)
        return {result.run_id for result in results}

    def assert_stored(self, instance: dg.DagsterInstance, run_ids: set[str]) -> None:
        """What the runs recorded in the instance and wrote to the app's database."""
        stored = instance.get_runs()
        assert {r.run_id for r in stored} == run_ids
        assert all(r.status is DagsterRunStatus.SUCCESS for r in stored)
        days = {d.isoformat() for d in steps.days(FIRST, LAST)}
        expected = {f"{c}|{d}" for c in CHANNELS for d in days}
        for asset in ("raw_slack_messages", "event_candidates", "events"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == expected, asset
        assert instance.get_materialized_partitions(dg.AssetKey("daily_digest")) == days
        assert instance.get_dynamic_partitions("channels") == list(CHANNELS)

        start, end = steps.day_bounds(FIRST, LAST, TIMEZONE)
        for channel in CHANNELS:
            assert self.repository.get_messages(channel, start, end), channel
        assert self.repository.get_candidates(start=start, end=end)
        assert self.repository.count_events() > 0
        for day in steps.days(FIRST, LAST):
            assert self.repository.get_digest(day) is not None, day
        assert (self.output / "events.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")


def _pipeline(repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Path) -> Pipeline:
    output = tmp_path / "out"
    settings = load_settings(
        database={"url": repository.engine.url.render_as_string(hide_password=False)},
        slack={
            "source": "api",
            "base_url": fake_slack.base_url,
            "max_retries": 2,
            "token": DEFAULT_TOKEN,
        },
        pipeline={"timezone": TIMEZONE, "candidate_threshold": 0.5},
        digest={
            "output_dir": str(output),
            "calendar_path": str(output / "events.ics"),
            "timezone": TIMEZONE,
        },
    )
    defs = build_definitions(settings)
    resources: dict[str, Any] = dict(defs.resources or {})
    registered = steps.register_channels(message_source(settings.slack), repository)
    assert set(CHANNELS) <= {c.id for c in registered}
    return Pipeline(defs, resources, repository, output)


def _count_connections(engines: dict[str, Engine]) -> Counter[str]:
    """New DBAPI connections opened by each engine from now on."""
    opened: Counter[str] = Counter()
    for name, engine in engines.items():
        event.listen(engine, "connect", lambda *_, name=name: opened.update([name]))
    return opened


def _events_stored(instance: dg.DagsterInstance, run_ids: set[str]) -> int:
    return sum(len(instance.all_logs(run_id)) for run_id in run_ids)


def test_pipeline_runs_on_a_postgres_instance(
    dagster_postgres_url: str,
    postgres_repository: SqlRepository,
    fake_slack: FakeSlack,
    tmp_path: Path,
) -> None:
    pipeline = _pipeline(postgres_repository, fake_slack, tmp_path)
    # As deploy/dagster.yaml configures it: dagster-postgres, keeping its connections.
    config = {"postgres_url": dagster_postgres_url}
    pooled = {"module": MODULE, "class": "PooledPostgresStorage", "config": config}
    with instance_for_test(overrides={"storage": {"custom": pooled}}) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        # dagster-postgres's event log (batches stored in a few statements: below).
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        opened = _count_connections(
            {
                "runs": instance.run_storage._engine,  # type: ignore[attr-defined]
                "events": instance.event_log_storage._engine,  # type: ignore[attr-defined]
                "schedules": instance.schedule_storage._engine,  # type: ignore[union-attr]
            }
        )
        run_ids = pipeline.run_all(instance)
        stored_events = _events_stored(instance, run_ids)
    # Hundreds of reads and writes (the runs' event logs alone), a handful of connections:
    # dagster-postgres by itself opens one per statement.
    assert stored_events > 150, stored_events
    assert sum(opened.values()) <= 6, opened

    # A second instance on the same database, on dagster-postgres's own class, sees the
    # runs and what they materialized.
    with instance_for_test(overrides={"storage": {"postgres": config}}) as reopened:
        pipeline.assert_stored(reopened, run_ids)
    engine = create_engine(dagster_postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM runs")).scalar_one() == len(run_ids)
            checks = conn.execute(text("SELECT count(*) FROM asset_check_executions"))
            assert checks.scalar_one() > 0
    finally:
        engine.dispose()


def test_pipeline_runs_on_a_sqlite_instance_that_keeps_its_connections(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    pipeline = _pipeline(sqlite_repository, fake_slack, tmp_path)
    base_dir = str(tmp_path / "dagster")
    kept = {"module": MODULE, "class": "KeptSqliteStorage", "config": {"base_dir": base_dir}}
    with instance_for_test(overrides={"storage": {"custom": kept}}) as instance:
        event_log: Any = instance.event_log_storage
        opened = _count_connections(
            {
                "runs": instance.run_storage._engine,  # type: ignore[attr-defined]
                "index": event_log._index_engine,
                "schedules": instance.schedule_storage._engine,  # type: ignore[union-attr]
            }
        )
        run_ids = pipeline.run_all(instance)
        stored_events = _events_stored(instance, run_ids)
    # Dagster's own SQLite storage opens the runs and index files once per statement.
    assert stored_events > 150, stored_events
    assert sum(opened.values()) <= 6, opened

    # Dagster's own SQLite storage reads the same directory: same files, same layout.
    with instance_for_test(overrides={"storage": {"sqlite": {"base_dir": base_dir}}}) as reopened:
        pipeline.assert_stored(reopened, run_ids)


def test_each_event_the_kept_storage_writes_is_in_the_run_file_a_watcher_watches(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """dagster-webserver streams a run's logs by watching the run's own file change
    (``SqliteEventLogStorageWatchdog``: an inotify modification of ``<run_id>.db``, then a
    read). The kept storage must leave every event in that file when ``store_event``
    returns, not in an open write-ahead log where no change of the file announces it.

    Checked after each event by reading the main file alone (``immutable=1`` ignores the
    WAL), rather than by a live watcher, whose wake-ups depend on thread timing."""
    pipeline = _pipeline(sqlite_repository, fake_slack, tmp_path)
    base_dir = tmp_path / "dagster"
    kept = {"module": MODULE, "class": "KeptSqliteStorage", "config": {"base_dir": str(base_dir)}}
    run_id = str(uuid.uuid4())
    in_file_after_each: list[tuple[str, int, int]] = []

    def events_in_run_file() -> int:
        path = base_dir / "history" / "runs" / f"{run_id}.db"
        if not path.exists():
            return 0
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM event_logs").fetchone()[0])
        finally:
            conn.close()

    with instance_for_test(overrides={"storage": {"custom": kept}}) as writer:
        writer.add_dynamic_partitions("channels", list(CHANNELS))
        storage: Any = writer.event_log_storage
        store_event = storage.store_event
        stored = 0

        def store_and_check(entry: EventLogEntry) -> None:
            nonlocal stored
            store_event(entry)
            if entry.run_id == run_id:
                stored += 1
                kind = entry.dagster_event_type.name if entry.dagster_event_type else "log"
                in_file_after_each.append((kind, stored, events_in_run_file()))

        storage.store_event = store_and_check
        channel = CHANNELS[0]
        result = pipeline.run(
            writer, "ingest_job", f"{channel}|{FIRST}", f"{channel}|{LAST}", run_id
        )
        assert result.success

    kinds = [kind for kind, _, _ in in_file_after_each]
    assert "ASSET_MATERIALIZATION" in kinds and kinds[-1] == "RUN_SUCCESS", kinds
    missing = [(kind, n, found) for kind, n, found in in_file_after_each if found != n]
    assert not missing, missing[:5]

    # And Dagster's own storage, as the webserver opens it, reads them all back.
    with instance_for_test(overrides={"storage": {"sqlite": {"base_dir": str(base_dir)}}}) as ui:
        assert len(ui.all_logs(run_id)) == len(in_file_after_each)


def _stored_state(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, Any]:
    """What a user sees of the runs, with run ids replaced by their position."""
    position = {run_id: n for n, run_id in enumerate(run_ids)}
    state: dict[str, Any] = {
        "events": [
            [e.dagster_event_type.name if e.dagster_event_type else "log" for e in logs]
            for logs in (instance.all_logs(run_id) for run_id in run_ids)
        ]
    }
    for asset in ("raw_slack_messages", "event_candidates", "events", "daily_digest"):
        key = dg.AssetKey(asset)
        records = instance.fetch_materializations(key, limit=1000).records
        planned = instance.event_log_storage.get_event_records(
            EventRecordsFilter(DagsterEventType.ASSET_MATERIALIZATION_PLANNED, asset_key=key),
            limit=1000,
        )
        latest = instance.get_latest_materialization_event(key)
        assert latest is not None
        (record,) = instance.event_log_storage.get_asset_records([key])
        entry = record.asset_entry
        state[asset] = {
            "materialized": sorted(instance.get_materialized_partitions(key)),
            "materializations": [(position[r.run_id], r.partition_key) for r in records],
            "planned": sorted((position[r.run_id], r.partition_key or "") for r in planned),
            "latest": (position[latest.run_id], latest.dagster_event.partition),  # type: ignore[union-attr]
            # The asset table's row: its last run, as a planned event or materialization set it.
            "last_run": position[entry.last_run_id] if entry.last_run_id else None,
        }
    checks = {}
    for check_key in (
        dg.AssetCheckKey(dg.AssetKey("events"), "events_are_unique_and_sourced"),
        dg.AssetCheckKey(dg.AssetKey("raw_slack_messages"), "watermark_sanity"),
        dg.AssetCheckKey(dg.AssetKey("daily_digest"), "digest_safety"),
    ):
        history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=100)
        checks[check_key.to_user_string()] = sorted(
            (position[h.run_id], h.status.value) for h in history
        )
    state["checks"] = checks
    return state


class _BatchSpy:
    """Counts the batches an event log storage is handed (``store_event_batch``)."""

    def __init__(self, storage: Any) -> None:
        self.sizes: list[int] = []
        original = storage.store_event_batch

        def store_event_batch(events: Any) -> None:
            self.sizes.append(len(events))
            original(events)

        storage.store_event_batch = store_event_batch


def _run_batched_and_not(
    pipeline: Pipeline,
    storages: tuple[dict[str, Any], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    """The same runs on two fresh instances, one storing events one by one, one in
    batches (DAGSTER_EVENT_BATCH_SIZE, as the deployment and `slack-events run` set it)."""
    states = []
    batches: list[int] = []
    for storage, batch_size in zip(storages, ("0", EVENT_BATCH_SIZE), strict=True):
        monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", batch_size)
        with instance_for_test(overrides={"storage": storage}) as instance:
            spy = _BatchSpy(instance.event_log_storage)
            instance.add_dynamic_partitions("channels", list(CHANNELS))
            run_ids = []
            for channel in CHANNELS:
                result = pipeline.run(
                    instance, "ingest_job", f"{channel}|{FIRST}", f"{channel}|{LAST}"
                )
                assert result.success
                run_ids.append(result.run_id)
            # Again for one channel: the asset table's last run moves on.
            result = pipeline.run(
                instance, "ingest_job", f"{CHANNELS[0]}|{FIRST}", f"{CHANNELS[0]}|{LAST}"
            )
            run_ids.append(result.run_id)
            # A run that fails before materializing anything: its planned events alone make
            # it each asset's last run (how the UI shows an asset's run in progress or failed).
            instance.add_dynamic_partitions("channels", [UNREGISTERED])
            failed = pipeline.run(
                instance, "ingest_job", f"{UNREGISTERED}|{FIRST}", f"{UNREGISTERED}|{LAST}"
            )
            assert not failed.success
            run_ids.append(failed.run_id)
            result = pipeline.run(instance, "digest_job", FIRST.isoformat(), LAST.isoformat())
            assert result.success
            run_ids.append(result.run_id)
            states.append(_stored_state(instance, run_ids))
            batches = spy.sizes
    return states[0], states[1], batches


def test_batched_events_on_sqlite_store_what_single_events_store(
    sqlite_repository: SqlRepository,
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline = _pipeline(sqlite_repository, fake_slack, tmp_path)
    storages = tuple(
        {
            "custom": {
                "module": MODULE,
                "class": "KeptSqliteStorage",
                "config": {"base_dir": str(tmp_path / name)},
            }
        }
        for name in ("single", "batched")
    )
    single, batched, batches = _run_batched_and_not(pipeline, storages, monkeypatch)  # type: ignore[arg-type]
    # Planned events (one per partition on SQLite) and materializations come in batches.
    assert batches and max(batches) >= len(list(steps.days(FIRST, LAST))) * 3, batches
    assert batched == single


def test_batched_events_on_postgres_store_what_single_events_store(
    make_postgres_database: Callable[[], str],
    postgres_repository: SqlRepository,
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline = _pipeline(postgres_repository, fake_slack, tmp_path)
    storages = []
    for _ in range(2):
        url = make_url(make_postgres_database()).set(drivername="postgresql+psycopg2")
        config = {"postgres_url": url.render_as_string(hide_password=False)}
        storages.append(
            {"custom": {"module": MODULE, "class": "PooledPostgresStorage", "config": config}}
        )
    single, batched, batches = _run_batched_and_not(
        pipeline, (storages[0], storages[1]), monkeypatch
    )
    assert batches and max(batches) >= len(list(steps.days(FIRST, LAST))), batches
    assert batched == single
