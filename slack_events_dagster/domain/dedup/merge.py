"""Merging drafts into events and folding events that turned out to be one."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from slack_events_dagster.domain.anchors import strong_keys
from slack_events_dagster.domain.dedup.rules import (
    _WEAK_CATEGORIES,
    DEFAULT_DATE_WINDOW_DAYS,
    NEAR_DAY_SIMILARITY,
    RESCHEDULE_SEARCH_DAYS,
    SAME_DAY_SIMILARITY,
    SAME_INSTANT_SIMILARITY,
    THREAD_SIMILARITY,
    _categories_match,
    _kindred,
)
from slack_events_dagster.domain.dedup.titles import (
    _numbers_differ,
    _same_subject,
    _subset_similarity,
    event_id_for,
    normalize_title,
    title_similarity,
)
from slack_events_dagster.domain.dedup.work import (
    MergeResult,
    WorkCache,
    _day_gap,
    _key,
    _Kind,
    _Order,
    _order,
    _same_instant,
    _State,
    _times_compatible,
    _Work,
)
from slack_events_dagster.domain.models import (
    Event,
    EventDraft,
    EventStatus,
    LinkKind,
)


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
