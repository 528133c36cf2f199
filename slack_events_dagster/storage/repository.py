"""The one repository implementation, on SQLite or PostgreSQL through SQLAlchemy Core.

Writes are bulk and idempotent. Messages are compared with what is stored by a
content hash, so a re-run reads one batch of hashes and writes nothing; new rows
are inserted with ``ON CONFLICT DO NOTHING`` so concurrent writers of the same
messages cannot collide. The only dialect switch is :meth:`SqlRepository.dialect_insert`.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    delete,
    func,
    inspect,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from slack_events_dagster.domain.models import (
    CandidateStatus,
    Digest,
    Event,
    EventCandidate,
    EventChange,
    EventLink,
    IngestionState,
    LLMCall,
    SlackChannel,
    SlackMessage,
    SlackUser,
    SourceRef,
    ts_sort_key,
    ts_to_datetime,
)
from slack_events_dagster.settings import DatabaseSettings, Settings
from slack_events_dagster.storage.base import (
    CandidateOutcomeRecord,
    RepositoryError,
    RepositoryUnavailableError,
    UpsertCounts,
)
from slack_events_dagster.storage.bulk import (
    HASH_INDEX,
    DialectFormat,
    dumps_json,
    insert_new_messages,
    message_content_hash,
    message_parts,
)
from slack_events_dagster.storage.engine import create_db_engine, redact_url, url_from_settings
from slack_events_dagster.storage.schema import (
    channel_watermarks,
    digests,
    event_candidates,
    event_links,
    event_sources,
    events,
    ingestion_state,
    llm_calls,
    metadata,
    raw_slack_messages,
    slack_channels,
    slack_users,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# pg_advisory_lock key of the events merge (any constant unique to this product).
_EVENTS_LOCK_KEY = 0x5EC7_E7E1

# Parameters per statement stay well below SQLite's and PostgreSQL's limits.
_KEY_CHUNK = 900


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _keys_in(table: Table, keys: Iterable[tuple[str, str]]) -> ColumnElement[bool]:
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


def _message_from_row(row: Any) -> SlackMessage:
    return SlackMessage(
        channel_id=row.channel_id,
        ts=row.ts,
        thread_ts=row.thread_ts,
        user=row.user_id,
        bot_id=row.bot_id,
        username=row.username,
        subtype=row.subtype,
        text=row.text,
        blocks=row.blocks or [],
        attachments=row.attachments or [],
        files=row.files or [],
        reactions=row.reactions or [],
        reply_count=row.reply_count,
        latest_reply=row.latest_reply,
        edited_ts=row.edited_ts,
        is_deleted=row.is_deleted,
        is_content=row.is_content,
        permalink=row.permalink,
    )


def _local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def _event_row(event: Event, now: datetime) -> dict[str, Any]:
    timed = isinstance(event.start, datetime)
    start_at = event.start if isinstance(event.start, datetime) else None
    end_at = event.end if isinstance(event.end, datetime) else None
    if isinstance(event.end, datetime):
        end_date: date | None = _local_date(event.end, event.timezone)
    else:
        end_date = event.end
    return {
        "event_id": event.event_id,
        "dedup_key": event.dedup_key,
        "title": event.title,
        "category": event.category.value,
        "status": event.status.value,
        "all_day": not timed,
        "start_at": start_at,
        "end_at": end_at,
        "start_date": event.start_date,
        "end_date": end_date,
        "date_source": event.date_source.value,
        "timezone": event.timezone,
        "location": event.location,
        "url": event.url,
        "summary": event.summary,
        "confidence": event.confidence,
        "sequence": event.sequence,
        "history": [change.model_dump(mode="json") for change in event.history],
        "first_seen_at": event.first_seen_at or now,
        "updated_at": event.updated_at or now,
    }


def _event_from_row(row: Any, sources: list[SourceRef], links: list[EventLink]) -> Event:
    return Event(
        event_id=row.event_id,
        dedup_key=row.dedup_key,
        title=row.title,
        category=row.category,
        status=row.status,
        start=row.start_date if row.all_day else row.start_at,
        end=row.end_date if row.all_day else row.end_at,
        date_source=row.date_source,
        links=links,
        timezone=row.timezone,
        location=row.location,
        url=row.url,
        summary=row.summary,
        confidence=row.confidence,
        sequence=row.sequence,
        history=[EventChange.model_validate(change) for change in row.history or []],
        sources=sources,
        first_seen_at=row.first_seen_at,
        updated_at=row.updated_at,
    )


def _candidate_from_row(row: Any) -> EventCandidate:
    return EventCandidate(
        channel_id=row.channel_id,
        ts=row.ts,
        score=row.score,
        reasons=row.reasons or [],
        status=row.status,
        parent_ts=row.parent_ts,
        attempts=row.attempts,
        last_error=row.last_error,
        raw_answer=row.raw_answer,
        updated_at=row.updated_at,
    )


def _llm_call_from_row(row: Any) -> LLMCall:
    return LLMCall(
        prompt_hash=row.prompt_hash,
        model=row.model,
        prompt_version=row.prompt_version,
        candidate_keys=[SourceRef.model_validate(key) for key in row.candidate_keys or []],
        request=row.request or {},
        response_text=row.response_text,
        status=row.status,
        error=row.error,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cost_usd=row.cost_usd,
        latency_ms=row.latency_ms,
        created_at=row.created_at,
    )


def _digest_from_row(row: Any) -> Digest:
    return Digest(
        day=row.day,
        markdown=row.markdown,
        slack_text=row.slack_text,
        slack_blocks=row.slack_blocks or [],
        event_count=row.event_count,
        content_hash=row.content_hash,
        channel_id=row.channel_id,
        posted_ts=row.posted_ts,
        posted_at=row.posted_at,
        created_at=row.created_at,
    )


class SqlRepository:
    """The :class:`~slack_events_dagster.storage.base.Repository` on SQLAlchemy Core."""

    def __init__(self, engine: Engine, *, batch_size: int = 2000) -> None:
        self.engine = engine
        self.batch_size = batch_size
        self.dialect = engine.dialect.name
        self._format = DialectFormat(self.dialect, engine.dialect.paramstyle)
        self._memory_locks: dict[str, threading.Lock] = {}

    # -- construction --------------------------------------------------------
    @classmethod
    def from_url(cls, url: str | URL, *, settings: DatabaseSettings | None = None) -> SqlRepository:
        settings = settings or DatabaseSettings()
        engine = create_db_engine(
            url, pool=settings.pool, sqlite_busy_timeout_s=settings.sqlite_busy_timeout_s
        )
        return cls(engine, batch_size=settings.batch_size)

    @classmethod
    def from_settings(cls, settings: DatabaseSettings) -> SqlRepository:
        return cls.from_url(url_from_settings(settings), settings=settings)

    def create_schema(self) -> None:
        """Create missing tables straight from the metadata (tests); deployments migrate."""
        with self._transaction("create_schema") as conn:
            metadata.create_all(conn)

    def has_schema(self) -> bool:
        with self._errors("has_schema"):
            return inspect(self.engine).has_table(raw_slack_messages.name)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> SqlRepository:
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
        for chunk in _chunks(rows, self.batch_size):
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
        for chunk in _chunks(rows, _KEY_CHUNK):
            keys = [tuple(row[k] for k in key_columns) for row in chunk]
            condition: ColumnElement[bool]
            if len(columns) == 1:
                condition = columns[0].in_([key[0] for key in keys])
            elif list(key_columns) == ["channel_id", "ts"]:
                condition = _keys_in(table, keys)
            else:
                condition = tuple_(*columns).in_(keys)
            found.update(tuple(r) for r in conn.execute(select(*columns).where(condition)))
        return found

    # -- messages ------------------------------------------------------------
    def upsert_messages(
        self,
        messages: Iterable[SlackMessage],
        *,
        watermarks: dict[str, str] | None = None,
    ) -> UpsertCounts:
        counts = UpsertCounts()
        now = _utcnow()
        with self._transaction("upsert_messages") as conn:
            for batch in _chunks(messages, self.batch_size):
                counts += self._upsert_message_batch(conn, batch, now)
            for channel_id, ts in (watermarks or {}).items():
                self._advance_watermark(conn, channel_id, ts, now)
        return counts

    def _upsert_message_batch(
        self, conn: Connection, batch: list[SlackMessage], now: datetime
    ) -> UpsertCounts:
        fmt = self._format
        now_value = fmt.timestamp(now)
        # The last version of a message in one batch wins, as it would in sequence.
        prepared = {(m.channel_id, m.ts): m for m in batch}
        parts = {key: message_parts(m) for key, m in prepared.items()}
        stored_hashes = self._stored_hashes(conn, list(parts))

        new_rows = [
            fmt.insert_row(p, now_value) for key, p in parts.items() if key not in stored_hashes
        ]
        changed = [
            key for key, p in parts.items() if key in stored_hashes and stored_hashes[key] != p[-1]
        ]
        inserted = 0
        if new_rows:
            inserted = insert_new_messages(conn, fmt, new_rows)
        if changed:
            updates = [
                fmt.update_values(self._edited_row(old, prepared[key], parts[key][-1], now_value))
                for key, old in self._stored_messages(conn, changed).items()
            ]
            conn.exec_driver_sql(fmt.update_messages_sql(), updates)
        return UpsertCounts(inserted, len(changed), len(batch) - inserted - len(changed))

    def _stored_hashes(
        self, conn: Connection, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        if self.dialect == "postgresql":
            return self._stored_hashes_for_update(conn, keys)
        by_channel: dict[str, list[str]] = defaultdict(list)
        for channel_id, ts in keys:
            by_channel[channel_id].append(ts)
        # Two statements a batch, each with its keys as one JSON parameter: the
        # expanding IN of Core (compiled anew for each length) and reading rows one by
        # one cost more per key than the index seeks; a re-run is only this lookup.
        # Ingestion mostly appends: a key above the channel's greatest stored ts (in the
        # column's own text order, whatever the ts looks like) cannot be stored. Each
        # max() is one seek in the primary key.
        greatest = conn.exec_driver_sql(
            "SELECT k.value, (SELECT max(ts) FROM raw_slack_messages WHERE channel_id = k.value) "
            "FROM json_each(?) AS k",
            (orjson.dumps(list(by_channel)).decode(),),
        ).fetchall()
        candidates = [
            (channel_id, ts)
            for channel_id, newest in greatest
            if newest is not None
            for ts in by_channel[channel_id]
            if ts <= newest
        ]
        if not candidates:
            return {}
        # CROSS JOIN keeps the keys as the outer loop: one primary-key seek a key.
        rows = conn.exec_driver_sql(
            "SELECT m.channel_id, m.ts, m.content_hash FROM json_each(?) AS k "
            "CROSS JOIN raw_slack_messages AS m "
            "ON m.channel_id = json_extract(k.value, '$[0]') "
            "AND m.ts = json_extract(k.value, '$[1]')",
            (orjson.dumps(candidates).decode(),),
        ).fetchall()
        return {(channel_id, ts): content_hash for channel_id, ts, content_hash in rows}

    def _stored_hashes_for_update(
        self, conn: Connection, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        """One round trip per batch; rows are locked in key order, so concurrent writers
        of overlapping batches wait for each other instead of deadlocking."""
        ordered = sorted(keys)
        query = text(
            "SELECT m.channel_id, m.ts, m.content_hash FROM raw_slack_messages AS m "
            "JOIN unnest(CAST(:channels AS text[]), CAST(:tss AS text[])) AS k(channel_id, ts) "
            "ON m.channel_id = k.channel_id AND m.ts = k.ts "
            "ORDER BY m.channel_id, m.ts FOR UPDATE OF m"
        )
        rows = conn.execute(
            query, {"channels": [c for c, _ in ordered], "tss": [t for _, t in ordered]}
        )
        return {(channel_id, ts): content_hash for channel_id, ts, content_hash in rows}

    def _stored_messages(
        self, conn: Connection, keys: list[tuple[str, str]]
    ) -> dict[tuple[str, str], Any]:
        t = raw_slack_messages
        found: dict[tuple[str, str], Any] = {}
        for chunk in _chunks(keys, _KEY_CHUNK):
            query = select(
                t.c.channel_id, t.c.ts, t.c.text, t.c.blocks, t.c.edited_ts, t.c.edit_history
            ).where(_keys_in(t, chunk))
            for row in conn.execute(query):
                found[(row.channel_id, row.ts)] = row
        return found

    def _edited_row(
        self, old: Any, message: SlackMessage, content_hash: str, now_value: Any
    ) -> tuple[Any, ...]:
        history = list(old.edit_history or [])
        stored = message
        if message.is_deleted and not message.text:
            # A deletion notice carries no text: keep what the message said.
            stored = message.model_copy(update={"text": old.text, "blocks": old.blocks or []})
        elif message.text != old.text or message.edited_ts != old.edited_ts:
            history.append({"edited_ts": old.edited_ts, "text": old.text})
        row = self._format.message_values(stored, now_value, dumps_json(history))
        # The hash stays that of what Slack sent (``content_hash``), so the same notice
        # again is a no-op.
        return (*row[:HASH_INDEX], content_hash, *row[HASH_INDEX + 1 :])

    def mark_messages_deleted(self, channel_id: str, ts_values: Sequence[str]) -> int:
        if not ts_values:
            return 0
        t = raw_slack_messages
        total = 0
        with self._transaction("mark_messages_deleted") as conn:
            for chunk in _chunks(ts_values, _KEY_CHUNK):
                rows = conn.execute(
                    select(t).where(
                        t.c.channel_id == channel_id, t.c.ts.in_(chunk), t.c.is_deleted.is_(False)
                    )
                ).all()
                for row in rows:
                    deleted = _message_from_row(row).model_copy(update={"is_deleted": True})
                    conn.execute(
                        update(t)
                        .where(t.c.channel_id == channel_id, t.c.ts == row.ts)
                        .values(
                            is_deleted=True,
                            content_hash=message_content_hash(deleted),
                            updated_at=_utcnow(),
                        )
                    )
                total += len(rows)
        return total

    def get_messages(
        self,
        channel_id: str,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        include_deleted: bool = False,
    ) -> list[SlackMessage]:
        t = raw_slack_messages
        query = select(t).where(t.c.channel_id == channel_id)
        if start is not None:
            query = query.where(t.c.posted_at >= start)
        if end is not None:
            query = query.where(t.c.posted_at < end)
        if not include_deleted:
            query = query.where(t.c.is_deleted.is_(False))
        with self._transaction("get_messages") as conn:
            rows = conn.execute(query.order_by(t.c.posted_at, t.c.ts)).all()
        return [_message_from_row(row) for row in rows]

    def get_messages_by_keys(self, keys: Sequence[SourceRef]) -> list[SlackMessage]:
        t = raw_slack_messages
        found: list[SlackMessage] = []
        with self._transaction("get_messages_by_keys") as conn:
            for chunk in _chunks(keys, _KEY_CHUNK):
                condition = _keys_in(t, [(k.channel_id, k.ts) for k in chunk])
                found.extend(_message_from_row(r) for r in conn.execute(select(t).where(condition)))
        return sorted(found, key=lambda m: (m.channel_id, ts_sort_key(m.ts)))

    def get_message_links(
        self, keys: Sequence[SourceRef]
    ) -> dict[tuple[str, str], tuple[str | None, str | None]]:
        t = raw_slack_messages
        found: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        columns = (t.c.channel_id, t.c.ts, t.c.permalink, t.c.thread_ts)
        with self._transaction("get_message_links") as conn:
            for chunk in _chunks(keys, _KEY_CHUNK):
                condition = _keys_in(t, [(k.channel_id, k.ts) for k in chunk])
                for channel_id, ts, link, thread_ts in conn.execute(
                    select(*columns).where(condition)
                ):
                    found[(channel_id, ts)] = (link, thread_ts)
        return found

    def get_thread_replies(self, channel_id: str, thread_ts: str) -> list[SlackMessage]:
        t = raw_slack_messages
        query = (
            select(t)
            .where(t.c.channel_id == channel_id, t.c.thread_ts == thread_ts, t.c.ts != thread_ts)
            .order_by(t.c.posted_at, t.c.ts)
        )
        with self._transaction("get_thread_replies") as conn:
            return [_message_from_row(row) for row in conn.execute(query)]

    def get_thread_latest_replies(self, channel_id: str, since_ts: str) -> dict[str, str | None]:
        t = raw_slack_messages
        query = select(t.c.ts, t.c.latest_reply).where(
            t.c.channel_id == channel_id,
            t.c.posted_at >= ts_to_datetime(since_ts),
            t.c.reply_count > 0,
            or_(t.c.thread_ts.is_(None), t.c.thread_ts == t.c.ts),
        )
        with self._transaction("get_thread_latest_replies") as conn:
            return {row.ts: row.latest_reply for row in conn.execute(query)}

    def get_message_ts_between(self, channel_id: str, oldest_ts: str, latest_ts: str) -> set[str]:
        t = raw_slack_messages
        query = select(t.c.ts).where(
            t.c.channel_id == channel_id,
            t.c.posted_at >= ts_to_datetime(oldest_ts),
            t.c.posted_at <= ts_to_datetime(latest_ts),
            t.c.is_deleted.is_(False),
            or_(t.c.thread_ts.is_(None), t.c.thread_ts == t.c.ts),
        )
        low, high = ts_sort_key(oldest_ts), ts_sort_key(latest_ts)
        with self._transaction("get_message_ts_between") as conn:
            # posted_at is a float-derived instant: filter the edges exactly on the ts key.
            return {ts for (ts,) in conn.execute(query) if low <= ts_sort_key(ts) <= high}

    def count_messages(self, channel_id: str | None = None) -> int:
        t = raw_slack_messages
        query = select(func.count()).select_from(t)
        if channel_id is not None:
            query = query.where(t.c.channel_id == channel_id)
        with self._transaction("count_messages") as conn:
            return int(conn.execute(query).scalar_one())

    def newest_message_ts(self, channel_id: str) -> str | None:
        t = raw_slack_messages
        query = (
            select(t.c.ts)
            .where(t.c.channel_id == channel_id)
            .order_by(t.c.posted_at.desc(), t.c.ts.desc())
            .limit(1)
        )
        with self._transaction("newest_message_ts") as conn:
            return conn.execute(query).scalar_one_or_none()

    # -- watermarks and ingestion state ----------------------------------------
    def get_watermark(self, channel_id: str) -> str | None:
        w = channel_watermarks
        with self._transaction("get_watermark") as conn:
            return conn.execute(select(w.c.ts).where(w.c.channel_id == channel_id)).scalar()

    def get_watermarks(self) -> dict[str, str]:
        w = channel_watermarks
        with self._transaction("get_watermarks") as conn:
            return {row.channel_id: row.ts for row in conn.execute(select(w.c.channel_id, w.c.ts))}

    def advance_watermark(self, channel_id: str, ts: str) -> bool:
        with self._transaction("advance_watermark") as conn:
            return self._advance_watermark(conn, channel_id, ts, _utcnow())

    def _advance_watermark(self, conn: Connection, channel_id: str, ts: str, now: datetime) -> bool:
        w = channel_watermarks
        statement = self.dialect_insert(w).values(
            channel_id=channel_id, ts=ts, ts_micros=ts_to_micros(ts), updated_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["channel_id"],
            set_={
                "ts": statement.excluded.ts,
                "ts_micros": statement.excluded.ts_micros,
                "updated_at": statement.excluded.updated_at,
            },
            where=w.c.ts_micros < statement.excluded.ts_micros,
        )
        return conn.execute(statement.returning(w.c.channel_id)).first() is not None

    def record_ingestion(self, state: IngestionState) -> None:
        row = state.model_dump()
        row["outcome"] = state.outcome.value
        with self._transaction("record_ingestion") as conn:
            statement = self.dialect_insert(ingestion_state).values(row)
            statement = statement.on_conflict_do_update(
                index_elements=["channel_id"],
                set_={k: statement.excluded[k] for k in row if k != "channel_id"},
            )
            conn.execute(statement)

    def get_ingestion_states(self) -> dict[str, IngestionState]:
        with self._transaction("get_ingestion_states") as conn:
            rows = conn.execute(select(ingestion_state)).all()
        return {row.channel_id: IngestionState.model_validate(row._asdict()) for row in rows}

    # -- channels and users ----------------------------------------------------
    def upsert_channels(self, channels: Iterable[SlackChannel]) -> UpsertCounts:
        now = _utcnow()
        rows = [dict(channel.model_dump(), updated_at=now) for channel in channels]
        with self._transaction("upsert_channels") as conn:
            return self._upsert(conn, slack_channels, rows, ["id"])

    def get_channels(self, *, include_archived: bool = False) -> list[SlackChannel]:
        c = slack_channels
        query = select(c).order_by(c.c.name)
        if not include_archived:
            query = query.where(c.c.is_archived.is_(False))
        with self._transaction("get_channels") as conn:
            rows = conn.execute(query).all()
        fields = SlackChannel.model_fields
        return [
            SlackChannel.model_validate({k: v for k, v in row._asdict().items() if k in fields})
            for row in rows
        ]

    def upsert_users(self, users: Iterable[SlackUser]) -> UpsertCounts:
        now = _utcnow()
        rows = [dict(user.model_dump(), updated_at=now) for user in users]
        with self._transaction("upsert_users") as conn:
            return self._upsert(conn, slack_users, rows, ["id"])

    def get_users(self) -> dict[str, SlackUser]:
        fields = SlackUser.model_fields
        with self._transaction("get_users") as conn:
            rows = conn.execute(select(slack_users)).all()
        return {
            row.id: SlackUser.model_validate(
                {k: v for k, v in row._asdict().items() if k in fields}
            )
            for row in rows
        }

    # -- candidates ------------------------------------------------------------
    def upsert_candidates(self, candidates: Iterable[EventCandidate]) -> UpsertCounts:
        now = _utcnow()
        rows = [
            {
                "channel_id": c.channel_id,
                "ts": c.ts,
                "posted_at": ts_to_datetime(c.ts),
                "score": c.score,
                "reasons": c.reasons,
                "status": c.status.value,
                "parent_ts": c.parent_ts,
                "attempts": c.attempts,
                "last_error": c.last_error,
                "raw_answer": c.raw_answer,
                "updated_at": now,
            }
            for c in candidates
        ]
        # A re-scored candidate keeps its extraction status unless the score changed.
        with self._transaction("upsert_candidates") as conn:
            return self._upsert_candidate_rows(conn, rows) if rows else UpsertCounts()

    def _upsert_candidate_rows(self, conn: Connection, rows: list[dict[str, Any]]) -> UpsertCounts:
        t = event_candidates
        statement = self.dialect_insert(t)
        score_changed = or_(
            t.c.score.is_distinct_from(statement.excluded.score),
            t.c.parent_ts.is_distinct_from(statement.excluded.parent_ts),
        )
        statement = statement.on_conflict_do_update(
            index_elements=["channel_id", "ts"],
            set_={
                "score": statement.excluded.score,
                "reasons": statement.excluded.reasons,
                "parent_ts": statement.excluded.parent_ts,
                "status": statement.excluded.status,
                "attempts": 0,
                "last_error": None,
                "raw_answer": None,
                "updated_at": statement.excluded.updated_at,
            },
            where=score_changed,
        )
        existing = self._existing_keys(conn, t, ["channel_id", "ts"], rows)
        written = self._count_written(conn, statement, t, rows)
        inserted = sum(1 for row in rows if (row["channel_id"], row["ts"]) not in existing)
        updated = max(written - inserted, 0)
        return UpsertCounts(inserted, updated, len(rows) - inserted - updated)

    def set_candidate_status(
        self,
        keys: Sequence[SourceRef],
        status: CandidateStatus,
        *,
        error: str | None = None,
        raw_answer: str | None = None,
    ) -> int:
        with self._transaction("set_candidate_status") as conn:
            return self._set_status(conn, keys, status, error=error, raw_answer=raw_answer)

    def _set_status(
        self,
        conn: Connection,
        keys: Sequence[SourceRef],
        status: CandidateStatus,
        *,
        error: str | None = None,
        raw_answer: str | None = None,
    ) -> int:
        t = event_candidates
        values: dict[str, Any] = {
            "status": status.value,
            "last_error": error,
            "raw_answer": raw_answer,
            "updated_at": _utcnow(),
        }
        if status is not CandidateStatus.IN_PROGRESS:
            values["attempts"] = t.c.attempts + (0 if status is CandidateStatus.DEFERRED else 1)
        total = 0
        for chunk in _chunks(keys, _KEY_CHUNK):
            condition = _keys_in(t, [(k.channel_id, k.ts) for k in chunk])
            total += conn.execute(update(t).where(condition).values(values)).rowcount
        return total

    def get_candidates(
        self,
        *,
        statuses: Sequence[CandidateStatus] | None = None,
        channel_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[EventCandidate]:
        t = event_candidates
        query = select(t).order_by(t.c.posted_at, t.c.channel_id, t.c.ts)
        if statuses is not None:
            query = query.where(t.c.status.in_([s.value for s in statuses]))
        if channel_id is not None:
            query = query.where(t.c.channel_id == channel_id)
        if start is not None:
            query = query.where(t.c.posted_at >= start)
        if end is not None:
            query = query.where(t.c.posted_at < end)
        if limit is not None:
            query = query.limit(limit)
        with self._transaction("get_candidates") as conn:
            return [_candidate_from_row(row) for row in conn.execute(query)]

    # -- events ------------------------------------------------------------------
    def upsert_events(self, events_to_write: Iterable[Event]) -> UpsertCounts:
        batch = list(events_to_write)
        if not batch:
            return UpsertCounts()
        with self._transaction("upsert_events") as conn:
            return self._write_events(conn, batch)

    def _write_events(self, conn: Connection, batch: list[Event]) -> UpsertCounts:
        now = _utcnow()
        stored = {e.event_id: e for e in self._load_events(conn, [e.event_id for e in batch])}
        changed = [e for e in batch if not _same_event(stored.get(e.event_id), e)]
        if not changed:
            return UpsertCounts(unchanged=len(batch))
        rows = [_event_row(e, now) for e in changed]
        statement = self.dialect_insert(events)
        statement = statement.on_conflict_do_update(
            index_elements=["event_id"],
            set_={
                c: statement.excluded[c] for c in rows[0] if c not in ("event_id", "first_seen_at")
            },
        )
        conn.execute(statement, rows)
        ids = [e.event_id for e in changed]
        for chunk in _chunks(ids, _KEY_CHUNK):
            conn.execute(delete(event_sources).where(event_sources.c.event_id.in_(chunk)))
            conn.execute(delete(event_links).where(event_links.c.event_id.in_(chunk)))
        source_rows: list[dict[str, Any]] = []
        link_rows: list[dict[str, Any]] = []
        for e in changed:
            unique = dict.fromkeys((src.channel_id, src.ts) for src in e.sources)
            source_rows.extend(
                {"event_id": e.event_id, "channel_id": ch, "ts": ts, "position": i}
                for i, (ch, ts) in enumerate(unique)
            )
            # One row per (kind, key), the first one given (the primary key).
            anchors: dict[tuple[str, str], str | None] = {}
            for link in e.links:
                anchors.setdefault((link.kind.value, link.key), link.url)
            link_rows.extend(
                {"event_id": e.event_id, "kind": kind, "key": key, "url": url, "position": i}
                for i, ((kind, key), url) in enumerate(anchors.items())
            )
        if source_rows:
            conn.execute(self.dialect_insert(event_sources), source_rows)
        if link_rows:
            conn.execute(self.dialect_insert(event_links), link_rows)
        inserted = sum(1 for e in changed if e.event_id not in stored)
        return UpsertCounts(inserted, len(changed) - inserted, len(batch) - len(changed))

    def save_extraction(
        self,
        events_to_write: Sequence[Event],
        events_to_delete: Sequence[str],
        outcomes: Sequence[CandidateOutcomeRecord],
    ) -> UpsertCounts:
        with self._transaction("save_extraction") as conn:
            counts = (
                self._write_events(conn, list(events_to_write))
                if events_to_write
                else UpsertCounts()
            )
            self._delete_events(conn, events_to_delete)
            for key, status, error, raw_answer in outcomes:
                self._set_status(conn, [key], status, error=error, raw_answer=raw_answer)
        return counts

    def _load_events(self, conn: Connection, event_ids: Sequence[str]) -> list[Event]:
        rows: list[Any] = []
        for chunk in _chunks(event_ids, _KEY_CHUNK):
            rows.extend(conn.execute(select(events).where(events.c.event_id.in_(chunk))))
        return self._attach_sources(conn, rows)

    def _attach_sources(self, conn: Connection, rows: Sequence[Any]) -> list[Event]:
        """Events of ``rows`` with their sources and links, in the order stored."""
        sources: dict[str, list[SourceRef]] = defaultdict(list)
        links: dict[str, list[EventLink]] = defaultdict(list)
        s, lk = event_sources, event_links
        for chunk in _chunks([row.event_id for row in rows], _KEY_CHUNK):
            query = select(s).where(s.c.event_id.in_(chunk)).order_by(s.c.event_id, s.c.position)
            for src in conn.execute(query):
                sources[src.event_id].append(SourceRef(channel_id=src.channel_id, ts=src.ts))
            query = select(lk).where(lk.c.event_id.in_(chunk))
            for link in conn.execute(query.order_by(lk.c.event_id, lk.c.position)):
                links[link.event_id].append(EventLink(kind=link.kind, key=link.key, url=link.url))
        return [_event_from_row(row, sources[row.event_id], links[row.event_id]) for row in rows]

    def _query_events(self, operation: str, condition: Any) -> list[Event]:
        query = (
            select(events)
            .where(condition)
            .order_by(events.c.start_date, events.c.start_at, events.c.event_id)
        )
        with self._transaction(operation) as conn:
            return self._attach_sources(conn, conn.execute(query).all())

    def get_event(self, event_id: str) -> Event | None:
        found = self._query_events("get_event", events.c.event_id == event_id)
        return found[0] if found else None

    def get_event_by_dedup_key(self, dedup_key: str) -> Event | None:
        found = self._query_events("get_event_by_dedup_key", events.c.dedup_key == dedup_key)
        return found[0] if found else None

    def get_events(
        self, *, start_date: date | None = None, end_date: date | None = None
    ) -> list[Event]:
        conditions = []
        if start_date is not None:
            conditions.append(events.c.start_date >= start_date)
        if end_date is not None:
            conditions.append(events.c.start_date <= end_date)
        return self._query_events("get_events", and_(True, *conditions))

    def get_events_updated_since(self, since: datetime) -> list[Event]:
        return self._query_events("get_events_updated_since", events.c.updated_at >= since)

    def get_events_for_sources(self, sources: Sequence[SourceRef]) -> list[Event]:
        if not sources:
            return []
        s = event_sources
        ids: set[str] = set()
        with self._transaction("get_events_for_sources") as conn:
            for chunk in _chunks(sources, _KEY_CHUNK):
                condition = _keys_in(s, [(k.channel_id, k.ts) for k in chunk])
                ids.update(conn.execute(select(s.c.event_id).where(condition)).scalars())
            return self._events_by_ids(conn, ids)

    def get_events_for_links(self, keys: Sequence[tuple[str, str]]) -> list[Event]:
        if not keys:
            return []
        lk = event_links
        ids: set[str] = set()
        with self._transaction("get_events_for_links") as conn:
            for chunk in _chunks(dict.fromkeys(keys), _KEY_CHUNK):
                # kind = ? AND key IN (...) per kind: a seek of the (kind, key) index each.
                by_kind: dict[str, list[str]] = defaultdict(list)
                for kind, key in chunk:
                    by_kind[str(kind)].append(key)
                condition = or_(
                    *(and_(lk.c.kind == kind, lk.c.key.in_(ks)) for kind, ks in by_kind.items())
                )
                ids.update(conn.execute(select(lk.c.event_id).where(condition)).scalars())
            return self._events_by_ids(conn, ids)

    def get_events_by_ids(self, event_ids: Sequence[str]) -> list[Event]:
        if not event_ids:
            return []
        with self._transaction("get_events_by_ids") as conn:
            return self._events_by_ids(conn, event_ids)

    def _events_by_ids(self, conn: Connection, event_ids: Iterable[str]) -> list[Event]:
        found = self._load_events(conn, sorted(set(event_ids)))
        return sorted(found, key=lambda e: (e.start_date, e.event_id))

    def count_events(self) -> int:
        with self._transaction("count_events") as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())

    def delete_events(self, event_ids: Sequence[str]) -> int:
        with self._transaction("delete_events") as conn:
            return self._delete_events(conn, event_ids)

    def _delete_events(self, conn: Connection, event_ids: Sequence[str]) -> int:
        deleted = 0
        for chunk in _chunks(event_ids, _KEY_CHUNK):
            conn.execute(delete(event_sources).where(event_sources.c.event_id.in_(chunk)))
            conn.execute(delete(event_links).where(event_links.c.event_id.in_(chunk)))
            result = conn.execute(
                delete(events).where(events.c.event_id.in_(chunk)).returning(events.c.event_id)
            )
            deleted += len(result.all())
        return deleted

    def event_integrity(self) -> tuple[list[str], list[str]]:
        e, s, m = events, event_sources, raw_slack_messages
        duplicates = select(e.c.dedup_key).group_by(e.c.dedup_key).having(func.count() > 1)
        stored_source = (
            select(s.c.event_id)
            .join(m, and_(m.c.channel_id == s.c.channel_id, m.c.ts == s.c.ts))
            .where(s.c.event_id == e.c.event_id)
            .exists()
        )
        orphans = select(e.c.event_id).where(~stored_source).order_by(e.c.event_id)
        with self._transaction("event_integrity") as conn:
            return (
                list(conn.execute(duplicates).scalars()),
                list(conn.execute(orphans).scalars()),
            )

    # -- LLM calls ---------------------------------------------------------------
    def record_llm_call(self, call: LLMCall) -> None:
        row = call.model_dump(mode="json")
        row["created_at"] = call.created_at
        with self._transaction("record_llm_call") as conn:
            statement = self.dialect_insert(llm_calls).values(row)
            statement = statement.on_conflict_do_update(
                index_elements=["prompt_hash"],
                set_={k: statement.excluded[k] for k in row if k != "prompt_hash"},
            )
            conn.execute(statement)

    def get_llm_call(self, prompt_hash: str) -> LLMCall | None:
        query = select(llm_calls).where(llm_calls.c.prompt_hash == prompt_hash)
        with self._transaction("get_llm_call") as conn:
            row = conn.execute(query).first()
        return _llm_call_from_row(row) if row is not None else None

    def llm_spend_usd(self, start: datetime, end: datetime) -> float:
        c = llm_calls
        query = select(func.coalesce(func.sum(c.c.cost_usd), 0.0)).where(
            c.c.created_at >= start, c.c.created_at < end
        )
        with self._transaction("llm_spend_usd") as conn:
            return float(conn.execute(query).scalar_one())

    def llm_call_counts(self, start: datetime, end: datetime) -> dict[str, int]:
        c = llm_calls
        query = (
            select(c.c.status, func.count())
            .where(c.c.created_at >= start, c.c.created_at < end)
            .group_by(c.c.status)
        )
        with self._transaction("llm_call_counts") as conn:
            return {status: int(count) for status, count in conn.execute(query)}

    # -- digests -------------------------------------------------------------------
    def save_digest(self, digest: Digest) -> None:
        row = digest.model_dump()
        with self._transaction("save_digest") as conn:
            statement = self.dialect_insert(digests).values(row)
            set_: dict[str, Any] = {
                k: statement.excluded[k]
                for k in row
                if k not in ("day", "channel_id", "posted_ts", "posted_at")
            }
            for k in ("channel_id", "posted_ts", "posted_at"):
                set_[k] = func.coalesce(statement.excluded[k], digests.c[k])
            conn.execute(statement.on_conflict_do_update(index_elements=["day"], set_=set_))

    def get_digest(self, day: date) -> Digest | None:
        with self._transaction("get_digest") as conn:
            row = conn.execute(select(digests).where(digests.c.day == day)).first()
        return _digest_from_row(row) if row is not None else None

    def mark_digest_posting(self, day: date, channel: str, started_at: datetime) -> None:
        with self._transaction("mark_digest_posting") as conn:
            result = conn.execute(
                update(digests)
                .where(digests.c.day == day)
                .values(channel_id=channel, posted_ts=None, posted_at=started_at)
            )
            if result.rowcount == 0:
                raise RepositoryError("mark_digest_posting", f"no digest stored for {day}")

    def mark_digest_posted(
        self, day: date, channel_id: str, posted_ts: str, posted_at: datetime
    ) -> None:
        with self._transaction("mark_digest_posted") as conn:
            result = conn.execute(
                update(digests)
                .where(digests.c.day == day)
                .values(channel_id=channel_id, posted_ts=posted_ts, posted_at=posted_at)
            )
            if result.rowcount == 0:
                raise RepositoryError("mark_digest_posted", f"no digest stored for {day}")


def _same_event(stored: Event | None, new: Event) -> bool:
    """Whether writing ``new`` would change nothing: every field but the stamps, links
    and date source included (a new link alone is a change to write)."""
    if stored is None:
        return False
    ignore = {"updated_at", "first_seen_at"}
    return stored.model_dump(exclude=ignore) == new.model_dump(exclude=ignore)


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


def create_repository(settings: Settings | DatabaseSettings) -> SqlRepository:
    """The repository the settings describe (SQLite by default)."""
    database = settings.database if isinstance(settings, Settings) else settings
    return SqlRepository.from_settings(database)
