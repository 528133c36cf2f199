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

from slack_events_dagster.domain.dedup.merge import FoldResult, fold_collisions, merge_drafts
from slack_events_dagster.domain.dedup.rules import (
    DEFAULT_DATE_WINDOW_DAYS,
    NEAR_DAY_SIMILARITY,
    RESCHEDULE_SEARCH_DAYS,
    SAME_DAY_SIMILARITY,
)
from slack_events_dagster.domain.dedup.titles import (
    dedup_key,
    event_id_for,
    normalize_title,
    source_key,
    title_similarity,
)
from slack_events_dagster.domain.dedup.work import MergeResult, WorkCache

__all__ = [
    "DEFAULT_DATE_WINDOW_DAYS",
    "NEAR_DAY_SIMILARITY",
    "RESCHEDULE_SEARCH_DAYS",
    "SAME_DAY_SIMILARITY",
    "FoldResult",
    "MergeResult",
    "WorkCache",
    "dedup_key",
    "event_id_for",
    "fold_collisions",
    "merge_drafts",
    "normalize_title",
    "source_key",
    "title_similarity",
]
