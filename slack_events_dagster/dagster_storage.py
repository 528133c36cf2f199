"""Dagster instance storages that keep their database connections.

dagster-postgres opens a new PostgreSQL connection for every read and write of its
run, event-log and schedule storages (``NullPool``, so that idle processes hold
none). A ranged backfill run writes thousands of events (a planned event and a
materialization per partition, then the checks), and each connection costs a TCP
handshake, authentication and a new server process: a 20-channel x 30-day backfill
opened 12,943 of them.

``PooledPostgresStorage`` is ``DagsterPostgresStorage`` whose three storages each
keep ``POOL_SIZE`` connections and open up to ``MAX_OVERFLOW`` more while threads
need them, as dagster-webserver does for itself (``optimize_for_webserver``), and
check a connection before using it, so a restarted server costs a reconnect, not a
failed write. Its configuration is dagster-postgres's own (``postgres_url`` or
``postgres_db``); deploy/dagster.yaml names it under ``storage: custom``.

Dagster's SQLite storage, the local default, does the same with its files: a new
engine and connection per statement, and closing a file's last connection
checkpoints its write-ahead log. ``KeptSqliteStorage`` (config ``base_dir``, the same
files and layout as ``storage: sqlite``) keeps the connections to the runs, schedules
and event index files. A run's own event file is still opened and closed per event:
dagster-webserver streams a run's logs by watching that file change, which happens
at the checkpoint on close. A local instance names it in ``$DAGSTER_HOME/dagster.yaml``
(docs/operations.md).

Both store a batch of events (``DAGSTER_EVENT_BATCH_SIZE``: a ranged run's planned
events and materializations, one per partition) in a few statements instead of a few
per event (``_BatchedEventLog``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from dagster import EventLogEntry
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, BATCH_WRITABLE_EVENTS
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool, QueuePool

# Every name of Dagster's and dagster-postgres's internals this module relies on, in
# one place: module -> name in it -> the attributes of that class this module reads,
# sets, calls or overrides (instance attributes included). None of it is public API,
# so a Dagster upgrade may move or rename any of it without notice;
# slack_events_dagster_tests/test_dagster_internals.py resolves every entry (and checks
# that this table covers the module's imports and private attributes) and names what
# moved. Upgrade Dagster, run that test, and adapt the classes below to what it names.
DAGSTER_INTERNALS: dict[str, dict[str, tuple[str, ...]]] = {
    "dagster._core.events": {
        "ASSET_CHECK_EVENTS": (),
        "ASSET_EVENTS": (),
        "BATCH_WRITABLE_EVENTS": (),
    },
    "dagster._core.storage.event_log.schema": {"SqlEventLogStorageTable": ()},
    "dagster._core.storage.event_log.sql_event_log": {
        "SqlEventLogStorage": (
            "store_event_batch",
            "_event_to_row",
            "index_transaction",
            "_store_asset_event_tags",
            "_store_asset_event",
            "store_asset_check_event",
        ),
    },
    "dagster._core.storage.event_log.sqlite.sqlite_event_log": {
        "INDEX_SHARD_NAME": (),
        "SqliteEventLogStorage": (
            "_base_dir",
            "_connect",
            "_db_lock",
            "_initialized_dbs",
            "_initdb",
            "conn_string_for_shard",
            "run_connection",
            "index_transaction",
            "dispose",
        ),
    },
    "dagster._core.storage.runs.sqlite.sqlite_run_storage": {
        "SqliteRunStorage": ("_conn_string", "connect", "dispose"),
    },
    "dagster._core.storage.schedules.sqlite.sqlite_schedule_storage": {
        "SqliteScheduleStorage": ("_conn_string", "connect", "dispose"),
    },
    "dagster._core.storage.sqlite": {"SQLITE_BUSY_TIMEOUT_SECONDS": ()},
    "dagster._core.storage.sqlite_storage": {
        "DagsterSqliteStorage": (
            "_run_storage",
            "_event_log_storage",
            "_schedule_storage",
            "from_local",
            "from_config_value",
        ),
    },
    "dagster._serdes": {"ConfigurableClassData": ()},
    "dagster_postgres": {
        "DagsterPostgresStorage": (
            "_run_storage",
            "_event_log_storage",
            "_schedule_storage",
            "from_config_value",
        ),
    },
    "dagster_postgres.event_log": {"PostgresEventLogStorage": ("_connect", "_engine")},
    "dagster_postgres.run_storage": {"PostgresRunStorage": ("_engine",)},
    "dagster_postgres.schedule_storage": {"PostgresScheduleStorage": ("_engine",)},
    "dagster_postgres.utils": {
        "create_pg_engine": (),
        "get_token_provider_from_config": (),
        "pg_url_from_config": (),
    },
}

# Events Dagster may hand a storage at once (its DAGSTER_EVENT_BATCH_SIZE, off by default):
# a ranged run's planned events and each step's materializations, one per partition, then
# take a few statements instead of a few per partition. The deployment's image and
# `slack-events run` set it; a batch is the events of one step, so this only caps it.
EVENT_BATCH_SIZE = "1000"

# Connections kept per storage: storing an asset event opens one inside another.
POOL_SIZE = 2
# Threads of one process that use the storage at once beyond the kept ones
# (the daemon's loops, a run's event watcher); the extra ones close when returned.
MAX_OVERFLOW = 10
# Connections older than this are replaced on checkout (servers and proxies drop idle ones).
POOL_RECYCLE_S = 3600


def _insert_returning_ids(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert event rows in one statement; their ids, in the order of ``rows``."""
    inserted = conn.execute(
        SqlEventLogStorageTable.insert().returning(
            SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
        ),
        rows,
    )
    return [int(event_id) for event_id in inserted.scalars()]


