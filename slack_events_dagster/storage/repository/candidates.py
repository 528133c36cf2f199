"""Scored messages and their extraction status."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    or_,
    select,
    update,
)

from slack_events_dagster.domain.models import (
    CandidateStatus,
    EventCandidate,
    SourceRef,
    ts_to_datetime,
)
from slack_events_dagster.storage.base import (
    UpsertCounts,
)
from slack_events_dagster.storage.repository._core import RepositoryCore, chunks, keys_in, utcnow
from slack_events_dagster.storage.schema import (
    event_candidates,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# pg_advisory_lock key of the events merge (any constant unique to this product).
_EVENTS_LOCK_KEY = 0x5EC7_E7E1

# Parameters per statement stay well below SQLite's and PostgreSQL's limits.
_KEY_CHUNK = 900


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


class CandidateTables(RepositoryCore):
    # -- candidates ------------------------------------------------------------
    def upsert_candidates(self, candidates: Iterable[EventCandidate]) -> UpsertCounts:
        now = utcnow()
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
            "updated_at": utcnow(),
        }
        if status is not CandidateStatus.IN_PROGRESS:
            values["attempts"] = t.c.attempts + (0 if status is CandidateStatus.DEFERRED else 1)
        total = 0
        for chunk in chunks(keys, _KEY_CHUNK):
            condition = keys_in(t, [(k.channel_id, k.ts) for k in chunk])
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
