"""One event as a merge works on it: its announcement, its changes in posting
order, its views at a point in time; and the cache that keeps them between merges."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache

from slack_events_dagster.domain.anchors import strong_keys, union_links
from slack_events_dagster.domain.dedup.rules import _WEAK_CATEGORIES, SAME_EVENT_MAX_TIME_GAP
from slack_events_dagster.domain.dedup.titles import (
    _TITLE_CACHE,
    event_id_for,
    normalize_title,
    source_key,
)
from slack_events_dagster.domain.models import (
    DateSource,
    Event,
    EventCategory,
    EventChange,
    EventDraft,
    EventLink,
    EventStatus,
    LinkKind,
    SourceRef,
    datetime_to_ts,
    local_day,
    ts_sort_key,
)

# A message's place in posting order: its ts, then its channel (two channels can share a ts).
_Order = tuple[tuple[int, int], str]


def _order(ref: SourceRef) -> _Order:
    return _order_of(ref.ts, ref.channel_id)


@lru_cache(maxsize=_TITLE_CACHE)
def _order_of(ts: str, channel_id: str) -> _Order:
    return ts_sort_key(ts), channel_id


def _moment_order(moment: datetime) -> _Order:
    # A history entry without a source (written by hand or by an old version) sits
    # where its time puts it, before any message of the same microsecond.
    return ts_sort_key(datetime_to_ts(moment)), ""


def _key(ref: SourceRef) -> tuple[str, str]:
    return ref.channel_id, ref.ts


def _day_gap(left: date, right: date) -> int:
    return abs((left - right).days)


@dataclass(frozen=True)
class _State:
    """When an event is and whether it happens, at one point of its history."""

    status: EventStatus
    start: datetime | date
    end: datetime | date | None
    timezone: str
    # Where its date came from: a move brings its own, a cancellation keeps it.
    date_source: DateSource = DateSource.WRITTEN
    # The day it starts on, in its time zone (asked for millions of times in a backfill).
    start_date: date = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_date", local_day(self.start, self.timezone))

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


def _draft_state(draft: EventDraft) -> _State:
    return _State(draft.status, draft.start, draft.end, draft.timezone, draft.date_source)


def _same_instant(draft: EventDraft, state: _State) -> bool:
    return (
        isinstance(draft.start, datetime)
        and isinstance(state.start, datetime)
        and draft.start == state.start
    )


def _times_compatible(draft: EventDraft, state: _State) -> bool:
    if isinstance(draft.start, datetime) and isinstance(state.start, datetime):
        return abs(draft.start - state.start) <= SAME_EVENT_MAX_TIME_GAP
    return True


class _Kind(StrEnum):
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    TENTATIVE = "tentative"
    # A plain repeat of an event someone had marked tentative: it is on again.
    CONFIRM = "confirm"


_KIND_OF_STATUS = {
    EventStatus.CANCELLED: _Kind.CANCEL,
    EventStatus.TENTATIVE: _Kind.TENTATIVE,
    EventStatus.SCHEDULED: _Kind.CONFIRM,
    EventStatus.RESCHEDULED: _Kind.RESCHEDULE,
}


@dataclass
class _Change:
    """A message that changes an event; ``target`` is where a reschedule moves it."""

    order: _Order
    source: SourceRef | None
    changed_at: datetime
    kind: _Kind
    target: _State | None = None

    def apply(self, state: _State) -> _State | None:
        """The state after this change, or None when it changes nothing."""
        if self.kind is _Kind.CANCEL:
            if state.status is EventStatus.CANCELLED:
                return None
            return replace(state, status=EventStatus.CANCELLED)
        if self.kind is _Kind.TENTATIVE:
            if state.status in (EventStatus.TENTATIVE, EventStatus.CANCELLED):
                return None
            return replace(state, status=EventStatus.TENTATIVE)
        if self.kind is _Kind.CONFIRM:
            if state.status is not EventStatus.TENTATIVE:
                return None
            return replace(state, status=EventStatus.SCHEDULED)
        target = self.target
        assert target is not None
        if target.start == state.start and target.end == state.end:
            return None
        if target.all_day and not state.all_day and target.start_date == state.start_date:
            # "moved to Thursday" when the event already is at 2pm on Thursday.
            return None
        return replace(target, status=EventStatus.RESCHEDULED)


class _Work:
    """An event being merged: its announcement, its changes and its messages.

    The event's current time, status, ``history`` and ``sequence`` are recomputed
    from the announcement's state (``base``) by applying the changes in posting
    order, so a change that arrives late lands where it belongs.
    """

    def __init__(
        self,
        *,
        event_id: str,
        dedup_key: str,
        announced: EventDraft | Event,
        base: _State,
        changes: list[_Change],
        sources: Iterable[SourceRef],
        refined: int,
        sequence: int,
        first_seen_at: datetime | None,
        updated_at: datetime | None,
    ) -> None:
        self.event_id = event_id
        self.dedup_key = dedup_key
        # What the first message says (repeats fill in what it leaves out).
        self.title = announced.title
        self.category = announced.category
        self.location = announced.location
        self.url = announced.url
        self.summary = announced.summary
        self.confidence = announced.confidence
        self.links: list[EventLink] = []
        self.strong: frozenset[tuple[LinkKind, str]] = frozenset()
        self.add_links(announced.links)
        self.base = base
        self.changes = changes
        self.sources = {_key(source): source for source in sources}
        self.first_message = min(self.sources.values(), key=_order)
        self.first_order = _order(self.first_message)
        # 1 when a time of day refined an all-day announcement (it bumps the sequence).
        self.refined = refined
        # The sequence may not go down for a calendar that already has the event.
        self.min_sequence = sequence
        self.first_seen_at = first_seen_at
        self.updated_at = updated_at
        self.normalized_title = normalize_title(self.title)
        self.recompute()

    @classmethod
    def from_draft(cls, draft: EventDraft, now: datetime) -> _Work:
        key = source_key(draft.source)
        return cls(
            event_id=event_id_for(key),
            dedup_key=key,
            announced=draft,
            base=_draft_state(draft),
            changes=[],
            sources=[draft.source],
            refined=0,
            sequence=0,
            first_seen_at=now,
            updated_at=now,
        )

    @classmethod
    def from_event(cls, event: Event) -> _Work:
        current = _State(event.status, event.start, event.end, event.timezone, event.date_source)
        states = [
            _State(c.status, c.start, c.end, event.timezone, c.date_source) for c in event.history
        ]
        changes: list[_Change] = []
        for index, entry in enumerate(event.history):
            after = states[index + 1] if index + 1 < len(states) else current
            kind = _KIND_OF_STATUS[after.status]
            changes.append(
                _Change(
                    order=_order(entry.source) if entry.source else _moment_order(entry.changed_at),
                    source=entry.source,
                    changed_at=entry.changed_at,
                    kind=kind,
                    target=after if kind is _Kind.RESCHEDULE else None,
                )
            )
        return cls(
            event_id=event.event_id,
            dedup_key=event.dedup_key,
            announced=event,
            base=states[0] if states else current,
            changes=changes,
            sources=event.sources,
            refined=min(1, max(0, event.sequence - len(event.history))),
            sequence=event.sequence,
            first_seen_at=event.first_seen_at,
            updated_at=event.updated_at,
        )

    def clone(self) -> _Work:
        """A copy that can change without changing this one."""
        twin = copy.copy(self)
        twin.changes = [copy.copy(change) for change in self.changes]
        twin.sources = dict(self.sources)
        twin.recompute()
        return twin

    # -- the event's history, from its announcement and changes -------------------
    def recompute(self) -> None:
        self.changes.sort(key=lambda change: change.order)
        state = self.base
        self.timeline: list[tuple[_Change, _State]] = []
        # The state before each change of the timeline (what ``history`` records).
        self.before: list[_State] = []
        for change in self.changes:
            after = change.apply(state)
            if after is None:
                continue
            self.before.append(state)
            self.timeline.append((change, after))
            state = after
        self.current = state
        # The days it is and was on (ordinals), by which merging finds it.
        self.day_ordinals = frozenset(
            state.start_date.toordinal() for state in (self.base, *(a for _, a in self.timeline))
        )
        self._first_draft: EventDraft | None = None

    @property
    def history(self) -> list[EventChange]:
        return [
            EventChange(
                changed_at=change.changed_at,
                status=state.status,
                start=state.start,
                end=state.end,
                date_source=state.date_source,
                source=change.source,
            )
            for (change, _), state in zip(self.timeline, self.before, strict=True)
        ]

    def view(self, order: _Order) -> _State:
        """The event as it stood just before the message at ``order`` was posted."""
        state = self.base
        for change, after in self.timeline:
            if change.order >= order:
                break
            state = after
        return state

    def changed_before(self, order: _Order) -> bool:
        return bool(self.timeline) and self.timeline[0][0].order < order

    def change_sources(self) -> set[tuple[str, str]]:
        return {_key(change.source) for change in self.changes if change.source is not None}

    def has_title_key(
        self, normalized_title: str, category: EventCategory, day: date, order: _Order
    ) -> bool:
        """True when the exact key (normalized title, category, day) finds this event
        for a message posted at ``order``: on its announced day or the day it had then."""
        return (
            normalized_title == self.normalized_title
            and category == self.category
            and day in (self.base.start_date, self.view(order).start_date)
        )

    # -- what a draft does to it ----------------------------------------------------
    def add_links(self, links: Sequence[EventLink]) -> None:
        """Every message's links join the event's (in their canonical order)."""
        if links:
            self.links = union_links(self.links, links)
            self.strong = frozenset(strong_keys(self.links))
            self._first_draft = None

    def add_source(self, source: SourceRef) -> bool:
        if _key(source) in self.sources:
            return False
        self.sources[_key(source)] = source
        if _order(source) < self.first_order:
            self.first_message, self.first_order = source, _order(source)
            self._first_draft = None
        return True

    def add_change(
        self, kind: _Kind, draft: EventDraft, changed_at: datetime, order: _Order | None = None
    ) -> None:
        if _key(draft.source) in self.change_sources():
            return
        target = _draft_state(draft) if kind is _Kind.RESCHEDULE else None
        self.changes.append(
            _Change(order or _order(draft.source), draft.source, changed_at, kind, target)
        )
        self.recompute()

    def add_repeat(self, draft: EventDraft, order: _Order, changed_at: datetime) -> None:
        """A repeat of the announcement (reminder, cross-post): it fills in, never moves."""
        for name in ("location", "url", "summary"):
            if getattr(self, name) is None and getattr(draft, name) is not None:
                setattr(self, name, getattr(draft, name))
        self.confidence = max(self.confidence, draft.confidence)
        if self.category in _WEAK_CATEGORIES and draft.category not in _WEAK_CATEGORIES:
            self.category = draft.category
        view = self.view(order)
        if (
            self.base.all_day
            and not draft.all_day
            and not self.changed_before(order)
            and draft.start_date == self.base.start_date
        ):
            # "Thursday" then "Thursday 3pm": the time refines the day; not a reschedule,
            # but calendars only pick up a changed start with a higher sequence.
            self.base = replace(_draft_state(draft), status=self.base.status)
            self.refined = 1
        elif view.end is None and draft.end is not None and draft.start == view.start:
            # "resolved at 11:35": the end completes whatever set the start.
            self._complete_end(order, draft.end)
        if view.status is EventStatus.TENTATIVE and draft.status is EventStatus.SCHEDULED:
            self.add_change(_Kind.CONFIRM, draft, changed_at, order)
        self.recompute()

    def _complete_end(self, order: _Order, end: datetime | date) -> None:
        for change, _ in reversed(self.timeline):
            if change.order < order and change.kind is _Kind.RESCHEDULE:
                assert change.target is not None
                change.target = replace(change.target, end=end)
                return
        self.base = replace(self.base, end=end)

    # -- as an event, and as the draft of its first message ------------------------
    def first_draft(self) -> EventDraft:
        """The draft of the event's first message (kept until the event changes)."""
        if self._first_draft is None:
            self._first_draft = self._make_first_draft()
        return self._first_draft

    def _make_first_draft(self) -> EventDraft:
        return EventDraft(
            title=self.title,
            category=self.category,
            start=self.base.start,
            end=self.base.end,
            date_source=self.base.date_source,
            links=self.links,
            timezone=self.base.timezone,
            location=self.location,
            url=self.url,
            summary=self.summary,
            confidence=self.confidence,
            status=self.base.status,
            source=self.first_message,
        )

    def to_event(self) -> Event:
        current = self.current
        return Event(
            event_id=self.event_id,
            dedup_key=self.dedup_key,
            title=self.title,
            category=self.category,
            start=current.start,
            end=current.end,
            date_source=current.date_source,
            links=list(self.links),
            timezone=current.timezone,
            location=self.location,
            url=self.url,
            summary=self.summary,
            confidence=self.confidence,
            status=current.status,
            sources=sorted(self.sources.values(), key=_order),
            history=list(self.history),
            sequence=max(self.min_sequence, len(self.timeline) + self.refined),
            first_seen_at=self.first_seen_at,
            updated_at=self.updated_at,
        )


