"""Daily digests and their posting state."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    func,
    select,
    update,
)

from slack_events_dagster.domain.models import (
    Digest,
)
from slack_events_dagster.storage.base import (
    RepositoryError,
)
from slack_events_dagster.storage.repository._core import RepositoryCore
from slack_events_dagster.storage.schema import (
    digests,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# pg_advisory_lock key of the events merge (any constant unique to this product).
_EVENTS_LOCK_KEY = 0x5EC7_E7E1

# Parameters per statement stay well below SQLite's and PostgreSQL's limits.
_KEY_CHUNK = 900


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


class DigestTables(RepositoryCore):
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
