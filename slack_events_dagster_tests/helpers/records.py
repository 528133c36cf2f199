"""Domain records for storage tests: messages and events with every field filled."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from slack_events_dagster.domain.models import Event, EventCategory, SlackMessage, SourceRef

BASE_TS = 1_772_467_200  # 2026-03-02 16:00:00 UTC


def make_message(i: int, channel: str = "C1", **fields: object) -> SlackMessage:
    values: dict[str, object] = {
        "channel_id": channel,
        "ts": f"{BASE_TS + i * 60}.{i % 1_000_000:06d}",
        "user": "U1",
        "text": f"message {i} :tada: héllo",
        "blocks": [{"type": "rich_text", "elements": [{"type": "text", "text": f"m{i}"}]}],
        "reactions": [{"name": "tada", "count": 2, "users": ["U1", "U2"]}],
    }
    values.update(fields)
    return SlackMessage.model_validate(values)


def make_event(event_id: str = "e1", **fields: object) -> Event:
    values: dict[str, object] = {
        "event_id": event_id,
        "dedup_key": f"key-{event_id}",
        "title": "Payments API v2 release",
        "category": EventCategory.RELEASE,
        "start": datetime(2026, 3, 10, 15, 0, tzinfo=ZoneInfo("America/New_York")),
        "end": datetime(2026, 3, 10, 16, 0, tzinfo=ZoneInfo("America/New_York")),
        "timezone": "America/New_York",
        "confidence": 0.8,
        "sources": [SourceRef(channel_id="C1", ts="1772467260.000001")],
    }
    values.update(fields)
    return Event.model_validate(values)
