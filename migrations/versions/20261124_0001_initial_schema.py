"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 22:46:00.567847
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "channel_watermarks",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("ts_micros", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_watermarks")),
    )
    op.create_table(
        "digests",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("slack_text", sa.Text(), nullable=False),
        sa.Column("slack_blocks", JSON_DOCUMENT, nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("posted_ts", sa.String(length=32), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_digests")),
    )
    op.create_table(
        "event_candidates",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", JSON_DOCUMENT, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("parent_ts", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("raw_answer", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "ts", name=op.f("pk_event_candidates")),
    )
    with op.batch_alter_table("event_candidates", schema=None) as batch_op:
        batch_op.create_index(
            "ix_event_candidates_channel_posted", ["channel_id", "posted_at"], unique=False
        )
        batch_op.create_index("ix_event_candidates_status", ["status"], unique=False)

    op.create_table(
        "events",
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("history", JSON_DOCUMENT, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_events")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_events_dedup_key")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_start_date", ["start_date"], unique=False)
        batch_op.create_index("ix_events_updated_at", ["updated_at"], unique=False)

    op.create_table(
        "ingestion_state",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("edited", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_ingestion_state")),
    )
    op.create_table(
        "llm_calls",
        sa.Column("prompt_hash", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("prompt_version", sa.String(length=32), nullable=False),
        sa.Column("candidate_keys", JSON_DOCUMENT, nullable=False),
        sa.Column("request", JSON_DOCUMENT, nullable=False),
        sa.Column("response_text", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("prompt_hash", name=op.f("pk_llm_calls")),
    )
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        batch_op.create_index("ix_llm_calls_created_at", ["created_at"], unique=False)

    op.create_table(
        "raw_slack_messages",
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("bot_id", sa.String(length=32), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("subtype", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("blocks", JSON_DOCUMENT, nullable=True),
        sa.Column("attachments", JSON_DOCUMENT, nullable=True),
        sa.Column("files", JSON_DOCUMENT, nullable=True),
        sa.Column("reactions", JSON_DOCUMENT, nullable=True),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("latest_reply", sa.String(length=32), nullable=True),
        sa.Column("edited_ts", sa.String(length=32), nullable=True),
        sa.Column("edit_history", JSON_DOCUMENT, nullable=True),
        sa.Column("is_deleted", sa.Boolean(), nullable=False),
        sa.Column("is_content", sa.Boolean(), nullable=False),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=40), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "ts", name=op.f("pk_raw_slack_messages")),
    )
    with op.batch_alter_table("raw_slack_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_raw_slack_messages_channel_posted", ["channel_id", "posted_at"], unique=False
        )
        batch_op.create_index(
            "ix_raw_slack_messages_channel_thread",
            ["channel_id", "thread_ts", "posted_at"],
            unique=False,
            sqlite_where=sa.text("thread_ts IS NOT NULL"),
            postgresql_where=sa.text("thread_ts IS NOT NULL"),
        )

    op.create_table(
        "slack_channels",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("is_private", sa.Boolean(), nullable=False),
        sa.Column("is_archived", sa.Boolean(), nullable=False),
        sa.Column("is_member", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("num_members", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_channels")),
    )
    op.create_table(
        "slack_users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("real_name", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("is_bot", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_users")),
    )
    op.create_table(
        "event_sources",
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.event_id"],
            name=op.f("fk_event_sources_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "channel_id", "ts", name=op.f("pk_event_sources")),
    )
    with op.batch_alter_table("event_sources", schema=None) as batch_op:
        batch_op.create_index("ix_event_sources_message", ["channel_id", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_event_sources_message")

    op.drop_table("event_sources")
    op.drop_table("slack_users")
    op.drop_table("slack_channels")
    with op.batch_alter_table("raw_slack_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_raw_slack_messages_channel_thread")
        batch_op.drop_index("ix_raw_slack_messages_channel_posted")

    op.drop_table("raw_slack_messages")
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_llm_calls_created_at")

    op.drop_table("llm_calls")
    op.drop_table("ingestion_state")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_updated_at")
        batch_op.drop_index("ix_events_start_date")

    op.drop_table("events")
    with op.batch_alter_table("event_candidates", schema=None) as batch_op:
        batch_op.drop_index("ix_event_candidates_status")
        batch_op.drop_index("ix_event_candidates_channel_posted")

    op.drop_table("event_candidates")
    op.drop_table("digests")
    op.drop_table("channel_watermarks")
