"""The hot path of ingestion: many messages written with one DBAPI ``executemany``.

SQLAlchemy Core spends about 40 µs per row on parameter processing (JSON and
datetime bind processors), four times what SQLite needs to store the row. For
``raw_slack_messages`` only, rows are therefore prepared here once: JSON is
serialized a single time and reused for the content hash, timestamps are
formatted the way the dialect's column type stores them, and the statement goes
straight to the driver. Every other table goes through Core.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from slack_events_dagster.domain.models import SlackMessage, ts_to_datetime

MESSAGE_COLUMNS: tuple[str, ...] = (
    "channel_id",
    "ts",
    "posted_at",
    "thread_ts",
    "user_id",
    "bot_id",
    "username",
    "subtype",
    "text",
    "blocks",
    "attachments",
    "files",
    "reactions",
    "reply_count",
    "latest_reply",
    "edited_ts",
    "edit_history",
    "is_deleted",
    "is_content",
    "permalink",
    "content_hash",
    "ingested_at",
    "updated_at",
)
HASH_INDEX = MESSAGE_COLUMNS.index("content_hash")
# What an update rewrites: everything but the key and the first-ingested time.
UPDATE_COLUMNS: tuple[str, ...] = tuple(
    c for c in MESSAGE_COLUMNS if c not in ("channel_id", "ts", "ingested_at")
)
_NONE = "\x00"
# One encoder for every row: json.dumps with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps_json(value: Any) -> str | None:
    """Compact JSON text, or None for an empty value (stored as SQL NULL)."""
    if not value:
        return None
    return _ENCODER.encode(value)


def _content_hash(message: SlackMessage, json_fields: tuple[str | None, ...]) -> str:
    m = message
    parts = (
        m.thread_ts,
        m.user,
        m.bot_id,
        m.username,
        m.subtype,
        m.text,
        *json_fields,
        str(m.reply_count),
        m.latest_reply,
        m.edited_ts,
        "1" if m.is_deleted else "0",
        "1" if m.is_content else "0",
        m.permalink,
    )
    joined = "\x1f".join([_NONE if part is None else part for part in parts])
    return hashlib.sha1(joined.encode(), usedforsecurity=False).hexdigest()


def message_content_hash(message: SlackMessage) -> str:
    """Hash of everything Slack says about a message: equal hash, nothing to write."""
    fields = (message.blocks, message.attachments, message.files, message.reactions)
    return _content_hash(message, tuple(dumps_json(v) for v in fields))


class DialectFormat:
    """How the driver of one dialect wants values and placeholders."""

    def __init__(self, dialect_name: str, paramstyle: str) -> None:
        self.sqlite = dialect_name == "sqlite"
        self.placeholder = "?" if paramstyle == "qmark" else "%s"

    def posted_at(self, ts: str) -> Any:
        """The instant of a Slack ts as the driver stores it (exact: from its digits)."""
        if self.sqlite:
            whole, _, frac = ts.partition(".")
            day_time = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(whole)))
            return f"{day_time}.{frac[:6].ljust(6, '0')}"
        return ts_to_datetime(ts)

    def timestamp(self, moment: datetime) -> Any:
        if self.sqlite:
            # The text format SQLAlchemy's SQLite DateTime stores and parses back.
            return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        return moment

    def insert_messages_sql(self) -> str:
        columns = ", ".join(MESSAGE_COLUMNS)
        values = ", ".join([self.placeholder] * len(MESSAGE_COLUMNS))
        return (
            f"INSERT INTO raw_slack_messages ({columns}) VALUES ({values}) "
            "ON CONFLICT (channel_id, ts) DO NOTHING"
        )

    def update_messages_sql(self) -> str:
        assignments = ", ".join(f"{c} = {self.placeholder}" for c in UPDATE_COLUMNS)
        p = self.placeholder
        return f"UPDATE raw_slack_messages SET {assignments} WHERE channel_id = {p} AND ts = {p}"

    def message_values(
        self, message: SlackMessage, now_value: Any, edit_history: str | None = None
    ) -> tuple[Any, ...]:
        """One row in MESSAGE_COLUMNS order, ready for the driver."""
        m = message
        json_fields = (
            dumps_json(m.blocks),
            dumps_json(m.attachments),
            dumps_json(m.files),
            dumps_json(m.reactions),
        )
        return (
            m.channel_id,
            m.ts,
            self.posted_at(m.ts),
            m.thread_ts,
            m.user,
            m.bot_id,
            m.username,
            m.subtype,
            m.text,
            *json_fields,
            m.reply_count,
            m.latest_reply,
            m.edited_ts,
            edit_history,
            m.is_deleted,
            m.is_content,
            m.permalink,
            _content_hash(m, json_fields),
            now_value,
            now_value,
        )

    def update_values(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """An insert row turned into the parameters of ``update_messages_sql``."""
        by_name = dict(zip(MESSAGE_COLUMNS, row, strict=True))
        return (*(by_name[c] for c in UPDATE_COLUMNS), by_name["channel_id"], by_name["ts"])


_STAGING_TABLE = "_incoming_slack_messages"


def insert_new_messages(conn: Connection, fmt: DialectFormat, rows: list[tuple[Any, ...]]) -> int:
    """Insert rows, skipping keys that exist by now; returns how many were inserted.

    PostgreSQL takes them through COPY into a session-local staging table and one
    INSERT ... SELECT, several times faster than row-by-row parameter binding.
    """
    if fmt.sqlite:
        result = conn.exec_driver_sql(fmt.insert_messages_sql(), rows)
        return result.rowcount if result.rowcount >= 0 else len(rows)
    columns = ", ".join(MESSAGE_COLUMNS)
    driver = conn.connection.driver_connection
    assert driver is not None  # an open connection always has its driver connection
    with driver.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING_TABLE} "
            "(LIKE raw_slack_messages INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {_STAGING_TABLE} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO raw_slack_messages ({columns}) SELECT {columns} FROM {_STAGING_TABLE} "
            "ON CONFLICT (channel_id, ts) DO NOTHING"
        )
        inserted = cursor.rowcount
        cursor.execute(f"TRUNCATE {_STAGING_TABLE}")
    return inserted