class _BatchedEventLog(SqlEventLogStorage):
    """``store_event_batch`` that stores what ``store_event`` would, in a few statements.

    With ``DAGSTER_EVENT_BATCH_SIZE`` set, Dagster hands a ranged run's per-partition
    events to the storage together: the planned events at run creation (an asset's and
    its checks') and each step's materializations. Dagster's SQLite storage then stores
    them one by one, and dagster-postgres batches materializations only, not the planned
    events (mixed with check planned events). Here every batch of asset and check events
    is inserted at once, the asset events' tags in one statement, and the asset table is
    updated by the last event of each kind per asset, which leaves it as updating it for
    every event in turn would. Check events (a few per run) are recorded one by one.
    """

    def _insert_event_rows(self, run_id: str, rows: list[dict[str, Any]]) -> list[int]:
        """Insert the rows where ``store_event`` puts them; their ids in the index."""
        raise NotImplementedError

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        if len({e.run_id for e in events}) != 1 or not all(
            e.dagster_event_type in BATCH_WRITABLE_EVENTS for e in events
        ):
            super().store_event_batch(events)
            return
        event_ids = self._insert_event_rows(
            events[0].run_id, [self._event_to_row(event) for event in events]
        )
        stored = list(zip(events, event_ids, strict=True))
        assets = [(e, i) for e, i in stored if e.dagster_event_type in ASSET_EVENTS]
        if assets:
            with self.index_transaction() as conn:
                self._store_asset_event_tags(conn, [e for e, _ in assets], [i for _, i in assets])
                # The last event of each (asset, kind), in the order of those last events.
                last: dict[tuple[Any, Any], tuple[EventLogEntry, int]] = {}
                for event, event_id in assets:
                    key = (event.get_dagster_event().asset_key, event.dagster_event_type)
                    last.pop(key, None)
                    last[key] = (event, event_id)
                for event, event_id in last.values():
                    self._store_asset_event(conn, event, event_id)
        for event, event_id in stored:
            if event.dagster_event_type in ASSET_CHECK_EVENTS:
                self.store_asset_check_event(event, event_id)


