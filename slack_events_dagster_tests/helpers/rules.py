"""Rule-extractor inputs for tests: a message posted at a local wall-clock time, with its
thread parent, read by the rule extractor."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from slack_events_dagster.domain.models import (
    EventCandidate,
    EventDraft,
    SlackMessage,
    datetime_to_ts,
)
from slack_events_dagster.llm.base import ExtractionInput
from slack_events_dagster.llm.rules import RuleExtractor


def posted(moment: str, zone: str) -> str:
    """The Slack ts of a local wall-clock time in ``zone``."""
    return datetime_to_ts(datetime.fromisoformat(moment).replace(tzinfo=ZoneInfo(zone)))


def item(
    text: str,
    at: str,
    zone: str = "UTC",
    *,
    parent: str | None = None,
    parent_at: str | None = None,
) -> ExtractionInput:
    parent_message = None
    thread_ts = None
    if parent is not None:
        parent_ts = posted(parent_at or at, zone)
        parent_message = SlackMessage(
            channel_id="C1", ts=parent_ts, thread_ts=parent_ts, text=parent, reply_count=1
        )
        thread_ts = parent_ts
    ts = posted(at, zone)
    message = SlackMessage(channel_id="C1", ts=ts, thread_ts=thread_ts, text=text)
    candidate = EventCandidate(channel_id="C1", ts=ts, score=0.8, parent_ts=thread_ts)
    return ExtractionInput(
        candidate=candidate,
        message=message,
        channel_name="general",
        timezone=zone,
        thread_parent=parent_message,
    )


def drafts(text: str, at: str, zone: str = "UTC", **kwargs: str) -> list[EventDraft]:
    return RuleExtractor().extract([item(text, at, zone, **kwargs)]).drafts


def one(text: str, at: str, zone: str = "UTC", **kwargs: str) -> EventDraft:
    found = drafts(text, at, zone, **kwargs)
    assert len(found) == 1, found
    return found[0]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- the protocol --------------------------------------------------------------
