"""Events with their sources and links; the extraction's unit of work."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    and_,
    delete,
    func,
    or_,
    select,
)

from slack_events_dagster.domain.models import (
    Event,
    EventChange,
    EventLink,
    SourceRef,
)
from slack_events_dagster.storage.base import (
    CandidateOutcomeRecord,
    UpsertCounts,
)
from slack_events_dagster.storage.repository._core import chunks, keys_in, utcnow
from slack_events_dagster.storage.repository.candidates import CandidateTables
from slack_events_dagster.storage.schema import (
    event_links,
    event_sources,
    events,
    raw_slack_messages,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

# pg_advisory_lock key of the events merge (any constant unique to this product).
_EVENTS_LOCK_KEY = 0x5EC7_E7E1

# Parameters per statement stay well below SQLite's and PostgreSQL's limits.
_KEY_CHUNK = 900


def _local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def _event_row(event: Event, now: datetime) -> dict[str, Any]:
    timed = isinstance(event.start, datetime)
    start_at = event.start if isinstance(event.start, datetime) else None
    end_at = event.end if isinstance(event.end, datetime) else None
    if isinstance(event.end, datetime):
        end_date: date | None = _local_date(event.end, event.timezone)
    else:
        end_date = event.end
    return {
        "event_id": event.event_id,
        "dedup_key": event.dedup_key,
        "title": event.title,
        "category": event.category.value,
        "status": event.status.value,
        "all_day": not timed,
        "start_at": start_at,
        "end_at": end_at,
        "start_date": event.start_date,
        "end_date": end_date,
        "date_source": event.date_source.value,
        "timezone": event.timezone,
        "location": event.location,
        "url": event.url,
        "summary": event.summary,
        "confidence": event.confidence,
        "sequence": event.sequence,
        "history": [change.model_dump(mode="json") for change in event.history],
        "first_seen_at": event.first_seen_at or now,
        "updated_at": event.updated_at or now,
    }


def _event_from_row(row: Any, sources: list[SourceRef], links: list[EventLink]) -> Event:
    return Event(
        event_id=row.event_id,
        dedup_key=row.dedup_key,
        title=row.title,
        category=row.category,
        status=row.status,
        start=row.start_date if row.all_day else row.start_at,
        end=row.end_date if row.all_day else row.end_at,
        date_source=row.date_source,
        links=links,
        timezone=row.timezone,
        location=row.location,
        url=row.url,
        summary=row.summary,
        confidence=row.confidence,
        sequence=row.sequence,
        history=[EventChange.model_validate(change) for change in row.history or []],
        sources=sources,
        first_seen_at=row.first_seen_at,
        updated_at=row.updated_at,
    )


class EventTables(CandidateTables):
    # -- events ------------------------------------------------------------------
    def _write_events(self, conn: Connection, batch: list[Event]) -> UpsertCounts:
        now = utcnow()
        stored = {e.event_id: e for e in self._load_events(conn, [e.event_id for e in batch])}
        changed = [e for e in batch if not _same_event(stored.get(e.event_id), e)]
        if not changed:
            return UpsertCounts(unchanged=len(batch))
        rows = [_event_row(e, now) for e in changed]
        statement = self.dialect_insert(events)
        statement = statement.on_conflict_do_update(
            index_elements=["event_id"],
            set_={
                c: statement.excluded[c] for c in rows[0] if c not in ("event_id", "first_seen_at")
            },
        )
        conn.execute(statement, rows)
        ids = [e.event_id for e in changed]
        for chunk in chunks(ids, _KEY_CHUNK):
            conn.execute(delete(event_sources).where(event_sources.c.event_id.in_(chunk)))
            conn.execute(delete(event_links).where(event_links.c.event_id.in_(chunk)))
        source_rows: list[dict[str, Any]] = []
        link_rows: list[dict[str, Any]] = []
        for e in changed:
            unique = dict.fromkeys((src.channel_id, src.ts) for src in e.sources)
            source_rows.extend(
                {"event_id": e.event_id, "channel_id": ch, "ts": ts, "position": i}
                for i, (ch, ts) in enumerate(unique)
            )
            # One row per (kind, key), the first one given (the primary key).
            anchors: dict[tuple[str, str], str | None] = {}
            for link in e.links:
                anchors.setdefault((link.kind.value, link.key), link.url)
            link_rows.extend(
                {"event_id": e.event_id, "kind": kind, "key": key, "url": url, "position": i}
                for i, ((kind, key), url) in enumerate(anchors.items())
            )
        if source_rows:
            conn.execute(self.dialect_insert(event_sources), source_rows)
        if link_rows:
            conn.execute(self.dialect_insert(event_links), link_rows)
        inserted = sum(1 for e in changed if e.event_id not in stored)
        return UpsertCounts(inserted, len(changed) - inserted, len(batch) - len(changed))

    def save_extraction(
        self,
        events_to_write: Sequence[Event],
        events_to_delete: Sequence[str],
        outcomes: Sequence[CandidateOutcomeRecord],
    ) -> UpsertCounts:
        with self._transaction("save_extraction") as conn:
            counts = (
                self._write_events(conn, list(events_to_write))
                if events_to_write
                else UpsertCounts()
            )
            self._delete_events(conn, events_to_delete)
            for key, status, error, raw_answer in outcomes:
                self._set_status(conn, [key], status, error=error, raw_answer=raw_answer)
        return counts

    def _load_events(self, conn: Connection, event_ids: Sequence[str]) -> list[Event]:
        rows: list[Any] = []
        for chunk in chunks(event_ids, _KEY_CHUNK):
            rows.extend(conn.execute(select(events).where(events.c.event_id.in_(chunk))))
        return self._attach_sources(conn, rows)

    def _attach_sources(self, conn: Connection, rows: Sequence[Any]) -> list[Event]:
        """Events of ``rows`` with their sources and links, in the order stored."""
        sources: dict[str, list[SourceRef]] = defaultdict(list)
        links: dict[str, list[EventLink]] = defaultdict(list)
        s, lk = event_sources, event_links
        for chunk in chunks([row.event_id for row in rows], _KEY_CHUNK):
            query = select(s).where(s.c.event_id.in_(chunk)).order_by(s.c.event_id, s.c.position)
            for src in conn.execute(query):
                sources[src.event_id].append(SourceRef(channel_id=src.channel_id, ts=src.ts))
            query = select(lk).where(lk.c.event_id.in_(chunk))
            for link in conn.execute(query.order_by(lk.c.event_id, lk.c.position)):
                links[link.event_id].append(EventLink(kind=link.kind, key=link.key, url=link.url))
        return [_event_from_row(row, sources[row.event_id], links[row.event_id]) for row in rows]

    def _query_events(self, operation: str, condition: Any) -> list[Event]:
        query = (
            select(events)
            .where(condition)
            .order_by(events.c.start_date, events.c.start_at, events.c.event_id)
        )
        with self._transaction(operation) as conn:
            return self._attach_sources(conn, conn.execute(query).all())

    def get_events(
        self, *, start_date: date | None = None, end_date: date | None = None
    ) -> list[Event]:
        conditions = []
        if start_date is not None:
            conditions.append(events.c.start_date >= start_date)
        if end_date is not None:
            conditions.append(events.c.start_date <= end_date)
        return self._query_events("get_events", and_(True, *conditions))

    def get_events_updated_since(self, since: datetime) -> list[Event]:
        return self._query_events("get_events_updated_since", events.c.updated_at >= since)

    def get_events_for_sources(self, sources: Sequence[SourceRef]) -> list[Event]:
        if not sources:
            return []
        s = event_sources
        ids: set[str] = set()
        with self._transaction("get_events_for_sources") as conn:
            for chunk in chunks(sources, _KEY_CHUNK):
                condition = keys_in(s, [(k.channel_id, k.ts) for k in chunk])
                ids.update(conn.execute(select(s.c.event_id).where(condition)).scalars())
            return self._events_by_ids(conn, ids)

    def get_events_for_links(self, keys: Sequence[tuple[str, str]]) -> list[Event]:
        if not keys:
            return []
        lk = event_links
        ids: set[str] = set()
        with self._transaction("get_events_for_links") as conn:
            for chunk in chunks(dict.fromkeys(keys), _KEY_CHUNK):
                # kind = ? AND key IN (...) per kind: a seek of the (kind, key) index each.
                by_kind: dict[str, list[str]] = defaultdict(list)
                for kind, key in chunk:
                    by_kind[str(kind)].append(key)
                condition = or_(
                    *(and_(lk.c.kind == kind, lk.c.key.in_(ks)) for kind, ks in by_kind.items())
                )
                ids.update(conn.execute(select(lk.c.event_id).where(condition)).scalars())
            return self._events_by_ids(conn, ids)

    def get_events_by_ids(self, event_ids: Sequence[str]) -> list[Event]:
        if not event_ids:
            return []
        with self._transaction("get_events_by_ids") as conn:
            return self._events_by_ids(conn, event_ids)

    def _events_by_ids(self, conn: Connection, event_ids: Iterable[str]) -> list[Event]:
        found = self._load_events(conn, sorted(set(event_ids)))
        return sorted(found, key=lambda e: (e.start_date, e.event_id))

    def count_events(self) -> int:
        with self._transaction("count_events") as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())

    def _delete_events(self, conn: Connection, event_ids: Sequence[str]) -> int:
        deleted = 0
        for chunk in chunks(event_ids, _KEY_CHUNK):
            conn.execute(delete(event_sources).where(event_sources.c.event_id.in_(chunk)))
            conn.execute(delete(event_links).where(event_links.c.event_id.in_(chunk)))
            result = conn.execute(
                delete(events).where(events.c.event_id.in_(chunk)).returning(events.c.event_id)
            )
            deleted += len(result.all())
        return deleted

    def event_integrity(self) -> tuple[list[str], list[str]]:
        e, s, m = events, event_sources, raw_slack_messages
        duplicates = select(e.c.dedup_key).group_by(e.c.dedup_key).having(func.count() > 1)
        stored_source = (
            select(s.c.event_id)
            .join(m, and_(m.c.channel_id == s.c.channel_id, m.c.ts == s.c.ts))
            .where(s.c.event_id == e.c.event_id)
            .exists()
        )
        orphans = select(e.c.event_id).where(~stored_source).order_by(e.c.event_id)
        with self._transaction("event_integrity") as conn:
            return (
                list(conn.execute(duplicates).scalars()),
                list(conn.execute(orphans).scalars()),
            )


def _same_event(stored: Event | None, new: Event) -> bool:
    """Whether writing ``new`` would change nothing: every field but the stamps, links
    and date source included (a new link alone is a change to write)."""
    if stored is None:
        return False
    ignore = {"updated_at", "first_seen_at"}
    return stored.model_dump(exclude=ignore) == new.model_dump(exclude=ignore)
