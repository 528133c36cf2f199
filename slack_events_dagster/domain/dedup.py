"""Deduplication and merge: event drafts in, one event per real-world event out.

The same event is announced in two channels, repeated in its thread, reminded
the day before, and later moved or cancelled in a reply. :func:`merge_drafts`
folds all of that into one :class:`Event` with every message among its
``sources``.

The result depends on the drafts, not on the order they arrive in: channels are
extracted in any order, and a backfill may bring a message older than the ones
already merged. Every event is what merging its drafts in posting order gives:

* An event's **first message** (the earliest of its sources, by ``ts`` then
  channel) is its announcement: title, category and the original time come from
  it, and its id and ``dedup_key`` derive from it (:func:`source_key`), so they
  never change while no earlier message joins. Repeats (reminders, cross-posts)
  only fill in what the announcement lacks (location, link, summary, a time of
  day for an all-day date); confidence is the highest seen. Every message's links
  join the event's, in a canonical order (so reading order cannot change them);
  ``date_source`` follows the time (a move brings its own).
* A draft finds its event, in this order: an event that already lists the
  draft's message as a source (a re-run); the event of its thread parent (a
  reply); a shared **anchor** (:mod:`~slack_events_dagster.domain.anchors`): a
  ticket or release tag within the days a title match may look, a meeting link
  on the same day only (weekly meetings reuse theirs), whatever the titles say;
  the exact title key (normalized title, category and start date); a
  fuzzy title match (``rapidfuzz``) on the same or a neighbouring day, or on
  the event's day another name of the same thing ("Freeze" for "4.14 code
  freeze", the same version number, "L&L" for "Lunch & Learn"). Titles that
  differ in a number ("Q2"/"Q4 planning drafts") never match. Only events
  announced before the draft are candidates, each compared as it stood when the
  draft was posted (before later moves).
* A reschedule (a draft with status ``rescheduled``, or a reply in the thread of
  an event's source with a different time), a cancellation, or a tentative reply
  is a **change**. Changes apply in posting order whatever order they arrive
  in: a change older than the last one takes its place in ``history`` and the
  newest still decides the time and status (a backfill never undoes newer
  news). ``history`` holds the state before each change that changed
  something; ``sequence`` counts them (plus one when a time refined an all-day
  date), for calendars.
* A draft older than every event it matches starts its own event, and events
  announced after it that would have joined it had it come first are then
  **folded** into it (the later event's first message is matched like a draft;
  a move announced before its announcement was read becomes a change of it).

Pure: no I/O. The caller loads ``existing`` (events in the drafts' date window
and events of the drafts' threads) and writes ``events_to_write``; events folded
into another are listed in ``MergeResult.dropped`` and come back in
``events_to_write`` without sources, which :func:`fold_collisions` drops.
Running again over the output with the same drafts changes nothing.
"""

from __future__ import annotations

import copy
import hashlib
import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from rapidfuzz import fuzz

from slack_events_dagster.domain.anchors import strong_keys, union_links
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
# A version number: "4.14", "v2.3", "4.12.1" (not a time: "12:30").
_VERSION = re.compile(r"(?<![\d.])v?(\d+(?:\.\d+)+)(?![\d.]*\d)")
_NUMBER = re.compile(r"\d+")
# Words that say nothing about what an event is ("With" is no subject).
_FUNCTION_WORDS = frozenset(
    {"all", "any", "but", "by", "from", "hi", "if", "in", "it", "its", "just", "not", "or"}
    | {"please", "so", "that", "this", "we", "with", "you", "your"}
)
_EVENT_ID_NAMESPACE = uuid.UUID("6f1c3f8e-5d0a-4c1e-9a57-0b6f4d2f9c11")
# Titles are compared pairwise many times in a merge (every draft against every event
# of its days, again when folding): what a title is made of is worked out once.
_TITLE_CACHE = 1 << 16


@lru_cache(maxsize=_TITLE_CACHE)
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


def source_key(first_message: SourceRef) -> str:
    """The ``dedup_key`` of the event whose earliest message is ``first_message``
    (20 hex digits): one message announces at most one event, so keys never collide."""
    raw = f"first-message:{first_message.channel_id}:{first_message.ts}"
    return hashlib.sha1(raw.encode("utf-8"), usedforsecurity=False).hexdigest()[:20]


