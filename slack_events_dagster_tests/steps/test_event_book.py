"""The event book reads what a merge needs, however far a move goes (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from slack_events_dagster import steps
from slack_events_dagster.domain.dedup.book import load_window
from slack_events_dagster.domain.dedup.rules import NEIGHBOUR_DAYS, RESCHEDULE_SEARCH_DAYS
from slack_events_dagster.domain.models import (
    EventDraft,
    EventStatus,
    SlackChannel,
    SlackMessage,
    SourceRef,
    datetime_to_ts,
)
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.settings import load_settings
from slack_events_dagster.storage.repository import SqlRepository

CHANNEL = SlackChannel(id="C0OFFSITE1", name="team")
NOW = datetime(2026, 3, 23, 12, tzinfo=UTC)


def message(text: str, posted: datetime) -> SlackMessage:
    return SlackMessage(channel_id=CHANNEL.id, ts=datetime_to_ts(posted), user="U1", text=text)


def test_a_reschedule_posted_outside_the_thread_two_weeks_away_moves_the_event(
    repository: SqlRepository,
) -> None:
    settings = load_settings(pipeline={"timezone": "UTC", "start_date": "2026-03-01"})
    repository.upsert_channels([CHANNEL])
    announced = datetime(2026, 3, 2, 10, tzinfo=UTC)
    moved = datetime(2026, 3, 5, 10, tzinfo=UTC)
    repository.upsert_messages(
        [
            message("Team offsite on Friday March 13 at the lake house, save the date!", announced),
            # Not a reply: posted on its own, fourteen days from the event's day.
            message("Heads up: the team offsite is moved to Friday March 27", moved),
        ]
    )
    first, last = date(2026, 3, 2), date(2026, 3, 5)
    steps.score_days(repository, settings, CHANNEL, first, last, now=NOW)
    steps.extract_days(repository, RuleExtractor(), settings, CHANNEL, first, last, now=NOW)

    [event] = repository.get_events(start_date=date(2026, 3, 1), end_date=date(2026, 4, 30))
    assert event.start_date == date(2026, 3, 27)
    assert event.status is EventStatus.RESCHEDULED
    assert [c.start for c in event.history] == [date(2026, 3, 13)]
    assert len(event.sources) == 2


def test_the_book_reads_far_only_around_reschedules() -> None:
    def draft(status: EventStatus) -> EventDraft:
        return EventDraft(
            title="Team offsite",
            start=date(2026, 3, 27),
            status=status,
            source=SourceRef(channel_id=CHANNEL.id, ts="1772704800.000100"),
        )

    assert load_window(draft(EventStatus.RESCHEDULED)) == RESCHEDULE_SEARCH_DAYS
    assert load_window(draft(EventStatus.SCHEDULED)) == NEIGHBOUR_DAYS < RESCHEDULE_SEARCH_DAYS
