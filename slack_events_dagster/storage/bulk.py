"""The hot path of ingestion: many messages written with one DBAPI ``executemany``.

SQLAlchemy Core spends about 40 µs per row on parameter processing (JSON and
datetime bind processors), four times what SQLite needs to store the row. For
``raw_slack_messages`` only, rows are therefore prepared here once: JSON is
serialized a single time and reused for the content hash, timestamps are
formatted the way the dialect's column type stores them, and the statement goes
straight to the driver. Every other table goes through Core.

On SQLite a new row is prepared in the shape its INSERT binds (see
``DialectFormat.insert_row``): pysqlite binds None slowly, so NULL columns are
written into the SQL and rows are grouped by which columns are NULL.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection

from slack_events_dagster.domain.models import SlackMessage, ts_to_datetime
from slack_events_dagster.storage.schema import raw_slack_messages

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
# On SQLite the columns a message always has come first, then those often NULL.
_NULLABLE: tuple[str, ...] = tuple(c for c in MESSAGE_COLUMNS if raw_slack_messages.c[c].nullable)
_ALWAYS_SET: tuple[str, ...] = tuple(c for c in MESSAGE_COLUMNS if c not in _NULLABLE)
_NULLABLE_OF_ROW = itemgetter(*(MESSAGE_COLUMNS.index(c) for c in _NULLABLE))
_ALWAYS_SET_OF_ROW = itemgetter(*(MESSAGE_COLUMNS.index(c) for c in _ALWAYS_SET))
# What an update rewrites: everything but the key and the first-ingested time.
UPDATE_COLUMNS: tuple[str, ...] = tuple(
    c for c in MESSAGE_COLUMNS if c not in ("channel_id", "ts", "ingested_at")
)
_EPOCH = date(1970, 1, 1)


def dumps_json(value: Any) -> str | None:
    """Compact JSON text, or None for an empty value (stored as SQL NULL).

    orjson writes what ``json.dumps(separators=(",", ":"), ensure_ascii=False)``
    writes, three times faster; the JSON of a message is on the ingestion hot path.
    """
    if not value:
        return None
    return orjson.dumps(value).decode()


@lru_cache(maxsize=8192)
def _iso_minute(minutes_since_epoch: int) -> str:
    """'YYYY-MM-DD HH:MM' of a UTC minute; messages come in runs of nearby minutes."""
    day, minute = divmod(minutes_since_epoch, 1440)
    hours, minutes = divmod(minute, 60)
    return f"{(_EPOCH + timedelta(days=day)).isoformat()} {hours:02d}:{minutes:02d}"


# What a row is made from, in this order: the fields of a message (JSON documents
# serialized), then its content hash.
_PART_FIELDS: tuple[str, ...] = (
    "channel_id",
    "ts",
    "thread_ts",
    "user",
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
    "is_deleted",
    "is_content",
    "permalink",
)
# Every field in one C call: reading 18 attributes one by one was a tenth of the cost
# of preparing a row. Pydantic keeps field values in __dict__.
_MESSAGE_FIELDS = itemgetter(*_PART_FIELDS)
_JSON_PARTS = tuple(_PART_FIELDS.index(f) for f in ("blocks", "attachments", "files", "reactions"))
# The content hash covers everything but the key (channel_id, ts).
_HASHED_PARTS = slice(2, len(_PART_FIELDS))


def message_parts(message: SlackMessage) -> list[Any]:
    """The ``_PART_FIELDS`` of a message, its four JSON documents serialized (None when
    empty), then its content hash (``parts[-1]``): what a row is made from.

    A batch is compared with what is stored by hash before any row is made, so a
    re-run of stored messages makes no rows.
    """
    parts = list(_MESSAGE_FIELDS(message.__dict__))
    for i in _JSON_PARTS:
        parts[i] = orjson.dumps(parts[i]).decode() if parts[i] else None
    # One JSON array of every hashed part (None stays null, never equal to a string): an
    # unambiguous encoding, made in C in one call. Changing it changes every stored hash
    # (a test pins two).
    material = orjson.dumps(parts[_HASHED_PARTS])
    parts.append(hashlib.sha1(material, usedforsecurity=False).hexdigest())
    return parts


def message_content_hash(message: SlackMessage) -> str:
    """Hash of everything Slack says about a message: equal hash, nothing to write."""
    content_hash: str = message_parts(message)[-1]
    return content_hash


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))


def _sqlite_posted_at(ts: str) -> str:
    """The instant of a Slack ts as SQLAlchemy's SQLite DateTime stores it (exact:
    from its digits)."""
    whole, _, frac = ts.partition(".")
    minutes, seconds = divmod(int(whole), 60)
    if len(frac) != 6:  # Slack's own ts always has six digits: no padding needed
        frac = frac[:6].ljust(6, "0")
    return f"{_iso_minute(minutes)}:{_TWO_DIGITS[seconds]}.{frac}"


class DialectFormat:
    """How the driver of one dialect wants values and placeholders."""

    def __init__(self, dialect_name: str, paramstyle: str) -> None:
        self.sqlite = dialect_name == "sqlite"
        self.placeholder = "?" if paramstyle == "qmark" else "%s"

    def posted_at(self, ts: str) -> Any:
        """The instant of a Slack ts as the driver stores it (exact: from its digits)."""
        if self.sqlite:
            return _sqlite_posted_at(ts)
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
        return self._values(message_parts(message), now_value, edit_history)

    def _values(
        self, parts: list[Any], now_value: Any, edit_history: str | None = None
    ) -> tuple[Any, ...]:
        # parts: _PART_FIELDS (thread_ts .. edited_ts at 2..14, the flags at 15 and 16,
        # permalink at 17), then the hash.
        is_deleted, is_content = parts[15], parts[16]
        if self.sqlite:  # SQLite takes 0/1; pysqlite binds a bool through its slow adapter
            is_deleted, is_content = int(is_deleted), int(is_content)
        return (
            parts[0],
            parts[1],
            self.posted_at(parts[1]),
            *parts[2:15],
            edit_history,
            is_deleted,
            is_content,
            parts[17],
            parts[18],
            now_value,
            now_value,
        )

    def insert_row(self, parts: list[Any], now_value: Any) -> tuple[Any, ...]:
        """A new message's row (from its ``message_parts``) as ``insert_new_messages``
        takes it.

        PostgreSQL: the ``message_values`` row. SQLite: the row in the shape its
        INSERT binds: which nullable columns are NULL, then the always-set columns,
        then the values of the nullable columns that are not NULL.
        """
        row = self._values(parts, now_value)
        if not self.sqlite:
            return row
        nullable = _NULLABLE_OF_ROW(row)
        return (
            tuple([value is None for value in nullable]),
            *_ALWAYS_SET_OF_ROW(row),
            *[value for value in nullable if value is not None],
        )

    def update_values(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """An insert row turned into the parameters of ``update_messages_sql``."""
        by_name = dict(zip(MESSAGE_COLUMNS, row, strict=True))
        return (*(by_name[c] for c in UPDATE_COLUMNS), by_name["channel_id"], by_name["ts"])


_STAGING_TABLE = "_incoming_slack_messages"


@lru_cache(maxsize=256)
def _sqlite_insert_sql(nulls: tuple[bool, ...]) -> str:
    """The INSERT of rows whose nullable columns are NULL where ``nulls`` says."""
    columns = ", ".join((*_ALWAYS_SET, *_NULLABLE))
    values = ", ".join(["?"] * len(_ALWAYS_SET) + ["NULL" if null else "?" for null in nulls])
    return (
        f"INSERT INTO raw_slack_messages ({columns}) VALUES ({values}) "
        "ON CONFLICT (channel_id, ts) DO NOTHING"
    )


def _insert_sqlite(conn: Connection, rows: list[tuple[Any, ...]]) -> int:
    """``executemany`` once per pattern of NULL columns, NULLs written into the SQL.

    pysqlite sends every None parameter through its adapter lookup (two attribute
    lookups and a dict probe); a Slack message has a dozen empty columns, so binding
    them cost more than SQLite's own insert. A batch has a handful of patterns.
    """
    by_pattern: dict[tuple[bool, ...], list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_pattern[row[0]].append(row[1:])
    inserted = 0
    for nulls, values in by_pattern.items():
        result = conn.exec_driver_sql(_sqlite_insert_sql(nulls), values)
        inserted += result.rowcount if result.rowcount >= 0 else len(values)
    return inserted


def insert_new_messages(conn: Connection, fmt: DialectFormat, rows: list[tuple[Any, ...]]) -> int:
    """Insert ``DialectFormat.insert_row`` rows, skipping keys that exist by now; returns
    how many were inserted.

    PostgreSQL takes them through COPY into a session-local staging table and one
    INSERT ... SELECT, several times faster than row-by-row parameter binding.
    """
    if fmt.sqlite:
        return _insert_sqlite(conn, rows)
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
