"""Dedup and merge: one event per real-world event, reschedules with history, idempotent re-runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from slack_events_dagster.domain.dedup import (
    MergeResult,
    dedup_key,
    event_id_for,
    merge_drafts,
    normalize_title,
    title_similarity,
)
from slack_events_dagster.domain.models import (
    Event,
    EventCategory,
    EventDraft,
    EventStatus,
    SourceRef,
)

NOW = datetime(2026, 3, 9, 12, tzinfo=UTC)
LATER = NOW + timedelta(hours=6)
RELEASE_AT = datetime(2026, 3, 10, 14, tzinfo=UTC)


def draft(
    title: str = "Payments API v2.3 release",
    *,
    channel: str = "C1",
    ts: str = "1772704800.000100",
    start: datetime | date = RELEASE_AT,
    category: EventCategory = EventCategory.RELEASE,
    **fields: Any,
) -> EventDraft:
    return EventDraft(
        title=title,
        category=category,
        start=start,
        source=SourceRef(channel_id=channel, ts=ts),
        **fields,
    )


def merge(
    drafts: list[EventDraft], existing: list[Event] | None = None, now: datetime = NOW
) -> MergeResult:
    return merge_drafts(drafts, existing or [], now=now)


def test_key_and_id_are_stable_and_normalized() -> None:
    assert (
        normalize_title("Reminder: The Payments API v2.3 release!") == "payments api v2 3 release"
    )
    key = dedup_key("Payments API v2.3 release", EventCategory.RELEASE, date(2026, 3, 10))
    assert key == dedup_key("payments api v2.3 Release", "release", date(2026, 3, 10))
    assert key != dedup_key("Payments API v2.3 release", EventCategory.RELEASE, date(2026, 3, 11))
    assert len(key) == 20 and int(key, 16) >= 0
    assert event_id_for(key) == event_id_for(key)


def test_one_draft_makes_one_new_event() -> None:
    result = merge([draft(location="Zoom")])
    assert result.new == 1 and result.updated == 0
    (event,) = result.events_to_write
    assert event.event_id == event_id_for(event.dedup_key)
    assert event.sources == [SourceRef(channel_id="C1", ts="1772704800.000100")]
    assert event.sequence == 0 and event.history == []
    assert event.first_seen_at == NOW and event.location == "Zoom"


def test_cross_channel_announcements_merge_into_one_event_with_both_sources() -> None:
    first = draft(channel="C1", ts="1772704800.000100")
    second = draft("Payments API v2.3 Release", channel="C2", ts="1772705000.000100")
    result = merge([second, first])
    assert result.new == 1 and result.merged == 1
    (event,) = result.events_to_write
    assert {s.channel_id for s in event.sources} == {"C1", "C2"}
    assert event.sequence == 0


def test_reminder_the_day_before_and_thread_repeat_merge() -> None:
    announce = draft(ts="1772704800.000100")
    reminder = draft(
        "Reminder: payments api v2.3 release",
        ts="1773050400.000100",
        url="https://status.example.com",
    )
    thread_repeat = draft("Payments release", ts="1773051000.000100", thread_ts="1772704800.000100")
    result = merge([announce, reminder, thread_repeat])
    assert result.new == 1 and result.merged == 2
    (event,) = result.events_to_write
    assert len(event.sources) == 3
    assert event.url == "https://status.example.com"  # filled in by the reminder
    assert event.start == RELEASE_AT and event.status is EventStatus.SCHEDULED


def test_reschedule_reply_updates_start_history_and_sequence_but_not_the_id() -> None:
    announce = draft(ts="1772704800.000100")
    moved = draft(
        "Payments API v2.3 release",
        ts="1772791200.000100",
        thread_ts="1772704800.000100",
        start=RELEASE_AT + timedelta(days=2),
        status=EventStatus.RESCHEDULED,
    )
    first = merge([announce])
    (original,) = first.events_to_write
    result = merge([moved], first.events_to_write, now=LATER)
    assert result.new == 0 and result.updated == 1 and result.rescheduled == 1
    (event,) = result.events_to_write
    assert event.event_id == original.event_id and event.dedup_key == original.dedup_key
    assert event.start == RELEASE_AT + timedelta(days=2)
    assert event.status is EventStatus.RESCHEDULED and event.sequence == 1
    (change,) = event.history
    assert change.start == RELEASE_AT and change.status is EventStatus.SCHEDULED
    assert change.source == moved.source and change.changed_at == LATER
    # The input events are not modified.
    assert original.start == RELEASE_AT and original.history == []


def test_reply_with_a_different_date_reschedules_even_without_the_status() -> None:
    announce = draft(ts="1772704800.000100")
    reply = draft(
        "Payments API release",
        ts="1772791200.000100",
        thread_ts="1772704800.000100",
        start=RELEASE_AT + timedelta(days=1),
    )
    (event,) = merge([announce, reply]).events_to_write
    assert event.start == RELEASE_AT + timedelta(days=1) and event.sequence == 1
    assert event.status is EventStatus.RESCHEDULED


def test_cancellation_cancels_and_bumps_sequence() -> None:
    announce = draft(ts="1772704800.000100")
    cancel = draft(
        ts="1772791200.000100", thread_ts="1772704800.000100", status=EventStatus.CANCELLED
    )
    result = merge([announce, cancel])
    assert result.cancelled == 1
    (event,) = result.events_to_write
    assert event.status is EventStatus.CANCELLED and event.sequence == 1
    assert event.start == RELEASE_AT and len(event.history) == 1


def test_top_level_cancellation_finds_the_event_by_title() -> None:
    announce = draft("Team lunch", category=EventCategory.ANNOUNCEMENT, ts="1772704800.000100")
    cancel = draft(
        "Team lunch",
        category=EventCategory.OTHER,
        channel="C9",
        ts="1772791200.000100",
        status=EventStatus.CANCELLED,
    )
    result = merge([announce, cancel])
    assert result.new == 1
    (event,) = result.events_to_write
    assert event.status is EventStatus.CANCELLED


def test_near_duplicate_titles_within_the_window_merge() -> None:
    announce = draft("Payments API v2.3 release", ts="1772704800.000100")
    # Read as 23:30 the evening before (a time-zone slip) by another channel's reader.
    slipped = draft(
        "Payments API v2.3 release to production",
        channel="C2",
        ts="1772705000.000100",
        start=RELEASE_AT - timedelta(hours=14, minutes=30),
    )
    same_day = draft("payments-api 2.3 release to production", channel="C3", ts="1772705100.000100")
    result = merge([announce, slipped, same_day])
    assert result.new == 1 and result.merged == 2
    (event,) = result.events_to_write
    assert event.title == "Payments API v2.3 release" and event.start == RELEASE_AT
    assert len(event.sources) == 3


def test_title_similarity_separates_subsets_from_different_subjects() -> None:
    assert title_similarity("All-hands", "All hands meeting") >= 80
    assert title_similarity("Payments API release", "Search API release") < 80
    assert title_similarity("Team lunch", "Team offsite") < 80
    assert title_similarity("", "Team offsite") == 0


def test_different_events_on_the_same_day_stay_apart() -> None:
    drafts = [
        draft("Payments API v2.3 release", ts="1772704800.000100"),
        draft("Search API v1.4 release", ts="1772704900.000100"),
        draft(
            "Payments API v2.3 release retro",
            category=EventCategory.MEETING,
            ts="1772705000.000100",
        ),
        draft(
            "Standup",
            category=EventCategory.MEETING,
            ts="1772705100.000100",
            start=datetime(2026, 3, 10, 9, tzinfo=UTC),
        ),
        draft(
            "Standup",
            category=EventCategory.MEETING,
            ts="1772705200.000100",
            start=datetime(2026, 3, 10, 16, tzinfo=UTC),
        ),
    ]
    result = merge(drafts)
    assert result.new == 5 and result.merged == 0
    assert len({event.event_id for event in result.events_to_write}) == 5


def test_same_title_far_apart_is_two_events() -> None:
    first = draft("Weekly planning", category=EventCategory.MEETING, start=date(2026, 3, 10))
    second = draft(
        "Weekly planning",
        category=EventCategory.MEETING,
        ts="1772705200.000100",
        start=date(2026, 3, 17),
    )
    assert merge([first, second]).new == 2


def test_a_time_refines_an_all_day_event_on_the_same_day() -> None:
    day = draft(start=date(2026, 3, 10))
    timed = draft(ts="1772790000.000100", channel="C2")
    (event,) = merge([day, timed]).events_to_write
    assert event.start == RELEASE_AT and event.sequence == 1 and event.history == []


def test_rerun_over_the_output_changes_nothing() -> None:
    drafts = [
        draft(ts="1772704800.000100"),
        draft("Payments API v2.3 Release", channel="C2", ts="1772705000.000100"),
        draft(
            ts="1772791200.000100",
            thread_ts="1772704800.000100",
            start=RELEASE_AT + timedelta(days=2),
            status=EventStatus.RESCHEDULED,
        ),
        draft(
            ts="1772877600.000100",
            thread_ts="1772704800.000100",
            start=RELEASE_AT + timedelta(days=3),
            status=EventStatus.RESCHEDULED,
        ),
        draft("Team lunch", category=EventCategory.ANNOUNCEMENT, ts="1772704900.000100"),
        draft(
            "Team lunch",
            category=EventCategory.ANNOUNCEMENT,
            ts="1772705900.000100",
            thread_ts="1772704900.000100",
            status=EventStatus.CANCELLED,
        ),
    ]
    first = merge(drafts)
    assert first.new == 2
    release = next(e for e in first.events_to_write if e.category is EventCategory.RELEASE)
    assert release.start == RELEASE_AT + timedelta(days=3) and release.sequence == 2
    assert len(release.history) == 2 and len(release.sources) == 4

    again = merge(list(reversed(drafts)), first.events_to_write, now=LATER)
    assert again.events_to_write == []
    assert (again.new, again.updated, again.merged) == (0, 0, 0)
    assert again.unchanged == len(drafts)
    assert set(again.event_ids.values()) == {e.event_id for e in first.events_to_write}


def test_a_stale_change_does_not_undo_a_newer_one() -> None:
    announce = draft(ts="1772704800.000100")
    newer = draft(
        ts="1772877600.000100",
        thread_ts="1772704800.000100",
        start=RELEASE_AT + timedelta(days=3),
        status=EventStatus.RESCHEDULED,
    )
    older = draft(
        ts="1772791200.000100",
        thread_ts="1772704800.000100",
        start=RELEASE_AT + timedelta(days=2),
        status=EventStatus.RESCHEDULED,
    )
    first = merge([announce, newer])
    # The older reply arrives later (a backfill): the newer move still decides the time.
    result = merge([older], first.events_to_write, now=LATER)
    (event,) = result.events_to_write
    assert event.start == RELEASE_AT + timedelta(days=3) and event.status is EventStatus.RESCHEDULED
    assert older.source in event.sources
    # It takes its place in the history, as if read in order (the sequence counts both
    # moves: the same event whatever order the replies were read in).
    assert [change.source for change in event.history] == [older.source, newer.source]
    assert event.history[1].start == RELEASE_AT + timedelta(days=2)
    assert event.sequence == 2
    (in_order,) = merge([announce, older, newer]).events_to_write
    assert event.model_dump(exclude={"updated_at", "history"}) == in_order.model_dump(
        exclude={"updated_at", "history"}
    )


def test_existing_events_given_twice_are_handled_once() -> None:
    (event,) = merge([draft()]).events_to_write
    result = merge([draft(channel="C2", ts="1772705000.000100")], [event, event.model_copy()])
    assert len(result.events_to_write) == 1 and result.updated == 1


def test_a_generic_title_at_the_same_minute_joins_the_named_event() -> None:
    named = draft(
        '"Meet Beacon" customer webinar', category=EventCategory.MEETING, ts="1772704800.000100"
    )
    generic = draft("Webinar", category=EventCategory.MEETING, ts="1772790000.000100")
    elsewhere = draft(
        "Webinar",
        category=EventCategory.MEETING,
        ts="1772790100.000100",
        start=RELEASE_AT + timedelta(hours=3),
    )
    result = merge([named, generic, elsewhere])
    assert result.new == 2 and result.merged == 1


def test_an_all_day_reschedule_to_the_day_the_event_already_has_moves_nothing() -> None:
    first = merge([draft(ts="1772704800.000100")])
    same_day = draft(
        "Payments API v2.3",
        channel="C2",
        ts="1772791200.000100",
        start=RELEASE_AT.date(),
        status=EventStatus.RESCHEDULED,
    )
    (event,) = merge([same_day], first.events_to_write, now=LATER).events_to_write
    assert event.start == RELEASE_AT and event.sequence == 0 and len(event.sources) == 2


def deadline(title: str, ts: str, channel: str = "C1", **fields: Any) -> EventDraft:
    return draft(
        title,
        channel=channel,
        ts=ts,
        start=date(2026, 3, 20),
        category=EventCategory.DEADLINE,
        **fields,
    )


def test_two_names_of_one_thing_on_its_day_merge() -> None:
    # One title's words among the other's (singular or plural), the same version number,
    # or letters standing for the other's words.
    pairs = [
        (
            deadline("4.14 code freeze", "1773666922.363781"),
            deadline("Freeze", "1773926421.649384"),
        ),
        (
            deadline("February expense reports are due EOD Friday in Ramp", "1772547129.936669"),
            deadline("Expenses", "1772806511.249342"),
        ),
        (
            deadline("Annual security awareness training is live", "1772463740.779226"),
            deadline("Security training deadline", "1773322239.434006"),
        ),
        (
            draft("Planning note: 4.14 is the last release of Q1", start=date(2026, 3, 24)),
            draft("4.14 scope is locked", ts="1773759649.839477", start=date(2026, 3, 24)),
        ),
        (
            draft("Lunch & Learn", category=EventCategory.MEETING),
            draft("L&L", ts="1773066052.398000", category=EventCategory.MEETING),
        ),
    ]
    for first, second in pairs:
        result = merge([first, second])
        assert (result.new, result.merged) == (1, 1), (first.title, second.title)


def test_names_that_differ_in_a_number_or_share_only_a_filler_word_stay_apart() -> None:
    pairs = [
        (
            deadline("Q4 planning drafts", "1772704800.000100"),
            deadline("Q2 planning drafts", "1772705000.000100"),
        ),
        (
            draft("Sprint 5 retro", category=EventCategory.MEETING),
            draft("Sprint 6 retro", ts="1772705000.000100", category=EventCategory.MEETING),
        ),
        (draft("Lumen 4.13"), draft("Lumen 4.14 release", ts="1772705000.000100")),
        (
            deadline("Submit the dashboard with the window", "1772704800.000100"),
            deadline("With", "1772705000.000100"),
        ),
        # Different kinds of thing on one day: a release and its freeze.
        (
            draft("4.14 release", start=date(2026, 3, 20)),
            deadline("4.14 code freeze", "1772705000.000100"),
        ),
    ]
    for first, second in pairs:
        assert merge([first, second]).new == 2, (first.title, second.title)