@dataclass
class MergeResult:
    """What merging changed; ``events_to_write`` holds only new or changed events."""

    events_to_write: list[Event] = field(default_factory=list)
    new: int = 0
    # Existing events (given in ``existing``) that changed.
    updated: int = 0
    # Drafts folded into an event another draft or an earlier run created.
    merged: int = 0
    rescheduled: int = 0
    cancelled: int = 0
    # Drafts that changed nothing (already merged in an earlier run).
    unchanged: int = 0
    # Each draft's message -> the event it ended up in.
    event_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    # Existing events folded into another; they are in ``events_to_write`` without sources.
    dropped: list[str] = field(default_factory=list)


class WorkCache:
    """Stored events as merging works on them, kept from one merge to the next.

    A caller that merges day after day over the same stored events (``steps`` does,
    holding the events lock) passes one cache to every ``merge_drafts``: an event is
    prepared again only when another ``Event`` object stands for it (it was written
    and read back). Merges change their own copies, never what the cache holds.
    """

    def __init__(self) -> None:
        self._works: dict[str, tuple[Event, _Work]] = {}

    def work(self, event: Event) -> _Work:
        known = self._works.get(event.event_id)
        if known is not None and known[0] is event:
            return known[1]
        work = _Work.from_event(event)
        self._works[event.event_id] = (event, work)
        return work
