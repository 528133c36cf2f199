"""The event book: what a merge needs of the stored events, read through a narrow port.

Extraction merges day after day, oldest first, under the events lock. For each day the
book reads the stored events a merge may touch (those on the drafts' days and around
them, those of their threads and of the tickets and release tags they name), merges
the drafts into them, folds the events a move made one, and says what to save. The
caller saves (one transaction, with the candidates' outcomes) and tells the book, which
reads back what was stored. The book keeps what it has read, so the days of a window
are read once, and what merging prepared of each event (:class:`WorkCache`).

Valid while its holder keeps the events lock: nobody else writes events meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from slack_events_dagster.domain.anchors import strong_keys
from slack_events_dagster.domain.dedup.merge import fold_collisions, merge_drafts
from slack_events_dagster.domain.dedup.rules import NEIGHBOUR_DAYS, RESCHEDULE_SEARCH_DAYS
from slack_events_dagster.domain.dedup.work import MergeResult, WorkCache
from slack_events_dagster.domain.models import (
    Event,
    EventDraft,
    EventStatus,
    LinkKind,
    SourceRef,
)


class EventReader(Protocol):
    """The stored events, as the book reads them."""

    def get_events(self, *, start_date: date, end_date: date) -> list[Event]:
        """Events starting on the days ``[start_date, end_date]``."""
        ...

    def get_events_by_ids(self, event_ids: Sequence[str]) -> list[Event]: ...

    def get_events_for_sources(self, refs: Sequence[SourceRef]) -> list[Event]:
        """Events that list one of the messages among their sources."""
        ...

    def get_events_for_links(self, keys: Sequence[tuple[LinkKind, str]]) -> list[Event]:
        """Events that carry one of the anchors (kind, key)."""
        ...


@dataclass
class DayMerge:
    """One day's merge: the events to write, the ids to drop, and the counts."""

    to_write: list[Event]
    dropped: list[str]
    merge: MergeResult = field(default_factory=MergeResult)
    # The days whose stored events the merge read (None: no drafts, nothing read).
    read: tuple[date, date] | None = None


def load_window(draft: EventDraft) -> int:
    """Days around a draft's date whose events its merge reads: a reschedule may move an
    event as far as a title match looks (:data:`RESCHEDULE_SEARCH_DAYS`), wherever the
    move is posted; anything else meets its event near its day."""
    return RESCHEDULE_SEARCH_DAYS if draft.status is EventStatus.RESCHEDULED else NEIGHBOUR_DAYS


class EventBook:
    def __init__(self, store: EventReader) -> None:
        self.store = store
        self.first: date | None = None
        self.last: date | None = None
        self.events: dict[str, Event] = {}
        self.works = WorkCache()

    # -- merging --------------------------------------------------------------------

    def merge(self, drafts: Sequence[EventDraft], *, now: datetime) -> DayMerge:
        """Merge a day's drafts (stamped ``now``) and fold what it made one."""
        if not drafts:
            return DayMerge([], [], merge_drafts([], [], now=now))
        first = min(d.start_date - timedelta(days=load_window(d)) for d in drafts)
        last = max(d.start_date + timedelta(days=load_window(d)) for d in drafts)
        nearby = self.between(first, last)
        # Replies change the event of their thread parent, wherever its date lies.
        related = [
            SourceRef(channel_id=d.source.channel_id, ts=d.thread_ts) for d in drafts if d.thread_ts
        ]
        related += [d.source for d in drafts]
        # A ticket or a release tag finds its event wherever it lies (a move posted in
        # another channel, far from the old date); a meeting link only matches on its own
        # day, which is loaded already (a weekly meeting's link would load every week).
        anchors = {
            anchor
            for d in drafts
            for anchor in strong_keys(d.links)
            if anchor[0].is_ticket or anchor[0].is_release
        }
        by_id = {e.event_id: e for e in nearby}
        for event in [
            *self.store.get_events_for_sources(related),
            *self.store.get_events_for_links(sorted(anchors)),
        ]:
            # The book's copy is the same event, already prepared for merging.
            by_id.setdefault(event.event_id, self.events.get(event.event_id, event))
        merge = merge_drafts(drafts, list(by_id.values()), now=now, cache=self.works)
        to_write, dropped = self._fold(merge.events_to_write, now, (first, last))
        return DayMerge(to_write, dropped, merge, (first, last))

    def _fold(
        self, written: Sequence[Event], now: datetime, read: tuple[date, date] | None
    ) -> tuple[list[Event], list[str]]:
        """The merge's events after folding those that a move made identical to another
        (see :func:`fold_collisions`), and the ids of the events folded away.

        ``read``: the days whose stored events the merge saw. When they hold the days of
        every written event, the merge has already folded all it could: its pool held
        every event folding would look at, and it refolded around each event it changed.
        Only the events it emptied are then dropped, without a second pass.
        """
        if not written:
            return [], []
        dates = [e.start_date for e in written]
        first, last = min(dates), max(dates)
        if read is not None and read[0] <= first and last <= read[1]:
            emptied = sorted(e.event_id for e in written if not e.sources)
            return [e for e in written if e.sources], emptied
        pool_events = {e.event_id: e for e in self.between(first, last)}
        pool_events.update({e.event_id: e for e in written})
        fold = fold_collisions(written, list(pool_events.values()), now=now)
        final = {e.event_id: e for e in written}
        final.update({e.event_id: e for e in fold.events_to_write})
        for event_id in fold.dropped:
            final.pop(event_id, None)
        return list(final.values()), fold.dropped

    def saved(self, day: DayMerge) -> None:
        """The caller saved ``day``: keep what the store holds now (it keeps the first
        ``first_seen_at`` of a row, and leaves unchanged rows as they were)."""
        for event_id in [*day.dropped, *(e.event_id for e in day.to_write)]:
            self.events.pop(event_id, None)
        for event in self.store.get_events_by_ids([e.event_id for e in day.to_write]):
            if self._covers(event.start_date):
                self.events[event.event_id] = event

    # -- reading -------------------------------------------------------------------

    def _covers(self, day: date) -> bool:
        return self.first is not None and self.last is not None and self.first <= day <= self.last

    def between(self, first: date, last: date) -> list[Event]:
        """What ``get_events(start_date=first, end_date=last)`` returns (by start date),
        reading from the store only the days not read before."""
        if self.first is None or self.last is None:
            self._read(first, last)
            self.first, self.last = first, last
        else:
            if first < self.first:
                self._read(first, self.first - timedelta(days=1))
                self.first = first
            if last > self.last:
                self._read(self.last + timedelta(days=1), last)
                self.last = last
        found = [e for e in self.events.values() if first <= e.start_date <= last]
        return sorted(found, key=lambda e: (e.start_date, e.event_id))

    def _read(self, first: date, last: date) -> None:
        for event in self.store.get_events(start_date=first, end_date=last):
            self.events[event.event_id] = event