class _BatchedPostgresEventLogStorage(_BatchedEventLog, PostgresEventLogStorage):
    """dagster-postgres's event log, storing every batch as ``_BatchedEventLog`` says."""

    def _insert_event_rows(self, run_id: str, rows: list[dict[str, Any]]) -> list[int]:
        # store_event's NOTIFY is skipped, as dagster-postgres's own batches skip it: no
        # watcher listens since dagster-postgres polls for new events.
        with self._connect() as conn:
            return _insert_returning_ids(conn, rows)


class PooledPostgresStorage(DagsterPostgresStorage):
    """dagster-postgres storage that holds a small pool of connections per process."""

    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        token_provider: Any = None,
    ) -> None:
        super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
        # The tables exist by now (created above when asked to).
        self._event_log_storage = _BatchedPostgresEventLogStorage(
            postgres_url, should_autocreate_tables=False, token_provider=token_provider
        )
        for storage in (self._run_storage, self._event_log_storage, self._schedule_storage):
            storage._engine = create_pg_engine(
                postgres_url,
                token_provider,
                isolation_level="AUTOCOMMIT",
                pool_size=POOL_SIZE,
                max_overflow=MAX_OVERFLOW,
                pool_recycle=POOL_RECYCLE_S,
                pool_pre_ping=True,
            )

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> PooledPostgresStorage:
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )


# -- SQLite ------------------------------------------------------------------------------


def _sqlite_engine(conn_string: str, *, keep: bool) -> Engine:
    """An engine on one of the instance's SQLite files, as Dagster opens them, keeping up
    to ``POOL_SIZE`` connections open (``keep``) or none."""
    if not keep:
        return create_engine(
            conn_string, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        )
    return create_engine(
        conn_string,
        poolclass=QueuePool,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        # Kept connections serve whichever thread asks; the pool hands each to one at a time.
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
    )


class _KeptConnections:
    """``connect()`` of Dagster's SQLite run and schedule storages, on one kept engine."""

    _conn_string: str

    @cached_property
    def _engine(self) -> Engine:
        return _sqlite_engine(self._conn_string, keep=True)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()  # type: ignore[misc]
        self._engine.dispose()


class _KeptSqliteRunStorage(_KeptConnections, SqliteRunStorage):
    pass


class _KeptSqliteScheduleStorage(_KeptConnections, SqliteScheduleStorage):
    pass


class _KeptSqliteEventLogStorage(_BatchedEventLog, SqliteEventLogStorage):
    """The index database's connections are kept; a run's own database is still opened
    and closed per write (or batch), because closing it checkpoints the write into
    ``<run_id>.db``, the file whose changes dagster-webserver watches to stream the run's
    logs. A batch's rows go to the run file, then to the index file, each at once."""

    @cached_property
    def _index_engine(self) -> Engine:
        return _sqlite_engine(self.conn_string_for_shard(INDEX_SHARD_NAME), keep=True)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            kept = shard == INDEX_SHARD_NAME
            engine = (
                self._index_engine
                if kept
                else _sqlite_engine(self.conn_string_for_shard(shard), keep=False)
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn
            if not kept:
                engine.dispose()

    def _insert_event_rows(self, run_id: str, rows: list[dict[str, Any]]) -> list[int]:
        with self.run_connection(run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        # Every batchable event is an asset or asset check event: all are indexed.
        with self.index_transaction() as conn:
            return _insert_returning_ids(conn, rows)

    def dispose(self) -> None:
        super().dispose()
        self._index_engine.dispose()


class KeptSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite instance storage (same files, same layout), keeping its
    connections to the run, schedule and event index databases."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # Dagster's own set-up creates and migrates the files; then the same files are
        # served by the storages that keep their connections.
        super().__init__(base_dir, inst_data)
        self._run_storage = _KeptSqliteRunStorage(self._run_storage._conn_string)
        self._event_log_storage = _KeptSqliteEventLogStorage(self._event_log_storage._base_dir)
        self._schedule_storage = _KeptSqliteScheduleStorage(self._schedule_storage._conn_string)

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> KeptSqliteStorage:
        return cls.from_local(config_value["base_dir"], inst_data)
