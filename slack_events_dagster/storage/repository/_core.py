"""The repository's plumbing: engine, transactions, errors, locks, upserts."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Self, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    inspect,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from slack_events_dagster.domain.models import (
    ts_sort_key,
)
from slack_events_dagster.settings import DatabaseSettings
from slack_events_dagster.storage.base import (
    RepositoryError,
    RepositoryUnavailableError,
    UpsertCounts,
)
from slack_events_dagster.storage.bulk import (
    DialectFormat,
)
from slack_events_dagster.storage.engine import create_db_engine, redact_url, url_from_settings
from slack_events_dagster.storage.migrate import prepare_schema, stamp_head
from slack_events_dagster.storage.schema import (
    metadata,
    raw_slack_messages,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# pg_advisory_lock key of the events merge (any constant unique to this product).
_EVENTS_LOCK_KEY = 0x5EC7_E7E1

# Parameters per statement stay well below SQLite's and PostgreSQL's limits.
_KEY_CHUNK = 900


def utcnow() -> datetime:
    return datetime.now(UTC)


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def keys_in(table: Table, keys: Iterable[tuple[str, str]]) -> ColumnElement[bool]:
    """``(channel_id, ts) IN keys`` written as ``channel_id = ? AND ts IN (...)`` per
    channel: both dialects answer that from the primary key, while SQLite scans the
    whole table for a row-value ``IN`` list."""
    by_channel: dict[str, list[str]] = defaultdict(list)
    for channel_id, ts in keys:
        by_channel[channel_id].append(ts)
    return or_(
        *(and_(table.c.channel_id == c, table.c.ts.in_(tss)) for c, tss in by_channel.items())
    )


def ts_to_micros(ts: str) -> int:
    whole, frac = ts_sort_key(ts)
    return whole * 1_000_000 + frac


def _is_connect_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(
        marker in text
        for marker in (
            "connection refused",
            "could not connect",
            "connection failed",
            "server closed",
        )
    )


class RepositoryCore:
    """The :class:`~slack_events_dagster.storage.base.Repository` on SQLAlchemy Core."""

    def __init__(self, engine: Engine, *, batch_size: int = 2000) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.dialect = engine.dialect.name
        self._format = DialectFormat(self.dialect, engine.dialect.paramstyle)
        self._memory_locks: dict[str, threading.Lock] = {}

    # -- construction --------------------------------------------------------
    @classmethod
    def from_url(cls, url: str | URL, *, settings: DatabaseSettings | None = None) -> Self:
        settings = settings or DatabaseSettings()
        engine = create_db_engine(
            url, pool=settings.pool, sqlite_busy_timeout_s=settings.sqlite_busy_timeout_s
        )
        return cls(engine, batch_size=settings.batch_size)

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> Self:
        return cls.from_url(url_from_settings(settings), settings=settings)

    def create_schema(self) -> None:
        """Create missing tables straight from the metadata (tests); deployments migrate.

        The database is stamped with the newest migration, which makes the same tables,
        so code that checks the schema before use (``migrate.prepare_schema``) finds it
        ready."""
        with self._transaction("create_schema") as conn:
            metadata.create_all(conn)
            stamp_head(conn)

    def prepare_schema(self) -> str | None:
        """Bring SQLite to the newest schema; on PostgreSQL, the message naming the command
        to run when the schema is not the newest. None when the database is ready."""
        return prepare_schema(self.engine)

    def has_schema(self) -> bool:
        with self._errors("has_schema"):
            return inspect(self.engine).has_table(raw_slack_messages.name)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------
    @contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        try:
            yield
        except RepositoryError:
            raise
        except (OperationalError, DBAPIError) as exc:
            detail = redact_url(str(getattr(exc, "orig", None) or exc)).strip().splitlines()
            message = detail[0] if detail else type(exc).__name__
            if (
                isinstance(exc, OperationalError) and exc.connection_invalidated
            ) or _is_connect_error(exc):
                raise RepositoryUnavailableError(operation, message) from None
            raise RepositoryError(operation, message) from None
        except SQLAlchemyError as exc:
            raise RepositoryError(operation, redact_url(str(exc)).splitlines()[0]) from None

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[Connection]:
        with self._errors(operation), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def events_lock(self) -> Iterator[None]:
        """Serialize merging across runs and processes: dedup reads events of every
        channel, and two runs folding the same events at once would undo each other."""
        with self._named_lock("events", _EVENTS_LOCK_KEY):
            yield

    @contextmanager
    def extraction_lock(self, channel_id: str) -> Iterator[None]:
        """One extractor per channel at a time: a second run of the same partition
        waits, then finds the candidates done instead of paying for them again."""
        digest = hashlib.blake2b(channel_id.encode(), digest_size=8).digest()
        # Signed 64-bit, as pg_advisory_lock takes it; never the events lock's key.
        key = int.from_bytes(digest, "big", signed=True) ^ 1
        with self._named_lock(f"extract-{digest.hex()}", key):
            yield

    @contextmanager
    def _named_lock(self, name: str, key: int) -> Iterator[None]:
        """PostgreSQL: a session advisory lock (released if the process dies); SQLite:
        an exclusive ``flock`` on a file in ``<database>.locks/`` (likewise released)."""
        if self.dialect == "postgresql":
            with self._errors(f"{name} lock"), self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    conn.commit()
            return
        database = self.engine.url.database
        if not database or database == ":memory:":
            # dict.setdefault is atomic: two threads never get two locks for one name.
            with self._memory_locks.setdefault(name, threading.Lock()):
                yield
            return
        # One folder of lock files beside the database (one per channel that extracts).
        folder = Path(f"{database}.locks")
        folder.mkdir(exist_ok=True)
        with open(folder / f"{name}.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def dialect_insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT that supports ``on_conflict_do_*`` on the current dialect."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _upsert(
        self,
        conn: Connection,
        table: Table,
        rows: list[dict[str, Any]],
        key_columns: Sequence[str],
        *,
        update_columns: Sequence[str] | None = None,
    ) -> UpsertCounts:
        """Insert or update rows by key; rows equal to what is stored are not written."""
        if not rows:
            return UpsertCounts()
        if update_columns is None:
            update_columns = [c for c in rows[0] if c not in key_columns and c != "updated_at"]
        existing = self._existing_keys(conn, table, key_columns, rows)
        statement = self.dialect_insert(table)
        changed = or_(*(table.c[c].is_distinct_from(statement.excluded[c]) for c in update_columns))
        set_ = {c: statement.excluded[c] for c in update_columns}
        if "updated_at" in rows[0]:
            set_["updated_at"] = statement.excluded["updated_at"]
        statement = statement.on_conflict_do_update(
            index_elements=list(key_columns), set_=set_, where=changed
        )
        written = self._count_written(conn, statement, table, rows)
        inserted = sum(1 for row in rows if tuple(row[k] for k in key_columns) not in existing)
        updated = max(written - inserted, 0)
        return UpsertCounts(inserted, updated, len(rows) - inserted - updated)

    def _count_written(
        self,
        conn: Connection,
        statement: postgresql.Insert | sqlite.Insert,
        table: Table,
        rows: list[dict[str, Any]],
    ) -> int:
        """Execute a conflict-aware INSERT for many rows; count the rows it wrote.

        RETURNING is the one count both dialects report exactly: rows skipped by
        ON CONFLICT DO NOTHING or by the DO UPDATE ... WHERE clause return nothing.
        """
        returning = statement.returning(*table.primary_key.columns)
        written = 0
        for chunk in chunks(rows, self.batch_size):
            written += len(conn.execute(returning, chunk).all())
        return written

    def _existing_keys(
        self,
        conn: Connection,
        table: Table,
        key_columns: Sequence[str],
        rows: list[dict[str, Any]],
    ) -> set[tuple[Any, ...]]:
        found: set[tuple[Any, ...]] = set()
        columns = [table.c[k] for k in key_columns]
        for chunk in chunks(rows, _KEY_CHUNK):
            keys = [tuple(row[k] for k in key_columns) for row in chunk]
            condition: ColumnElement[bool]
            if len(columns) == 1:
                condition = columns[0].in_([key[0] for key in keys])
            elif list(key_columns) == ["channel_id", "ts"]:
                condition = keys_in(table, keys)
            else:
                condition = tuple_(*columns).in_(keys)
            found.update(tuple(r) for r in conn.execute(select(*columns).where(condition)))
        return found
