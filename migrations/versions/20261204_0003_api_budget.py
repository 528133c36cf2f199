"""api budget

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 17:45:57.321967
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The Slack app's shared call budget per Web API method (a token bucket).
    op.create_table(
        "api_budget",
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("method", name=op.f("pk_api_budget")),
    )


def downgrade() -> None:
    op.drop_table("api_budget")
