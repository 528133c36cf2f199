"""Folding events that became one after a move (order-independent dedup)."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_events_dagster.domain.dedup import fold_collisions
from slack_events_dagster.domain.models import (
    Event,
    EventCategory,
    EventChange,
    EventStatus,
    SourceRef,
)

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def event(event_id: str, title: str, start: datetime, **fields: object) -> Event:
    values: dict[str, object] = {
        "event_id": event_id,
        "dedup_key": f"k-{event_id}",
        "title": title,
        "category": EventCategory.RELEASE,
        "start": start,
        "sources": [
            SourceRef(channel_id="C1", ts=f"{len(event_id)}.{abs(hash(event_id)) % 999999:06d}")
        ],
        "first_seen_at": datetime(2026, 3, 5, tzinfo=UTC),
        "updated_at": datetime(2026, 3, 5, tzinfo=UTC),
    }
    values.update(fields)
    return Event.model_validate(values)


THURSDAY_2PM = datetime(2026, 3, 12, 18, tzinfo=UTC)


def test_a_moved_event_absorbs_the_repeat_that_was_read_first() -> None:
    repeat = event(
        "repeat",
        "4.13",
        THURSDAY_2PM,
        status=EventStatus.RESCHEDULED,
        first_seen_at=datetime(2026, 3, 9, tzinfo=UTC),
        updated_at=datetime(2026, 3, 9, tzinfo=UTC),
        sources=[SourceRef(channel_id="CENG", ts="1773063026.860780")],
    )
    moved = event(
        "announced",
        "Lumen 4.13",
        THURSDAY_2PM,
        status=EventStatus.RESCHEDULED,
        sequence=1,
        history=[
            EventChange(
                changed_at=datetime(2026, 3, 9, 13, tzinfo=UTC),
                status=EventStatus.SCHEDULED,
                start=datetime(2026, 3, 10, 18, tzinfo=UTC),
            )
        ],
        updated_at=datetime(2026, 3, 9, 13, tzinfo=UTC),
        sources=[SourceRef(channel_id="CREL", ts="1772726456.575061")],
    )
    result = fold_collisions([moved], [repeat, moved], now=NOW)
    assert result.dropped == ["repeat"]
    [survivor] = result.events_to_write
    # The event announced first keeps its id (calendar UIDs), and gains the other's sources.
    assert survivor.event_id == "announced"
    assert {s.channel_id for s in survivor.sources} == {"CREL", "CENG"}
    assert survivor.status is EventStatus.RESCHEDULED and survivor.start == THURSDAY_2PM
    # The repeat moves it where it already is: one change, as when read in order (a
    # sequence bumped by folding would depend on the order the channels were read in).
    assert survivor.history == moved.history and survivor.sequence == 1

    # Folding the result again changes nothing.
    assert fold_collisions([survivor], [survivor], now=NOW).dropped == []


def test_different_events_on_the_same_day_stay_apart() -> None:
    release = event("a", "Lumen 4.13", THURSDAY_2PM)
    retro = event("b", "Lumen 4.13 retro", THURSDAY_2PM, category=EventCategory.MEETING)
    later = event("c", "Lumen 4.13", THURSDAY_2PM.replace(hour=22))
    other = event("d", "Beacon public beta", THURSDAY_2PM)
    assert fold_collisions([release], [release, retro, later, other], now=NOW).dropped == []
