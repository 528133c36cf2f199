"""The one schema definition: SQLAlchemy Core tables for SQLite and PostgreSQL.

Alembic migrations in ``migrations/`` are generated from this ``metadata``; a test
checks that the migrated database and this module never drift apart.

Dialect differences live in the two column types below and nowhere else:
JSON is ``JSONB`` on PostgreSQL, and timestamps are ``TIMESTAMP WITH TIME ZONE``
there while SQLite (which has no such type) stores UTC text that is read back
as aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Empty documents are SQL NULL, never the JSON text 'null' (the bulk writer agrees).
JsonDocument = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; naive values are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        # SQLite has no time zone type: store naive UTC text, re-attach UTC on read.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Slack ids and ts strings are short; 32 leaves room without inviting misuse.
SlackId = String(32)
SlackTs = String(32)

raw_slack_messages = Table(
    "raw_slack_messages",
    metadata,
    Column("channel_id", SlackId, primary_key=True),
    Column("ts", SlackTs, primary_key=True),
    Column("posted_at", UTCDateTime(), nullable=False),
    Column("thread_ts", SlackTs),
    Column("user_id", SlackId),
    Column("bot_id", SlackId),
    Column("username", String(255)),
    Column("subtype", String(64)),
    Column("text", Text, nullable=False, default=""),
    Column("blocks", JsonDocument),
    Column("attachments", JsonDocument),
    Column("files", JsonDocument),
    Column("reactions", JsonDocument),
    Column("reply_count", Integer, nullable=False, default=0),
    Column("latest_reply", SlackTs),
    Column("edited_ts", SlackTs),
    # Previous versions of an edited message: [{"edited_ts": …, "text": …}, …].
    Column("edit_history", JsonDocument),
    Column("is_deleted", Boolean, nullable=False, default=False),
    Column("is_content", Boolean, nullable=False, default=True),
    Column("permalink", Text),
    # Hash of every stored field: an unchanged message costs a comparison, not a write.
    Column("content_hash", String(40), nullable=False),
    Column("ingested_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_raw_slack_messages_channel_posted", "channel_id", "posted_at"),
    # Partial: nine messages in ten are in no thread and need no entry (faster writes);
    # "thread_ts = ?" implies NOT NULL, so thread lookups still use it, and posted_at
    # serves their ORDER BY (SQLite otherwise prefers the posted_at index and scans).
    Index(
        "ix_raw_slack_messages_channel_thread",
        "channel_id",
        "thread_ts",
        "posted_at",
        sqlite_where=text("thread_ts IS NOT NULL"),
        postgresql_where=text("thread_ts IS NOT NULL"),
    ),
)

slack_channels = Table(
    "slack_channels",
    metadata,
    Column("id", SlackId, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("is_private", Boolean, nullable=False, default=False),
    Column("is_archived", Boolean, nullable=False, default=False),
    Column("is_member", Boolean, nullable=False, default=True),
    Column("created", UTCDateTime()),
    Column("topic", Text, nullable=False, default=""),
    Column("purpose", Text, nullable=False, default=""),
    Column("num_members", Integer),
    Column("updated_at", UTCDateTime(), nullable=False),
)

slack_users = Table(
    "slack_users",
    metadata,
    Column("id", SlackId, primary_key=True),
    Column("name", String(255), nullable=False),
    Column("real_name", String(255)),
    Column("display_name", String(255)),
    Column("is_bot", Boolean, nullable=False, default=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("tz", String(64)),
    Column("updated_at", UTCDateTime(), nullable=False),
)

channel_watermarks = Table(
    "channel_watermarks",
    metadata,
    Column("channel_id", SlackId, primary_key=True),
    Column("ts", SlackTs, nullable=False),
    # ts as an exact integer of microseconds, so "only forward" is one SQL comparison.
    Column("ts_micros", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

ingestion_state = Table(
    "ingestion_state",
    metadata,
    Column("channel_id", SlackId, primary_key=True),
    Column("source", String(16), nullable=False),
    Column("last_run_at", UTCDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("fetched", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("edited", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("api_calls", Integer, nullable=False, default=0),
    Column("last_error", Text),
)

event_candidates = Table(
    "event_candidates",
    metadata,
    Column("channel_id", SlackId, primary_key=True),
    Column("ts", SlackTs, primary_key=True),
    Column("posted_at", UTCDateTime(), nullable=False),
    Column("score", Float, nullable=False),
    Column("reasons", JsonDocument, nullable=False),
    Column("status", String(16), nullable=False),
    Column("parent_ts", SlackTs),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("raw_answer", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_event_candidates_status", "status"),
    Index("ix_event_candidates_channel_posted", "channel_id", "posted_at"),
)

events = Table(
    "events",
    metadata,
    Column("event_id", String(40), primary_key=True),
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("category", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("all_day", Boolean, nullable=False),
    # Timed events set start_at/end_at; every event sets start_date (its local day).
    Column("start_at", UTCDateTime()),
    Column("end_at", UTCDateTime()),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    # Where the date came from: written, relative ("tomorrow") or posted (no date given).
    Column("date_source", String(16), nullable=False, server_default="written"),
    Column("timezone", String(64), nullable=False),
    Column("location", Text),
    Column("url", Text),
    Column("summary", Text),
    Column("confidence", Float, nullable=False),
    Column("sequence", Integer, nullable=False, default=0),
    Column("history", JsonDocument, nullable=False),
    Column("first_seen_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_events_start_date", "start_date"),
    Index("ix_events_updated_at", "updated_at"),
)

event_sources = Table(
    "event_sources",
    metadata,
    Column(
        "event_id",
        String(40),
        ForeignKey("events.event_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("channel_id", SlackId, primary_key=True),
    Column("ts", SlackTs, primary_key=True),
    Column("position", Integer, nullable=False, default=0),
    Index("ix_event_sources_message", "channel_id", "ts"),
)

# The links that identify an event (tickets, pull requests, release tags, meetings,
# pages), replaced with the event like its sources. (kind, key) finds the events of a
# ticket or a tag wherever their dates lie, for deduplication.
event_links = Table(
    "event_links",
    metadata,
    Column(
        "event_id",
        String(40),
        ForeignKey("events.event_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("kind", String(32), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("url", Text),
    Column("position", Integer, nullable=False, default=0),
    Index("ix_event_links_kind_key", "kind", "key"),
)

llm_calls = Table(
    "llm_calls",
    metadata,
    Column("prompt_hash", String(64), primary_key=True),
    Column("model", String(128), nullable=False),
    Column("prompt_version", String(32), nullable=False),
    Column("candidate_keys", JsonDocument, nullable=False),
    Column("request", JsonDocument, nullable=False),
    Column("response_text", Text),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=False, default=0.0),
    Column("latency_ms", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_llm_calls_created_at", "created_at"),
)

digests = Table(
    "digests",
    metadata,
    Column("day", Date, primary_key=True),
    Column("markdown", Text, nullable=False),
    Column("slack_text", Text, nullable=False),
    Column("slack_blocks", JsonDocument, nullable=False),
    Column("event_count", Integer, nullable=False, default=0),
    Column("content_hash", String(64), nullable=False),
    Column("channel_id", SlackId),
    Column("posted_ts", SlackTs),
    Column("posted_at", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
)

# The Slack app's call budget per Web API method, shared by every process and run on
# this database: a token bucket (tokens left at updated_at; it refills with time at the
# configured pace). Runtime state, not data: copy-db leaves it behind.
api_budget = Table(
    "api_budget",
    metadata,
    Column("method", String(64), primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Parents before children: the order copy-db writes in and the reverse of deletes.
TABLES_IN_DEPENDENCY_ORDER: tuple[Table, ...] = tuple(metadata.sorted_tables)
# Tables copy-db copies: not the call budget, which describes the Slack app's recent
# calls, not the data (a moved database starts with a full bucket, one burst at most).
COPIED_TABLES: tuple[Table, ...] = tuple(
    t for t in TABLES_IN_DEPENDENCY_ORDER if t is not api_budget
)
