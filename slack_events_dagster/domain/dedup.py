"""Deduplication and merge: event drafts in, one event per real-world event out.

The same event is announced in two channels, repeated in its thread, reminded
the day before, and later moved or cancelled in a reply. :func:`merge_drafts`
folds all of that into one :class:`Event` with every message among its
``sources``:

* A draft finds its event, in this order: an event that already lists the
  draft's message as a source (a re-run); the event of its thread parent (a
  reply); the exact dedup key (normalized title, category and start date); a
  fuzzy title match (``rapidfuzz``) on the same or a neighbouring day.
* A reschedule (a draft with status ``rescheduled``, or a reply in the thread
  of an event's source with a different time) moves ``start``/``end``, appends
  the old times to ``history``, bumps ``sequence`` and sets the status; a
  cancellation sets ``cancelled`` and bumps ``sequence``. A change older than
  the last applied change only adds its source (replays and backfills must not
  undo newer news).
* ``event_id`` and ``dedup_key`` come from the first draft and never change,
  so calendar UIDs stay stable across reschedules.
* Running again over the output with the same drafts changes nothing.

Pure: no I/O. The caller loads ``existing`` (events in the drafts' date window
and events of the drafts' threads) and writes ``events_to_write``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from rapidfuzz import fuzz

from slack_events_dagster.domain.models import (
    Event,
    EventCategory,
    EventChange,
    EventDraft,
    EventStatus,
    SourceRef,
    ts_sort_key,
)

# Title similarity (0-100) needed to call two drafts one event on the same day,
# and on neighbouring days (where a false merge of a recurring event is likelier).
SAME_DAY_SIMILARITY = 80.0
NEAR_DAY_SIMILARITY = 85.0
SAME_INSTANT_SIMILARITY = 65.0
GENERIC_TITLE_SIMILARITY = 70.0
# A reply in an event's thread belongs to that event when it is this similar (or
# a change, or on the same day, or of the same category).
THREAD_SIMILARITY = 60.0
DEFAULT_DATE_WINDOW_DAYS = 1
# Two timed drafts of the same day with starts further apart are two events
# ("standup 9am" and "standup 4pm"), unless one of them is a reschedule.
SAME_EVENT_MAX_TIME_GAP = timedelta(hours=1)
# A reschedule announced outside the thread may move an event this far.
RESCHEDULE_SEARCH_DAYS = 60

# Categories that say little; a draft with one of them may join an event of any category.
_WEAK_CATEGORIES = frozenset({EventCategory.OTHER, EventCategory.ANNOUNCEMENT})
_STOP_WORDS = frozenset(
    {
        "the",
        "a",
        "an",
        "our",
        "reminder",
        "update",
        "heads",
        "up",
        "fyi",
        "psa",
        "is",
        "are",
        "will",
        "be",
        "of",
        "for",
        "on",
        "at",
        "to",
        "and",
        "new",
        "rescheduled",
        "cancelled",
        "canceled",
        "postponed",
        "moved",
    }
)
# Words that say what kind of event it is, not which one; ignored when comparing titles.
_GENERIC_WORDS = frozenset(
    {
        "conference",
        "deadline",
        "deploy",
        "deployment",
        "due",
        "event",
        "goes",
        "going",
        "incident",
        "is",
        "kickoff",
        "launch",
        "live",
        "maintenance",
        "meeting",
        "meetings",
        "meetup",
        "out",
        "outage",
        "planning",
        "release",
        "releases",
        "reminder",
        "retro",
        "review",
        "rollout",
        "scheduled",
        "session",
        "ships",
        "sync",
        "today",
        "tomorrow",
        "tonight",
        "upgrade",
        "webinar",
        "window",
    }
)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_EVENT_ID_NAMESPACE = uuid.UUID("6f1c3f8e-5d0a-4c1e-9a57-0b6f4d2f9c11")


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
    # Drafts that changed nothing (already merged in an earlier run, or stale).
    unchanged: int = 0
    # Each draft's message -> the event it ended up in.
    event_ids: dict[tuple[str, str], str] = field(default_factory=dict)


def normalize_title(title: str) -> str:
    """Lower case ASCII words without filler ("Reminder: The Payments API v2.3 release!"
    becomes "payments api v2 3 release")."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    ascii_text = folded.encode("ascii", "ignore").decode("ascii")
    words = [word for word in _NON_ALNUM.split(ascii_text) if word and word not in _STOP_WORDS]
    return " ".join(words)


