"""Channels and users."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import (
    select,
)

from slack_events_dagster.domain.models import (
    SlackChannel,
    SlackUser,
)
from slack_events_dagster.storage.base import (
    UpsertCounts,
)
from slack_events_dagster.storage.repository._core import RepositoryCore, utcnow
from slack_events_dagster.storage.schema import (
    slack_channels,
    slack_users,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# pg_advisory_lock key of the events merge (any constant unique to this product).
_EVENTS_LOCK_KEY = 0x5EC7_E7E1

# Parameters per statement stay well below SQLite's and PostgreSQL's limits.
_KEY_CHUNK = 900


class ChannelTables(RepositoryCore):
    # -- channels and users ----------------------------------------------------
    def upsert_channels(self, channels: Iterable[SlackChannel]) -> UpsertCounts:
        now = utcnow()
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
        now = utcnow()
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
