"""The iCalendar feed: parses back, stable bytes and UIDs, statuses, time zones, DST."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from slack_events_dagster.domain.anchors import LINK_LABELS
from slack_events_dagster.domain.calendar import PRODID, event_uid
from slack_events_dagster.domain.models import (
    Event,
    EventCategory,
    EventLink,
    EventStatus,
    LinkKind,
    SourceRef,
)
from slack_events_dagster_tests.helpers.digest_events import (
    MIGRATION_LINKS,
    PERMALINKS,
    SYNC_ZOOM,
    assert_golden,
    golden_events,
    ics,
)

NEW_YORK = ZoneInfo("America/New_York")
REPO_ROOT = Path(__file__).resolve().parents[2]


def parse(data: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(data)


def vevents(data: bytes) -> dict[str, icalendar.Event]:
    return {component.uid: component for component in parse(data).events}


def single(**fields: Any) -> Event:
    fields.setdefault("title", "Planning")
    fields.setdefault("first_seen_at", datetime(2026, 3, 1, 9, tzinfo=UTC))
    fields.setdefault("updated_at", datetime(2026, 3, 1, 9, tzinfo=UTC))
    fields.setdefault("sources", [SourceRef(channel_id="C_REL", ts="1772900000.000100")])
    return Event(event_id="ev-1", dedup_key="key-1", **fields)


def test_golden_feed() -> None:
    data = ics(golden_events())
    # RFC 5545 wants CRLF line ends; the golden file keeps them byte for byte.
    assert data.count(b"\r\n") == data.count(b"\n")
    assert_golden("events.ics", data)


def test_feed_parses_back_with_calendar_properties() -> None:
    calendar = parse(ics(golden_events()))
    assert str(calendar["PRODID"]) == PRODID
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["X-WR-CALNAME"]) == "Acme events"
    assert len(calendar.walk("VEVENT")) == len(golden_events())


def test_uids_are_stable_and_output_is_byte_identical() -> None:
    first = ics(golden_events())
    assert ics(golden_events()) == first
    assert ics(list(reversed(golden_events()))) == first
    uids = set(vevents(first))
    assert uids == {f"{event.event_id}@slack-events" for event in golden_events()}
    assert event_uid("ev-release") == "ev-release@slack-events"


def test_output_does_not_depend_on_hash_seed() -> None:
    # Zones are collected in a set; two interpreters with different hash seeds
    # must still write the same bytes.
    script = (
        "import sys\n"
        "from slack_events_dagster_tests.helpers.digest_events import golden_events, ics\n"
        "sys.stdout.buffer.write(ics(golden_events()))\n"
    )
    outputs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            check=True,
        )
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2] == ics(golden_events())


def test_events_between_two_dates_are_found_by_recurring_ical_events() -> None:
    calendar = parse(ics(golden_events()))
    found = recurring_ical_events.of(calendar).between(
        datetime(2026, 3, 11, 0, 0, tzinfo=UTC), datetime(2026, 3, 13, 0, 0, tzinfo=UTC)
    )
    uids = {str(component["UID"]) for component in found}
    assert uids == {
        "ev-maint@slack-events",  # 22:00 on the 10th until 02:00 on the 11th, Berlin
        "ev-deadline@slack-events",
        "ev-conf@slack-events",
        "ev-review@slack-events",
    }
    later = recurring_ical_events.of(calendar).between(date(2026, 4, 1), date(2026, 4, 30))
    assert {str(component["UID"]) for component in later} == {"ev-launch@slack-events"}


def test_reschedule_bumps_sequence_under_the_same_uid() -> None:
    before = single(start=datetime(2026, 3, 10, 14, tzinfo=UTC), sequence=0)
    after = before.model_copy(
        update={
            "start": datetime(2026, 3, 12, 15, tzinfo=UTC),
            "status": EventStatus.RESCHEDULED,
            "sequence": 1,
            "updated_at": datetime(2026, 3, 8, 18, tzinfo=UTC),
        }
    )
    old = vevents(ics([before]))["ev-1@slack-events"]
    new = vevents(ics([after]))["ev-1@slack-events"]
    assert old.sequence == 0
    assert new.sequence == 1
    assert new.decoded("DTSTART") == datetime(2026, 3, 12, 15, tzinfo=UTC)
    assert str(new["STATUS"]) == "CONFIRMED"
    # DTSTAMP follows updated_at, never the wall clock.
    assert new.decoded("DTSTAMP") == datetime(2026, 3, 8, 18, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (EventStatus.SCHEDULED, "CONFIRMED"),
        (EventStatus.RESCHEDULED, "CONFIRMED"),
        (EventStatus.TENTATIVE, "TENTATIVE"),
        (EventStatus.CANCELLED, "CANCELLED"),
    ],
)
def test_status_maps_to_ical_status(status: EventStatus, expected: str) -> None:
    component = vevents(ics([single(start=date(2026, 3, 10), status=status)]))["ev-1@slack-events"]
    assert str(component["STATUS"]) == expected


def test_all_day_events_are_dates_with_exclusive_end() -> None:
    one_day = single(start=date(2026, 3, 11))
    component = vevents(ics([one_day]))["ev-1@slack-events"]
    assert component["DTSTART"].params.get("VALUE") == "DATE"
    assert component.decoded("DTSTART") == date(2026, 3, 11)
    assert not isinstance(component.decoded("DTSTART"), datetime)
    assert component.decoded("DTEND") == date(2026, 3, 12)

    three_days = single(start=date(2026, 3, 12), end=date(2026, 3, 14))
    component = vevents(ics([three_days]))["ev-1@slack-events"]
    assert component.decoded("DTSTART") == date(2026, 3, 12)
    assert component.decoded("DTEND") == date(2026, 3, 15)


def test_timed_event_in_new_york_round_trips_to_the_same_instant() -> None:
    start = datetime(2026, 7, 1, 9, 30, tzinfo=NEW_YORK)
    event = single(start=start, end=start + timedelta(hours=1), timezone="America/New_York")
    data = ics([event])
    assert b"DTSTART;TZID=America/New_York:20260701T093000" in data
    component = vevents(data)["ev-1@slack-events"]
    assert component.decoded("DTSTART").astimezone(UTC) == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)
    assert component.decoded("DTEND").astimezone(UTC) == datetime(2026, 7, 1, 14, 30, tzinfo=UTC)
    # The zone is described in the feed itself, for clients without a tz database.
    assert parse(data).get_missing_tzids() == set()


def test_dst_boundary_in_new_york() -> None:
    # 2026-03-08 is the day the US moves to daylight time (02:00 EST -> 03:00 EDT).
    on_the_day = single(start=datetime(2026, 3, 8, 9, tzinfo=NEW_YORK), timezone="America/New_York")
    day_before = on_the_day.model_copy(
        update={
            "event_id": "ev-0",
            "start": datetime(2026, 3, 7, 9, tzinfo=NEW_YORK),
        }
    )
    data = ics([on_the_day, day_before])
    components = vevents(data)
    assert components["ev-1@slack-events"].decoded("DTSTART").astimezone(UTC) == datetime(
        2026, 3, 8, 13, tzinfo=UTC
    )
    assert components["ev-0@slack-events"].decoded("DTSTART").astimezone(UTC) == datetime(
        2026, 3, 7, 14, tzinfo=UTC
    )
    # The embedded VTIMEZONE alone (not the client's tz database) gives the same offsets.
    (vtimezone,) = parse(data).timezones
    own_zone = vtimezone.to_tz(lookup_tzid=False)
    assert datetime(2026, 3, 8, 9, tzinfo=own_zone).utcoffset() == timedelta(hours=-4)
    assert datetime(2026, 3, 7, 9, tzinfo=own_zone).utcoffset() == timedelta(hours=-5)
    # And recurring_ical_events puts it on the right UTC day and hour.
    found = recurring_ical_events.of(parse(data)).between(
        datetime(2026, 3, 8, 12, 30, tzinfo=UTC), datetime(2026, 3, 8, 13, 30, tzinfo=UTC)
    )
    assert [str(component["UID"]) for component in found] == ["ev-1@slack-events"]


def test_utc_events_use_utc_times_without_a_vtimezone() -> None:
    data = ics([single(start=datetime(2026, 3, 10, 9, tzinfo=UTC), timezone="UTC")])
    assert b"DTSTART:20260310T090000Z" in data
    assert b"BEGIN:VTIMEZONE" not in data


def test_unknown_time_zone_name_falls_back_to_utc() -> None:
    start = datetime(2026, 3, 10, 9, tzinfo=NEW_YORK)
    data = ics([single(start=start, timezone="Mars/Olympus_Mons")])
    component = vevents(data)["ev-1@slack-events"]
    assert component.decoded("DTSTART") == start.astimezone(UTC)


def test_permalink_summary_categories_and_location() -> None:
    event = single(
        start=datetime(2026, 3, 10, 9, tzinfo=UTC),
        summary="Rolling deploy, expect blips; details inside.",
        location="Room 4, HQ",
        category=EventCategory.RELEASE,
        url="https://deploy.example.com/r/1",
        sources=[
            SourceRef(channel_id="C_REL", ts="1772900000.000100"),
            SourceRef(channel_id="C_OPS", ts="1772990000.000300"),
        ],
    )
    component = vevents(ics([event]))["ev-1@slack-events"]
    permalink = PERMALINKS[("C_REL", "1772900000.000100")]
    assert str(component["URL"]) == permalink
    description = str(component["DESCRIPTION"])
    assert description.startswith("Rolling deploy, expect blips; details inside.")
    assert permalink in description
    assert PERMALINKS[("C_OPS", "1772990000.000300")] in description
    assert "https://deploy.example.com/r/1" in description
    assert str(component["LOCATION"]) == "Room 4, HQ"
    assert [str(category) for category in component.categories] == ["release"]


def test_hostile_text_cannot_inject_properties_or_links() -> None:
    event = single(
        start=datetime(2026, 3, 10, 9, tzinfo=UTC),
        title="Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged",
        summary="x\nATTACH:http://evil.example.com",
        url="javascript:alert(1)",
        sources=[SourceRef(channel_id="C_EVIL", ts="1.1")],
    )
    data = ics([event], permalinks={("C_EVIL", "1.1"): "data:text/html,<script>"})
    components = vevents(data)
    assert list(components) == ["ev-1@slack-events"]
    component = components["ev-1@slack-events"]
    assert "URL" not in component
    assert "ATTACH" not in component
    assert b"javascript:" not in data
    assert b"data:text" not in data


def test_empty_feed_is_valid() -> None:
    calendar = parse(ics([]))
    assert calendar.walk("VEVENT") == []
    assert str(calendar["X-WR-CALNAME"]) == "Acme events"


# --------------------------------------------------------------------------- anchors

ZOOM = EventLink(kind=LinkKind.ZOOM, key="81234567890", url="https://acme.zoom.us/j/81234567890")
EVERY_KIND = [
    ZOOM,
    EventLink(kind=LinkKind.JIRA, key="OPS-142", url="https://acme.atlassian.net/browse/OPS-142"),
    EventLink(kind=LinkKind.JIRA, key="PAY-7"),
    EventLink(kind=LinkKind.GITHUB_ISSUE, key="a/b#1", url="https://github.com/a/b/issues/1"),
    EventLink(kind=LinkKind.GITHUB_PULL, key="a/b#2", url="https://github.com/a/b/pull/2"),
    EventLink(
        kind=LinkKind.GITHUB_RELEASE, key="a/b@v1", url="https://github.com/a/b/releases/tag/v1"
    ),
    EventLink(kind=LinkKind.GITLAB_ISSUE, key="g/p#3", url="https://gitlab.com/g/p/-/issues/3"),
    EventLink(
        kind=LinkKind.GITLAB_MERGE_REQUEST,
        key="g/p!4",
        url="https://gitlab.com/g/p/-/merge_requests/4",
    ),
    EventLink(kind=LinkKind.GITLAB_RELEASE, key="g/p@v2", url="https://gitlab.com/g/p/-/tags/v2"),
    EventLink(
        kind=LinkKind.GOOGLE_MEET, key="abc-defg-hij", url="https://meet.google.com/abc-defg-hij"
    ),
    EventLink(kind=LinkKind.TEAMS, key="9387654321", url="https://teams.live.com/meet/9387654321"),
    EventLink(kind=LinkKind.WEBEX, key="acme/meet/ada", url="https://acme.webex.com/meet/ada"),
    EventLink(kind=LinkKind.CONFLUENCE, key="42", url="https://acme.atlassian.net/wiki/x/42"),
    EventLink(kind=LinkKind.NOTION, key="0" * 32, url="https://acme.notion.site/" + "0" * 32),
    EventLink(kind=LinkKind.GOOGLE_DOC, key="1x", url="https://docs.google.com/document/d/1x"),
    EventLink(kind=LinkKind.LINK, key="example.com/a", url="https://example.com/a?b=1"),
]


def test_the_meeting_is_url_and_location_and_the_other_anchors_are_described() -> None:
    event = single(start=datetime(2026, 3, 10, 9, tzinfo=UTC), links=EVERY_KIND)
    component = vevents(ics([event]))["ev-1@slack-events"]
    assert str(component["URL"]) == ZOOM.url
    assert str(component["LOCATION"]) == ZOOM.url
    lines = str(component["DESCRIPTION"]).splitlines()
    # Every other anchor as "label key: url" (a bare key without one); the meeting once.
    for link in EVERY_KIND[1:]:
        line = f"{LINK_LABELS[link.kind]} {link.key}"
        assert (f"{line}: {link.url}" if link.url else line) in lines
    assert not any(ZOOM.url in line for line in lines)
    assert PERMALINKS[("C_REL", "1772900000.000100")] in lines
    # recurring_ical_events reads the same properties.
    (found,) = recurring_ical_events.of(parse(ics([event]))).at(date(2026, 3, 10))
    assert str(found["URL"]) == ZOOM.url and str(found["LOCATION"]) == ZOOM.url


def test_a_location_of_its_own_stays_and_the_meeting_is_described() -> None:
    calendar = parse(ics(golden_events()))
    components = {str(c["UID"]): c for c in calendar.walk("VEVENT")}
    sync = components["ev-sync@slack-events"]
    assert str(sync["LOCATION"]) == "Zoom"
    assert str(sync["URL"]) == SYNC_ZOOM.url
    assert f"Zoom 81234567890: {SYNC_ZOOM.url}" in str(sync["DESCRIPTION"]).splitlines()
    migration = components["ev-migration@slack-events"]
    assert str(migration["LOCATION"]) == MIGRATION_LINKS[0].url
    assert str(migration["DESCRIPTION"]).splitlines()[0] == "Jira DB-12"
    # Without a meeting, URL stays the first source's permalink.
    release = components["ev-release@slack-events"]
    assert str(release["URL"]) == PERMALINKS[("C_REL", "1772900000.000100")]
    assert "GitHub release acme/api@v2.3.0: https://github.com/acme/api/releases/tag/v2.3.0" in (
        str(release["DESCRIPTION"]).splitlines()
    )


def test_hostile_anchors_cannot_inject_properties_or_links() -> None:
    event = single(
        start=datetime(2026, 3, 10, 9, tzinfo=UTC),
        links=[
            EventLink(kind=LinkKind.ZOOM, key="1", url="javascript:alert(1)"),
            EventLink(
                kind=LinkKind.TEAMS, key="t", url="https://teams.live.com/meet/1\r\nATTACH:x"
            ),
            EventLink(
                kind=LinkKind.JIRA, key="X-1\r\nATTACH:http://evil.example.com", url="data:x"
            ),
        ],
        sources=[SourceRef(channel_id="C_EVIL", ts="1.1")],
    )
    data = ics([event], permalinks={})
    component = vevents(data)["ev-1@slack-events"]
    assert "URL" not in component and "LOCATION" not in component and "ATTACH" not in component
    assert b"javascript:" not in data and b"data:x" not in data
    assert str(component["DESCRIPTION"]).splitlines() == [
        "Zoom 1",
        "Microsoft Teams t",
        "Jira X-1 ATTACH:http://evil.example.com",
    ]
    # The first meeting with a safe URL is the one to join.
    safe = event.model_copy(update={"links": [*event.links, ZOOM]})
    joined = vevents(ics([safe], permalinks={}))["ev-1@slack-events"]
    assert str(joined["URL"]) == str(joined["LOCATION"]) == ZOOM.url