def dedup_key(title: str, category: EventCategory | str, start_date: date) -> str:
    """A stable key: sha1 of ``"category:normalized title:YYYY-MM-DD"``, 20 hex digits."""
    raw = f"{EventCategory(category).value}:{normalize_title(title)}:{start_date.isoformat()}"
    return hashlib.sha1(raw.encode("utf-8"), usedforsecurity=False).hexdigest()[:20]


def event_id_for(key: str) -> str:
    """The event id derived from an event's first dedup key (a UUID, usable as a calendar UID)."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, key))


def _distinctive(normalized: str) -> str:
    return " ".join(word for word in normalized.split() if word not in _GENERIC_WORDS)


def title_similarity(left: str, right: str) -> float:
    """0-100: how alike two titles are.

    Words every event of a kind shares ("release", "meeting", "due") are left
    out first, so "Payments API release" and "Search API release" differ in what
    distinguishes them (unless a title has nothing else). ``token_set_ratio``
    alone calls "Release" and "Payments API release" equal (one is a subset of
    the other); averaging with ``token_sort_ratio`` keeps subsets close but not
    identical, so that generic titles need more evidence.
    """
    a, b = normalize_title(left), normalize_title(right)
    if not a or not b:
        return 0.0
    a_distinct, b_distinct = _distinctive(a), _distinctive(b)
    if a_distinct and b_distinct:
        a, b = a_distinct, b_distinct
    elif a_distinct or b_distinct:
        # One title is only "Meetup" or "Webinar": it can be any event of its kind, so
        # it is alike enough only where the same category at the same time says so.
        return GENERIC_TITLE_SIMILARITY * fuzz.token_set_ratio(a, b) / 100
    if a == b:
        return 100.0
    return (fuzz.token_set_ratio(a, b) + fuzz.token_sort_ratio(a, b)) / 2


def _subset_similarity(left: str, right: str) -> float:
    a, b = normalize_title(left), normalize_title(right)
    return float(fuzz.token_set_ratio(a, b)) * 0.9 if a and b else 0.0


def _same_instant(draft: EventDraft, event: Event) -> bool:
    return (
        isinstance(draft.start, datetime)
        and isinstance(event.start, datetime)
        and draft.start == event.start
    )


def _key(ref: SourceRef) -> tuple[str, str]:
    return ref.channel_id, ref.ts


def _day_gap(left: date, right: date) -> int:
    return abs((left - right).days)


def _categories_match(left: EventCategory, right: EventCategory) -> bool:
    return left == right or left in _WEAK_CATEGORIES or right in _WEAK_CATEGORIES


def _times_compatible(draft: EventDraft, event: Event) -> bool:
    if isinstance(draft.start, datetime) and isinstance(event.start, datetime):
        return abs(draft.start - event.start) <= SAME_EVENT_MAX_TIME_GAP
    return True


class _Index:
    """The events being merged, findable by id, source, dedup key and start date."""

    def __init__(self, events: Iterable[Event]) -> None:
        self.events: dict[str, Event] = {}
        self.by_source: dict[tuple[str, str], str] = {}
        self.by_key: dict[str, str] = {}
        for event in events:
            self.add(event)

    def add(self, event: Event) -> None:
        self.events[event.event_id] = event
        self.by_key.setdefault(event.dedup_key, event.event_id)
        # The key of the event as it stands now finds it after a reschedule, too.
        self.by_key.setdefault(
            dedup_key(event.title, event.category, event.start_date), event.event_id
        )
        for source in event.sources:
            self.by_source[_key(source)] = event.event_id

    def add_source(self, event: Event, source: SourceRef) -> bool:
        if any(existing == source for existing in event.sources):
            return False
        event.sources.append(source)
        self.by_source[_key(source)] = event.event_id
        return True

    def near(self, day: date, window_days: int) -> list[Event]:
        return [
            event
            for event in self.events.values()
            if _day_gap(event.start_date, day) <= window_days
        ]


def _last_change_ts(event: Event) -> tuple[int, int] | None:
    changes = [ts_sort_key(change.source.ts) for change in event.history if change.source]
    return max(changes) if changes else None


def _already_applied(event: Event, source: SourceRef) -> bool:
    return any(change.source == source for change in event.history)


def _is_stale(event: Event, draft: EventDraft) -> bool:
    """True when a newer change than this draft is already applied."""
    last = _last_change_ts(event)
    return last is not None and ts_sort_key(draft.source.ts) < last


def _record_change(event: Event, draft: EventDraft, now: datetime) -> None:
    event.history.append(
        EventChange(
            changed_at=now,
            status=event.status,
            start=event.start,
            end=event.end,
            source=draft.source,
        )
    )
    event.sequence += 1
    event.updated_at = now


class _Merger:
    def __init__(self, existing: Sequence[Event], now: datetime, window_days: int) -> None:
        originals: dict[str, Event] = {}
        for event in existing:
            originals.setdefault(event.event_id, event)
        self.originals = originals
        self.index = _Index(event.model_copy(deep=True) for event in originals.values())
        self.now = now
        self.window_days = window_days
        self.result = MergeResult()
        self.created: set[str] = set()

    # -- finding the event of a draft ---------------------------------------
    def find(self, draft: EventDraft) -> tuple[Event | None, str]:
        index = self.index
        known = index.by_source.get(_key(draft.source))
        if known is not None:
            return index.events[known], "source"
        if draft.thread_ts is not None:
            parent = index.by_source.get((draft.source.channel_id, draft.thread_ts))
            if parent is not None and self._belongs_to_thread(draft, index.events[parent]):
                return index.events[parent], "thread"
        key = dedup_key(draft.title, draft.category, draft.start_date)
        by_key = index.by_key.get(key)
        if by_key is not None and (
            draft.status is not EventStatus.SCHEDULED
            or _times_compatible(draft, index.events[by_key])
        ):
            return index.events[by_key], "key"
        fuzzy = self._fuzzy(draft)
        if fuzzy is not None:
            return fuzzy, "fuzzy"
        return None, "new"

    def _belongs_to_thread(self, draft: EventDraft, event: Event) -> bool:
        if draft.status is not EventStatus.SCHEDULED:
            return True
        if draft.start_date == event.start_date or draft.category == event.category:
            return True
        return title_similarity(draft.title, event.title) >= THREAD_SIMILARITY

    def _fuzzy(self, draft: EventDraft) -> Event | None:
        is_change = draft.status in (EventStatus.RESCHEDULED, EventStatus.CANCELLED)
        window = (
            RESCHEDULE_SEARCH_DAYS
            if draft.status is EventStatus.RESCHEDULED
            else (self.window_days)
        )
        best: tuple[float, int, str] | None = None
        for event in self.index.near(draft.start_date, window):
            if not _categories_match(draft.category, event.category):
                continue
            gap = _day_gap(event.start_date, draft.start_date)
            similarity = title_similarity(draft.title, event.title)
            needed = SAME_DAY_SIMILARITY if gap == 0 or is_change else NEAR_DAY_SIMILARITY
            if draft.category == event.category and (
                _same_instant(draft, event) or (gap == 0 and draft.all_day != event.all_day)
            ):
                # Same category at the same minute ("Webinar today at 1pm" is the webinar),
                # or a day and a time on that day ("upgrade Saturday night", "Sat 23:00").
                needed = SAME_INSTANT_SIMILARITY
            if is_change and draft.category == event.category:
                # "4.13 is moving to Thursday": a title that is part of the event's suffices.
                similarity = max(similarity, _subset_similarity(draft.title, event.title))
            if similarity < needed:
                continue
            if not is_change and gap == 0 and not _times_compatible(draft, event):
                continue
            if not is_change and gap > 0 and not self._near_instants(draft, event):
                continue
            # Most similar first, then the nearest day, then the oldest event id (stable).
            rank = (similarity, -gap, event.event_id)
            if best is None or rank[:2] > best[:2] or (rank[:2] == best[:2] and rank[2] < best[2]):
                best = rank
        return self.index.events[best[2]] if best is not None else None

    def _near_instants(self, draft: EventDraft, event: Event) -> bool:
        # On neighbouring days only a time-zone slip is a duplicate: starts within a day.
        if isinstance(draft.start, datetime) and isinstance(event.start, datetime):
            return abs(draft.start - event.start) < timedelta(days=1)
        return _day_gap(draft.start_date, event.start_date) <= self.window_days

    # -- applying a draft -------------------------------------------------------
    def merge(self, drafts: Sequence[EventDraft]) -> MergeResult:
        ordered = sorted(
            drafts, key=lambda d: (ts_sort_key(d.source.ts), d.source.channel_id, d.title)
        )
        for draft in ordered:
            event, how = self.find(draft)
            if event is None:
                event = self._create(draft)
                self.result.new += 1
            else:
                changed = self._apply(event, draft, how)
                if changed:
                    self.result.merged += 1
                else:
                    self.result.unchanged += 1
            self.result.event_ids[_key(draft.source)] = event.event_id
        self._collect()
        return self.result

    def _create(self, draft: EventDraft) -> Event:
        key = dedup_key(draft.title, draft.category, draft.start_date)
        event_id = event_id_for(key)
        while event_id in self.index.events:
            # The key's event exists but did not match (e.g. it was moved away): a
            # deterministic fresh id keeps both.
            key = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:20]
            event_id = event_id_for(key)
        fields = draft.model_dump(exclude={"source", "thread_ts"})
        event = Event(
            **fields,
            event_id=event_id,
            dedup_key=key,
            sources=[draft.source],
            history=[],
            sequence=0,
            first_seen_at=self.now,
            updated_at=self.now,
        )
        self.index.add(event)
        self.created.add(event_id)
        return event

    def _apply(self, event: Event, draft: EventDraft, how: str) -> bool:
        """Fold one draft into ``event``; True when it changed anything."""
        changed = self.index.add_source(event, draft.source)
        # Only a new start moves an event; a new end ("resolved at 11:35") completes it.
        moved = draft.start != event.start
        if draft.status is EventStatus.CANCELLED:
            changed |= self._cancel(event, draft)
        elif draft.status is EventStatus.RESCHEDULED or (how == "thread" and moved):
            changed |= self._reschedule(event, draft)
        elif draft.status is EventStatus.TENTATIVE and how == "thread":
            changed |= self._mark_tentative(event, draft)
        else:
            changed |= self._enrich(event, draft)
        return changed

    def _cancel(self, event: Event, draft: EventDraft) -> bool:
        if event.status is EventStatus.CANCELLED or _already_applied(event, draft.source):
            return False
        if _is_stale(event, draft):
            return False
        _record_change(event, draft, self.now)
        event.status = EventStatus.CANCELLED
        self.result.cancelled += 1
        return True

    def _reschedule(self, event: Event, draft: EventDraft) -> bool:
        if _already_applied(event, draft.source) or _is_stale(event, draft):
            return False
        if draft.start == event.start and draft.end == event.end:
            return False
        if draft.all_day and not event.all_day and draft.start_date == event.start_date:
            # "moved to Thursday" when the event already is at 2pm on Thursday.
            return False
        _record_change(event, draft, self.now)
        event.start, event.end, event.timezone = draft.start, draft.end, draft.timezone
        event.status = EventStatus.RESCHEDULED
        self.result.rescheduled += 1
        return True

    def _mark_tentative(self, event: Event, draft: EventDraft) -> bool:
        if event.status in (EventStatus.TENTATIVE, EventStatus.CANCELLED):
            return False
        if _already_applied(event, draft.source) or _is_stale(event, draft):
            return False
        _record_change(event, draft, self.now)
        event.status = EventStatus.TENTATIVE
        return True

    def _enrich(self, event: Event, draft: EventDraft) -> bool:
        """A repeat (reminder, cross-post): fill what the event lacks, never move it."""
        changed = False
        for name in ("location", "url", "summary"):
            if getattr(event, name) is None and getattr(draft, name) is not None:
                setattr(event, name, getattr(draft, name))
                changed = True
        if draft.confidence > event.confidence:
            event.confidence = draft.confidence
            changed = True
        if event.category in _WEAK_CATEGORIES and draft.category not in _WEAK_CATEGORIES:
            event.category = draft.category
            changed = True
        if (
            event.all_day
            and not draft.all_day
            and not event.history
            and draft.start_date == event.start_date
        ):
            # "Thursday" then "Thursday 3pm": the time refines the day; not a reschedule,
            # but calendars only pick up a changed start with a higher sequence.
            event.start, event.end, event.timezone = draft.start, draft.end, draft.timezone
            event.sequence += 1
            changed = True
        elif event.end is None and draft.end is not None and draft.start == event.start:
            event.end = draft.end
            changed = True
        if (
            event.status is EventStatus.TENTATIVE
            and draft.status is EventStatus.SCHEDULED
            and not _is_stale(event, draft)
            and not _already_applied(event, draft.source)
        ):
            _record_change(event, draft, self.now)
            event.status = EventStatus.SCHEDULED
            changed = True
        if changed:
            event.updated_at = self.now
        return changed

    def _collect(self) -> None:
        to_write: list[Event] = []
        for event_id, event in self.index.events.items():
            if event_id in self.created:
                to_write.append(event)
                continue
            original = self.originals[event_id]
            if event.model_dump() != original.model_dump():
                to_write.append(event)
                self.result.updated += 1
        to_write.sort(key=lambda event: (event.start_date, event.event_id))
        self.result.events_to_write = to_write


def merge_drafts(
    drafts: Sequence[EventDraft],
    existing: Sequence[Event],
    *,
    now: datetime,
    date_window_days: int = DEFAULT_DATE_WINDOW_DAYS,
) -> MergeResult:
    """Merge ``drafts`` into ``existing`` events (which are not modified).

    ``now`` stamps new events, history entries and updates. Drafts are applied
    in message order, so a reply that moves an event lands after the
    announcement whatever order they come in.
    """
    return _Merger(existing, now, date_window_days).merge(drafts)


@dataclass
class FoldResult:
    """Events that turned out to be one after a move: the survivors to write, the rest to drop."""

    events_to_write: list[Event] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def _collide(left: Event, right: Event) -> bool:
    if left.category != right.category or left.start_date != right.start_date:
        return False
    if isinstance(left.start, datetime) != isinstance(right.start, datetime):
        return False
    if (
        isinstance(left.start, datetime)
        and isinstance(right.start, datetime)
        and abs(left.start - right.start) > SAME_EVENT_MAX_TIME_GAP
    ):
        return False
    similarity = max(
        title_similarity(left.title, right.title), _subset_similarity(left.title, right.title)
    )
    return similarity >= SAME_DAY_SIMILARITY


def fold_collisions(
    changed: Sequence[Event], pool: Sequence[Event], *, now: datetime
) -> FoldResult:
    """Fold events of ``pool`` that collide with a ``changed`` one into the first seen.

    Merging looks events up when a draft arrives; which draft comes first depends on
    the order channels are read in. A repeat read before its announcement starts an
    event of its own, and when the announcement is later moved onto the same day the
    two describe one thing. Folding keeps the result independent of that order.
    """
    result = FoldResult()
    survivors: set[str] = set()
    alive = {e.event_id: e.model_copy(deep=True) for e in pool}
    for event in changed:
        alive.setdefault(event.event_id, event.model_copy(deep=True))
    for event in changed:
        current = alive.get(event.event_id)
        if current is None:
            continue
        for other in sorted(alive.values(), key=lambda e: e.event_id):
            if other.event_id == current.event_id or other.event_id not in alive:
                continue
            if not _collide(current, other):
                continue
            first_seen = min((current, other), key=lambda e: (e.first_seen_at or now, e.event_id))
            survivor, gone = (current, other) if first_seen is current else (other, current)
            latest = max((current, other), key=lambda e: (e.updated_at or now, e.event_id))
            seen = {(s.channel_id, s.ts) for s in survivor.sources}
            survivor.sources.extend(s for s in gone.sources if (s.channel_id, s.ts) not in seen)
            survivor.history = sorted(
                survivor.history + gone.history, key=lambda change: change.changed_at
            )
            survivor.status, survivor.start, survivor.end = latest.status, latest.start, latest.end
            # What merging the gone event's drafts one by one would have given (_enrich):
            # otherwise re-extracting one of its sources later changes the survivor.
            survivor.confidence = max(survivor.confidence, gone.confidence)
            for name in ("location", "url", "summary"):
                if getattr(survivor, name) is None:
                    setattr(survivor, name, getattr(gone, name))
            survivor.sequence = max(survivor.sequence, gone.sequence) + 1
            survivor.updated_at = now
            del alive[gone.event_id]
            result.dropped.append(gone.event_id)
            survivors.discard(gone.event_id)
            survivors.add(survivor.event_id)
            current = survivor
    result.events_to_write = [alive[event_id] for event_id in sorted(survivors)]
    return result
