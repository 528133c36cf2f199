"""Events as a list: the rows the demo's table and the events asset's table show, and
the busiest day."""

from __future__ import annotations

from datetime import UTC, date, datetime

from slack_events_dagster.domain.listing import EventRow, busiest_day, event_rows
from slack_events_dagster.domain.models import (
    Event,
    EventCategory,
    EventLink,
    EventStatus,
    LinkKind,
    SourceRef,
)
from slack_events_dagster_tests.helpers.records import make_event

NAMES = {"C1": "releases", "C2": "engineering"}


def test_a_row_says_when_what_where_and_how_it_is_anchored() -> None:
    event = make_event(
        "e1",
        title="Payments API v2 release",
        sources=[
            SourceRef(channel_id="C1", ts="1772467260.000001"),
            SourceRef(channel_id="C2", ts="1772467300.000001"),
            SourceRef(channel_id="C1", ts="1772467400.000001"),
        ],
        links=[
            EventLink(kind=LinkKind.JIRA, key="OPS-1"),
            EventLink(kind=LinkKind.JIRA, key="OPS-2"),
            EventLink(kind=LinkKind.ZOOM, key="81234567890", url="https://acme.zoom.us/j/1"),
        ],
    )
    [row] = event_rows([event], timezone="America/New_York", channel_names=NAMES)
    assert row == EventRow(
        day=date(2026, 3, 10),
        time="15:00–16:00",
        title="Payments API v2 release",
        category=EventCategory.RELEASE,
        status=EventStatus.SCHEDULED,
        channels=("releases", "engineering"),
        sources=3,
        links=("jira", "zoom"),
    )


def test_times_are_in_the_readers_zone_and_all_day_events_count_their_days() -> None:
    late = make_event(
        "late",
        start=datetime(2026, 3, 11, 3, 30, tzinfo=UTC),  # 23:30 the day before in New York
        end=None,
        sources=[SourceRef(channel_id="C9", ts="1772467260.000001")],
    )
    conference = make_event(
        "conf", start=date(2026, 3, 23), end=date(2026, 3, 26), title="KubeCon + CloudNativeCon"
    )
    freeze = make_event("freeze", start=date(2026, 3, 10), end=None, title="Code freeze")
    overnight = make_event(
        "night",
        start=datetime(2026, 3, 10, 22, 0, tzinfo=UTC),
        end=datetime(2026, 3, 11, 6, 0, tzinfo=UTC),
    )
    rows = event_rows(
        [conference, late, overnight, freeze], timezone="America/New_York", channel_names=NAMES
    )
    assert [(r.day, r.time, r.channels) for r in rows] == [
        (date(2026, 3, 10), "all day", ("releases",)),
        (date(2026, 3, 10), "18:00–Wed 02:00", ("releases",)),
        (date(2026, 3, 10), "23:30", ("C9",)),  # a channel without a name shows its id
        (date(2026, 3, 23), "4 days", ("releases",)),
    ]


def test_the_busiest_day_has_the_most_events_still_happening() -> None:
    def on(day: int, event_id: str, status: EventStatus = EventStatus.SCHEDULED) -> Event:
        return make_event(event_id, start=date(2026, 3, day), end=None, status=status)

    events = [
        on(3, "a"),
        on(3, "b"),
        on(5, "c"),
        on(5, "d"),
        on(7, "e"),
        on(7, "f", EventStatus.CANCELLED),
        on(7, "g", EventStatus.CANCELLED),
        on(9, "h"),
        on(9, "i"),
        on(9, "j"),
    ]
    zone = "America/New_York"
    assert busiest_day(events, timezone=zone) == date(2026, 3, 9)
    # Equals: the earliest. Outside the range: not counted.
    assert busiest_day(events, timezone=zone, last=date(2026, 3, 8)) == date(2026, 3, 3)
    assert busiest_day(events, timezone=zone, first=date(2026, 3, 4), last=date(2026, 3, 8)) == (
        date(2026, 3, 5)
    )
    assert busiest_day([], timezone=zone) is None