def event_id_for(key: str) -> str:
    """The event id derived from an event's first dedup key (a UUID, usable as a calendar UID)."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, key))


@lru_cache(maxsize=_TITLE_CACHE)
def _distinctive(normalized: str) -> str:
    return " ".join(word for word in normalized.split() if word not in _GENERIC_WORDS)


@lru_cache(maxsize=_TITLE_CACHE * 2)
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
    a, b = _spell_out_initials(a, b), _spell_out_initials(b, a)
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


def _spell_out_initials(title: str, other: str) -> str:
    """``title`` with letters standing for words of ``other`` written out ("L&L" is
    "lunch learn" next to "Lunch & Learn")."""
    words = title.split()
    if not any(len(word) == 1 and word.isalpha() for word in words):
        return title
    others = other.split()
    spelled: list[str] = []
    index = 0
    while index < len(words):
        run = index
        while run < len(words) and len(words[run]) == 1 and words[run].isalpha():
            run += 1
        letters = "".join(words[index:run])
        expansion = next(
            (
                others[start : start + len(letters)]
                for start in range(len(others) - len(letters) + 1)
                if len(letters) >= 2
                and "".join(w[0] for w in others[start : start + len(letters)]) == letters
            ),
            None,
        )
        if expansion is not None:
            spelled.extend(expansion)
            index = run
        else:
            spelled.append(words[index])
            index += 1
    return " ".join(spelled)


def _subset_similarity(left: str, right: str) -> float:
    a, b = normalize_title(left), normalize_title(right)
    return float(fuzz.token_set_ratio(a, b)) * 0.9 if a and b else 0.0


@lru_cache(maxsize=_TITLE_CACHE)
def _versions(title: str) -> frozenset[str]:
    return frozenset(_VERSION.findall(title))


@lru_cache(maxsize=_TITLE_CACHE)
def _subject_words(title: str) -> frozenset[str]:
    normalized = normalize_title(title)
    words = (_distinctive(normalized) or normalized).split()
    # "expenses" and "expense reports": the same words, singular or plural.
    return frozenset(
        w[:-1] if len(w) > 3 and w.endswith("s") and w[-2] != "s" else w for w in words
    )


def _numbers_differ(left: str, right: str) -> bool:
    """True when each title has a number the other lacks: "Q2 planning drafts" and
    "Q4 planning drafts", "Sprint 5 retro" and "Sprint 6 retro" are different things."""
    left_numbers, right_numbers = _numbers(left), _numbers(right)
    return bool(left_numbers - right_numbers) and bool(right_numbers - left_numbers)


@lru_cache(maxsize=_TITLE_CACHE)
def _numbers(title: str) -> frozenset[int]:
    return frozenset(int(n) for n in _NUMBER.findall(normalize_title(title)))


def _same_subject(left: str, right: str) -> bool:
    """True when two titles name the same thing: the same version ("Planning note: 4.14
    is the last release" and "4.14 scope is locked"), or one title's words all among
    the other's ("Freeze" and "4.14 code freeze")."""
    left_versions, right_versions = _versions(left), _versions(right)
    if left_versions and right_versions:
        return left_versions == right_versions
    small, large = sorted((_subject_words(left), _subject_words(right)), key=len)
    return small <= large and any(w not in _FUNCTION_WORDS and len(w) > 2 for w in small)


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


# A release that goes live is also its launch: "4.13 is live" repeats "Lumen 4.13 release".
_KINDRED = frozenset({EventCategory.RELEASE, EventCategory.LAUNCH})


def _kindred(left: EventCategory, right: EventCategory) -> bool:
    """One kind of event under two names: equal, or a release and its launch."""
    return left == right or (left in _KINDRED and right in _KINDRED)


def _categories_match(left: EventCategory, right: EventCategory) -> bool:
    return (
        left == right
        or left in _WEAK_CATEGORIES
        or right in _WEAK_CATEGORIES
        or _kindred(left, right)
    )


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


class _Merger:
    def __init__(
        self,
        existing: Sequence[Event],
        now: datetime,
        window_days: int = DEFAULT_DATE_WINDOW_DAYS,
        cache: WorkCache | None = None,
    ) -> None:
        originals: dict[str, Event] = {}
        for event in existing:
            if event.sources:  # an event without a message cannot be matched; leave it be
                originals.setdefault(event.event_id, event)
        self.originals = originals
        if cache is None:
            self.works = {event_id: _Work.from_event(e) for event_id, e in originals.items()}
            # Works this merge may change (the others are shared with the cache).
            self.owned = set(self.works)
        else:
            self.works = {event_id: cache.work(e) for event_id, e in originals.items()}
            self.owned = set()
        self.by_source: dict[tuple[str, str], str] = {}
        # Day (ordinal) -> events that are or were on it: the events near a day are
        # looked up, not searched for among all events of the merge.
        self.by_day: dict[int, set[str]] = {}
        self.indexed: dict[str, frozenset[int]] = {}
        # Announced day (ordinal) -> events announced for it, apart for rescheduled
        # announcements (they may fold into an event further away): for refolding.
        self.by_base_day: dict[tuple[int, bool], set[str]] = {}
        self.base_indexed: dict[str, tuple[int, bool]] = {}
        for work in self.works.values():
            self._index(work)
            for source_id in work.sources:
                self.by_source[source_id] = work.event_id
        self.now = now
        self.window_days = window_days
        self.result = MergeResult()
        self.created: set[str] = set()
        # Events changed in this merge: only pairs with one of them can newly fold.
        self.dirty: set[str] = set()
        self.folded_into: dict[str, str] = {}
        self.absorbers: set[str] = set()

    # -- finding the event of a draft ---------------------------------------
    def find(self, draft: EventDraft) -> tuple[_Work | None, str]:
        known = self.by_source.get(_key(draft.source))
        if known is not None:
            return self.works[known], "source"
        order = _order(draft.source)
        if draft.thread_ts is not None:
            parent = self.by_source.get((draft.source.channel_id, draft.thread_ts))
            if parent is not None:
                work = self.works[parent]
                if self._belongs_to_thread(draft, work, work.view(order)):
                    return work, "thread"
        window = self._window(draft.status)
        earlier = [w for w in self._near(draft.start_date, window) if w.first_order < order]
        return self._match(draft, earlier)

    # -- the events near a day ----------------------------------------------------------
    def _window(self, status: EventStatus) -> int:
        """How many days from an event a draft with ``status`` may still be it."""
        return RESCHEDULE_SEARCH_DAYS if status is EventStatus.RESCHEDULED else self.window_days

    def _index(self, work: _Work) -> None:
        """Keep ``by_day`` up to date with the days ``work`` is and was on."""
        old = self.indexed.get(work.event_id, frozenset())
        new = work.day_ordinals
        for day in old - new:
            self.by_day[day].discard(work.event_id)
        for day in new - old:
            self.by_day.setdefault(day, set()).add(work.event_id)
        self.indexed[work.event_id] = new
        base = (work.base.start_date.toordinal(), work.base.status is EventStatus.RESCHEDULED)
        old_base = self.base_indexed.get(work.event_id)
        if old_base != base:
            if old_base is not None:
                self.by_base_day[old_base].discard(work.event_id)
            self.by_base_day.setdefault(base, set()).add(work.event_id)
            self.base_indexed[work.event_id] = base

    def _unindex(self, event_id: str) -> None:
        for day in self.indexed.pop(event_id, frozenset()):
            self.by_day[day].discard(event_id)
        base = self.base_indexed.pop(event_id, None)
        if base is not None:
            self.by_base_day[base].discard(event_id)

    def _announced_near(self, work: _Work) -> set[str]:
        """Events whose announced day is near a day ``work`` is or was on (within
        their own window, ``_window`` of their announced status)."""
        found: set[str] = set()
        for rescheduled in (False, True):
            window = self._window(EventStatus.RESCHEDULED if rescheduled else EventStatus.SCHEDULED)
            days = {
                ordinal
                for day in work.day_ordinals
                for ordinal in range(day - window, day + window + 1)
            }
            for ordinal in days:
                found.update(self.by_base_day.get((ordinal, rescheduled), ()))
        return found

    def _near(self, day: date, window: int) -> list[_Work]:
        """The events that are or were on a day at most ``window`` days from ``day``."""
        center = day.toordinal()
        ids: set[str] = set()
        for ordinal in range(center - window, center + window + 1):
            ids.update(self.by_day.get(ordinal, ()))
        return [self.works[event_id] for event_id in ids]

    def _match(self, draft: EventDraft, candidates: Iterable[_Work]) -> tuple[_Work | None, str]:
        """The event among ``candidates`` the draft belongs to, by title key or fuzzily.

        ``candidates`` are events announced before the draft that are or were within
        ``_window(draft.status)`` days of its day (callers look them up by day).
        """
        order = _order(draft.source)
        is_change = draft.status in (EventStatus.RESCHEDULED, EventStatus.CANCELLED)
        window = self._window(draft.status)
        draft_day = draft.start_date
        # Both ways of matching need compatible categories: ask that first.
        near = [w for w in candidates if _categories_match(draft.category, w.category)]
        if not near:
            return None, "new"
        if len(near) > 1:
            near.sort(key=lambda w: w.first_order)
        anchors = frozenset(strong_keys(draft.links))
        for work in near if anchors else ():
            if self._anchored(draft, work, anchors & work.strong, window):
                return work, "anchor"
        title = normalize_title(draft.title)
        for work in near:
            if work.has_title_key(title, draft.category, draft_day, order) and (
                draft.status is not EventStatus.SCHEDULED
                or _times_compatible(draft, work.view(order))
            ):
                return work, "key"
        best: tuple[float, int] | None = None
        found: _Work | None = None
        for work in near:
            view = work.view(order)
            gap = _day_gap(view.start_date, draft_day)
            if gap > window:
                continue
            if not is_change and _numbers_differ(draft.title, work.title):
                continue
            similarity = title_similarity(draft.title, work.title)
            needed = SAME_DAY_SIMILARITY if gap == 0 or is_change else NEAR_DAY_SIMILARITY
            kin = _kindred(draft.category, work.category)
            if kin and (_same_instant(draft, view) or (gap == 0 and draft.all_day != view.all_day)):
                # Same category at the same minute ("Webinar today at 1pm" is the webinar),
                # or a day and a time on that day ("upgrade Saturday night", "Sat 23:00").
                needed = SAME_INSTANT_SIMILARITY
            if is_change and kin:
                # "4.13 is moving to Thursday": a title that is part of the event's suffices.
                similarity = max(similarity, _subset_similarity(draft.title, work.title))
            elif (
                gap == 0
                and kin
                and draft.category not in _WEAK_CATEGORIES
                and _same_subject(draft.title, work.title)
            ):
                # Two names of one thing on its day: "Freeze" and "4.14 code freeze".
                similarity = max(similarity, SAME_DAY_SIMILARITY)
            if similarity < needed:
                continue
            if not is_change and gap == 0 and not _times_compatible(draft, view):
                continue
            if not is_change and gap > 0 and not self._near_instants(draft, view):
                continue
            # Most similar first, then the nearest day, then the earliest announced.
            rank = (similarity, -gap)
            if best is None or rank > best:
                best, found = rank, work
        return found, "fuzzy" if found is not None else "new"

    @staticmethod
    def _anchored(
        draft: EventDraft, work: _Work, shared: frozenset[tuple[LinkKind, str]], window: int
    ) -> bool:
        """Whether a shared anchor makes the draft this event, whatever the titles say.

        A ticket or a release tag names one piece of work: within the days a title
        match may look. A meeting link only on the same day and at a compatible time:
        a weekly meeting reuses its link, and a personal room serves many meetings.
        """
        if not shared:
            return False
        view = work.view(_order(draft.source))
        gap = _day_gap(view.start_date, draft.start_date)
        if any(kind.is_ticket or kind.is_release for kind, _ in shared):
            return gap <= window
        return gap == 0 and (
            draft.status is not EventStatus.SCHEDULED or _times_compatible(draft, view)
        )

    def _belongs_to_thread(self, draft: EventDraft, work: _Work, view: _State) -> bool:
        if draft.status is not EventStatus.SCHEDULED:
            return True
        if draft.start_date == view.start_date or draft.category == work.category:
            return True
        return title_similarity(draft.title, work.title) >= THREAD_SIMILARITY

    def _near_instants(self, draft: EventDraft, view: _State) -> bool:
        # On neighbouring days only a time-zone slip is a duplicate: starts within a day.
        if isinstance(draft.start, datetime) and isinstance(view.start, datetime):
            return abs(draft.start - view.start) < timedelta(days=1)
        return _day_gap(draft.start_date, view.start_date) <= self.window_days

    # -- applying drafts ------------------------------------------------------------
    def merge(self, drafts: Sequence[EventDraft]) -> MergeResult:
        ordered = sorted(drafts, key=lambda d: (_order(d.source), d.title))
        placed: dict[tuple[str, str], str] = {}
        for draft in ordered:
            found, how = self.find(draft)
            if found is None:
                work = self._create(draft)
            else:
                work = self._own(found)
                before = self._snapshot(work)
                self._apply(work, draft, how, self.now)
                self._index(work)
                if self._snapshot(work) != before:
                    self.result.merged += 1
                    self.dirty.add(work.event_id)
                else:
                    self.result.unchanged += 1
            placed[_key(draft.source)] = work.event_id
        self.refold()
        for source_id, event_id in placed.items():
            self.result.event_ids[source_id] = self._resolve(event_id)
        self._collect()
        return self.result

    def _create(self, draft: EventDraft) -> _Work:
        work = _Work.from_draft(draft, self.now)
        key = work.dedup_key
        while work.event_id in self.works:
            # Only an old event can hold the id (ids once came from titles): a fresh one.
            key = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:20]
            work.dedup_key, work.event_id = key, event_id_for(key)
        self.works[work.event_id] = work
        self.owned.add(work.event_id)
        self._index(work)
        self.by_source[_key(draft.source)] = work.event_id
        self.created.add(work.event_id)
        self.dirty.add(work.event_id)
        return work

    def _apply(self, work: _Work, draft: EventDraft, how: str, changed_at: datetime) -> None:
        if _key(draft.source) in work.change_sources():
            return  # a change already applied (a re-run)
        order = _order(draft.source)
        work.add_links(draft.links)
        if work.add_source(draft.source):
            self.by_source[_key(draft.source)] = work.event_id
        view = work.view(order)
        if draft.status is EventStatus.CANCELLED:
            self._change(work, _Kind.CANCEL, draft, changed_at)
        elif draft.status is EventStatus.RESCHEDULED or (
            how == "thread" and draft.start != view.start
        ):
            # Only a new start moves an event; a new end ("resolved at 11:35") completes it.
            self._change(work, _Kind.RESCHEDULE, draft, changed_at)
        elif draft.status is EventStatus.TENTATIVE and how == "thread":
            self._change(work, _Kind.TENTATIVE, draft, changed_at)
        else:
            work.add_repeat(draft, order, changed_at)

    def _change(self, work: _Work, kind: _Kind, draft: EventDraft, changed_at: datetime) -> None:
        work.add_change(kind, draft, changed_at)
        if any(change.source == draft.source for change, _ in work.timeline):
            if kind is _Kind.RESCHEDULE:
                self.result.rescheduled += 1
            elif kind is _Kind.CANCEL:
                self.result.cancelled += 1

    @staticmethod
    def _snapshot(work: _Work) -> object:
        return work.to_event().model_dump(exclude={"updated_at"})

    # -- folding events that are one ----------------------------------------------------
    def refold(self) -> None:
        """Fold each event into an earlier-announced one its first message would have
        joined, had the messages been merged in posting order."""
        # After a fold, events announced before the absorbing one are not looked at
        # again: neither it nor the folded event can join them, and they did not change.
        resume: _Order | None = None
        while True:
            # A pair of events neither of which changed was looked at before: an event
            # that changed is compared with the events near it, and the others with the
            # changed events near them.
            dirty = [w for w in self.works.values() if w.event_id in self.dirty]
            near_dirty: dict[str, list[_Work]] = defaultdict(list)
            for changed in dirty:
                for event_id in self._announced_near(changed):
                    if event_id not in self.dirty:
                        near_dirty[event_id].append(changed)
            works = sorted(
                [*dirty, *(self.works[event_id] for event_id in near_dirty)],
                key=lambda w: w.first_order,
            )
            for work in works:
                if resume is not None and work.first_order < resume:
                    continue
                if work.event_id in self.dirty:
                    near = self._near(work.base.start_date, self._window(work.base.status))
                else:
                    near = near_dirty[work.event_id]
                earlier = [
                    w
                    for w in near
                    if w.first_order < work.first_order
                    and _categories_match(work.category, w.category)
                ]
                if not earlier:
                    continue
                draft = work.first_draft()
                target, how = self._match(draft, earlier)
                if target is not None:
                    self._fold(target, work, how)
                    resume = target.first_order
                    break
            else:
                return

    def _own(self, work: _Work) -> _Work:
        """``work``, made this merge's own before it changes (see :class:`WorkCache`)."""
        if work.event_id in self.owned:
            return work
        mine = work.clone()
        self.works[work.event_id] = mine
        self.owned.add(work.event_id)
        return mine

    def _fold(self, target: _Work, gone: _Work, how: str) -> None:
        target = self._own(target)
        draft = gone.first_draft()
        seen = gone.first_seen_at or self.now
        for source_id, source in gone.sources.items():
            target.add_source(source)
            self.by_source[source_id] = target.event_id
        self._apply(target, draft, how, seen)
        known = target.change_sources()
        target.changes.extend(
            change
            for change in gone.changes
            if change.source is None or _key(change.source) not in known
        )
        target.recompute()
        if gone.first_seen_at is not None and (
            target.first_seen_at is None or gone.first_seen_at < target.first_seen_at
        ):
            target.first_seen_at = gone.first_seen_at
        del self.works[gone.event_id]
        self._unindex(gone.event_id)
        self._index(target)
        self.folded_into[gone.event_id] = target.event_id
        self.dirty.add(target.event_id)
        self.absorbers.add(target.event_id)

    def _resolve(self, event_id: str) -> str:
        while event_id in self.folded_into:
            event_id = self.folded_into[event_id]
        return event_id

    # -- the result ---------------------------------------------------------------------
    def _changed_events(self) -> list[Event]:
        """Events of this merge that are new or differ from what was given."""
        changed: list[Event] = []
        for event_id in sorted(self.dirty & self.works.keys()):
            event = self.works[event_id].to_event()
            original = self.originals.get(event_id)
            if event_id not in self.created and original is not None:
                if event.model_dump(exclude={"updated_at"}) == original.model_dump(
                    exclude={"updated_at"}
                ):
                    continue
                self.result.updated += 1
            event.updated_at = self.now
            changed.append(event)
        return changed

    def _collect(self) -> None:
        to_write = self._changed_events()
        self.result.new = len(self.created & self.works.keys())
        for event_id in sorted(self.folded_into):
            original = self.originals.get(event_id)
            if original is not None:
                self.result.dropped.append(event_id)
                to_write.append(original.model_copy(update={"sources": [], "updated_at": self.now}))
        to_write.sort(key=lambda event: (event.start_date, event.event_id))
        self.result.events_to_write = to_write


