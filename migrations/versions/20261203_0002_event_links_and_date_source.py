"""event links and date source

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 19:04:10.988485
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_links",
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.event_id"],
            name=op.f("fk_event_links_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "kind", "key", name=op.f("pk_event_links")),
    )
    with op.batch_alter_table("event_links", schema=None) as batch_op:
        batch_op.create_index("ix_event_links_kind_key", ["kind", "key"], unique=False)

    # A plain string default: SQLite adds the column in place (no table rebuild), and
    # the events already stored read as "written", as every date was before this.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("date_source", sa.String(length=16), server_default="written", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("event_links", schema=None) as batch_op:
        batch_op.drop_index("ix_event_links_kind_key")

    op.drop_table("event_links")
    if op.get_bind().dialect.name == "sqlite":
        # Batch mode would rebuild "events" (copy, DROP, rename), and with foreign keys
        # on, dropping it deletes every event_sources row by cascade. SQLite 3.35+ drops
        # a plain column in place.
        op.execute("ALTER TABLE events DROP COLUMN date_source")
    else:
        op.drop_column("events", "date_source")
