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
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, BATCH_WRITABLE_EVENTS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
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
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.pool import NullPool, QueuePool

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


class _KeptSqliteEventLogStorage(SqliteEventLogStorage):
    """The index database's connections are kept; a run's own database is still opened
    and closed per write, because closing it checkpoints the write into ``<run_id>.db``,
    the file whose changes dagster-webserver watches to stream the run's logs."""

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

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """A batch of a run's asset events, written with one connection per file.

        With ``DAGSTER_EVENT_BATCH_SIZE`` set, Dagster hands a ranged run's per-partition
        events over together: the planned events at run creation and each step's
        materializations, one per partition. Dagster's SQLite storage then stores them
        one by one (a connection to the run file and a transaction on the index file
        each); here the run file gets every row at once, closed once (the one change a
        log watcher needs), and the index file one transaction. The stored rows are
        those of ``store_event`` in the same order; the asset table is updated by the
        last event of each kind per asset, which leaves it as every update in turn would.
        """
        if len({e.run_id for e in events}) != 1 or not all(
            e.dagster_event_type in BATCH_WRITABLE_EVENTS for e in events
        ):
            super().store_event_batch(events)
            return
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)

        indexed = [
            i
            for i, e in enumerate(events)
            if e.dagster_event_type in ASSET_EVENTS and e.get_dagster_event().asset_key
        ]
        if indexed:
            asset_events = [events[i] for i in indexed]
            with self.index_transaction() as conn:
                inserted = conn.execute(
                    SqlEventLogStorageTable.insert().returning(
                        SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
                    ),
                    [rows[i] for i in indexed],
                )
                event_ids = [int(event_id) for event_id in inserted.scalars()]
                self._store_asset_event_tags(conn, asset_events, event_ids)
                # The last event of each (asset, kind), in the order of those last events.
                last: dict[tuple[Any, Any], tuple[EventLogEntry, int]] = {}
                for event, event_id in zip(asset_events, event_ids, strict=True):
                    key = (event.get_dagster_event().asset_key, event.dagster_event_type)
                    last.pop(key, None)
                    last[key] = (event, event_id)
                for event, event_id in last.values():
                    self._store_asset_event(conn, event, event_id)

        # Check planned events: as store_event does (a few per run, not per partition).
        for event, row in zip(events, rows, strict=True):
            if event.dagster_event_type in ASSET_CHECK_EVENTS:
                with self.index_connection() as conn:
                    check_id = conn.execute(SqlEventLogStorageTable.insert(), row)
                    event_id = check_id.inserted_primary_key[0]  # type: ignore[index]
                self.store_asset_check_event(event, event_id)

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