def merge_drafts(
    drafts: Sequence[EventDraft],
    existing: Sequence[Event],
    *,
    now: datetime,
    date_window_days: int = DEFAULT_DATE_WINDOW_DAYS,
    cache: WorkCache | None = None,
) -> MergeResult:
    """Merge ``drafts`` into ``existing`` events (which are not modified).

    ``now`` stamps new events, changes and updates. The result is the same
    whatever order the drafts and the existing events' messages arrived in, and
    with or without a ``cache`` (see :class:`WorkCache`).
    """
    return _Merger(existing, now, date_window_days, cache).merge(drafts)


@dataclass
class FoldResult:
    """Events that turned out to be one: the survivors to write, the rest to drop."""

    events_to_write: list[Event] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def fold_collisions(
    changed: Sequence[Event], pool: Sequence[Event], *, now: datetime
) -> FoldResult:
    """Fold events of ``pool`` into the earlier-announced event they are one with.

    ``changed`` are the events a merge wrote (they replace their ``pool`` copies).
    Merging sees the events near the drafts; this sees ``pool`` (e.g. every stored
    event of the changed events' days), so events brought together by a move or by
    an earlier message read late are folded as merging in posting order would have.
    Events without sources (folded away by the merge) are dropped.
    """
    by_id = {event.event_id: event for event in pool}
    by_id.update({event.event_id: event for event in changed})
    result = FoldResult(dropped=sorted(i for i, e in by_id.items() if not e.sources))
    merger = _Merger([e for e in by_id.values() if e.sources], now)
    merger.dirty = {event.event_id for event in changed if event.sources}
    merger.refold()
    result.dropped.extend(sorted(merger.folded_into))
    for event_id in sorted(merger.absorbers & merger.works.keys()):
        event = merger.works[event_id].to_event()
        event.updated_at = now
        result.events_to_write.append(event)
    return result
