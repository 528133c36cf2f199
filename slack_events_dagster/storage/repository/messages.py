"""Messages, their threads, watermarks and ingestion state."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import (
    Connection,
    Select,
    func,
    or_,
    select,
    text,
    update,
)

from slack_events_dagster.domain.models import (
    IngestionState,
    SlackMessage,
    SourceRef,
    ts_sort_key,
    ts_to_datetime,
)
from slack_events_dagster.storage.base import (
    UpsertCounts,
)
from slack_events_dagster.storage.bulk import (
    HASH_INDEX,
    dumps_json,
    insert_new_messages,
    message_content_hash,
    message_parts,
)
from slack_events_dagster.storage.repository._core import (
    RepositoryCore,
    chunks,
    keys_in,
    ts_to_micros,
    utcnow,
)
from slack_events_dagster.storage.schema import (
    channel_watermarks,
    ingestion_state,
    raw_slack_messages,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# pg_advisory_lock key of the events merge (any constant unique to this product).
_EVENTS_LOCK_KEY = 0x5EC7_E7E1

# Parameters per statement stay well below SQLite's and PostgreSQL's limits.
_KEY_CHUNK = 900


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


class MessageTables(RepositoryCore):
    # -- messages ------------------------------------------------------------
    def upsert_messages(
        self,
        messages: Iterable[SlackMessage],
        *,
        watermarks: dict[str, str] | None = None,
    ) -> UpsertCounts:
        counts = UpsertCounts()
        now = utcnow()
        with self._transaction("upsert_messages") as conn:
            for batch in chunks(messages, self.batch_size):
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
        for chunk in chunks(keys, _KEY_CHUNK):
            query = select(
                t.c.channel_id, t.c.ts, t.c.text, t.c.blocks, t.c.edited_ts, t.c.edit_history
            ).where(keys_in(t, chunk))
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
            for chunk in chunks(ts_values, _KEY_CHUNK):
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
                            updated_at=utcnow(),
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
        query = _in_window(select(t).where(t.c.channel_id == channel_id), start, end)
        if not include_deleted:
            query = query.where(t.c.is_deleted.is_(False))
        with self._transaction("get_messages") as conn:
            rows = conn.execute(query.order_by(t.c.posted_at, t.c.ts)).all()
        return [_message_from_row(row) for row in rows]

    def get_messages_by_keys(self, keys: Sequence[SourceRef]) -> list[SlackMessage]:
        t = raw_slack_messages
        found: list[SlackMessage] = []
        with self._transaction("get_messages_by_keys") as conn:
            for chunk in chunks(keys, _KEY_CHUNK):
                condition = keys_in(t, [(k.channel_id, k.ts) for k in chunk])
                found.extend(_message_from_row(r) for r in conn.execute(select(t).where(condition)))
        return sorted(found, key=lambda m: (m.channel_id, ts_sort_key(m.ts)))

    def get_message_links(
        self, keys: Sequence[SourceRef]
    ) -> dict[tuple[str, str], tuple[str | None, str | None]]:
        t = raw_slack_messages
        found: dict[tuple[str, str], tuple[str | None, str | None]] = {}
        columns = (t.c.channel_id, t.c.ts, t.c.permalink, t.c.thread_ts)
        with self._transaction("get_message_links") as conn:
            for chunk in chunks(keys, _KEY_CHUNK):
                condition = keys_in(t, [(k.channel_id, k.ts) for k in chunk])
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

    def count_messages(
        self,
        channel_id: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        include_deleted: bool = True,
    ) -> int:
        """Stored messages (of a channel, posted in [start, end)), counted by the database."""
        t = raw_slack_messages
        query = select(func.count()).select_from(t)
        if channel_id is not None:
            query = query.where(t.c.channel_id == channel_id)
        query = _in_window(query, start, end)
        if not include_deleted:
            query = query.where(t.c.is_deleted.is_(False))
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

    def changed_message_times(
        self, channel_id: str, posted_since: datetime, changed_after: datetime
    ) -> list[tuple[datetime, datetime]]:
        t = raw_slack_messages
        # The (channel_id, posted_at) index bounds the scan to the lookback's rows.
        query = select(t.c.posted_at, t.c.updated_at).where(
            t.c.channel_id == channel_id,
            t.c.posted_at >= posted_since,
            t.c.updated_at > changed_after,
        )
        with self._transaction("changed_message_times") as conn:
            return [(row.posted_at, row.updated_at) for row in conn.execute(query)]

    # -- watermarks and ingestion state ----------------------------------------
    def get_watermark(self, channel_id: str) -> str | None:
        w = channel_watermarks
        with self._transaction("get_watermark") as conn:
            return conn.execute(select(w.c.ts).where(w.c.channel_id == channel_id)).scalar()

    def get_watermarks(self) -> dict[str, str]:
        w = channel_watermarks
        with self._transaction("get_watermarks") as conn:
            return {row.channel_id: row.ts for row in conn.execute(select(w.c.channel_id, w.c.ts))}

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


def _in_window(query: Select[Any], start: datetime | None, end: datetime | None) -> Select[Any]:
    """``query`` limited to messages posted in [start, end) (an open side when None)."""
    t = raw_slack_messages
    if start is not None:
        query = query.where(t.c.posted_at >= start)
    if end is not None:
        query = query.where(t.c.posted_at < end)
    return query
