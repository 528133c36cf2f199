"""The digest and calendar tests' events: one of each case the digest must get right
(golden_events), their links and permalinks, the digest built from them, the calendar
written from them (ics), the golden files they are compared with, and Slack's limits."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slack_events_dagster.domain.calendar import build_calendar
from slack_events_dagster.domain.digest import (
    DigestContent,
    build_digest,
)
from slack_events_dagster.domain.models import (
    Event,
    EventCategory,
    EventChange,
    EventLink,
    EventStatus,
    LinkKind,
    SourceRef,
)
from slack_events_dagster.slack.blocks import (
    SLACK_MAX_BLOCKS,
    SLACK_MAX_HEADER_CHARS,
    SLACK_MAX_SECTION_CHARS,
)

# The golden files live beside the digest and calendar tests.
GOLDEN_DIR = Path(__file__).resolve().parents[1] / "domain" / "golden"
UPDATE_GOLDEN = os.environ.get("SLACK_EVENTS_UPDATE_GOLDEN") == "1"

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")

DAY = date(2026, 3, 9)  # a Monday, the day after the US switched to daylight time
NOW = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
PREVIOUS = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)

PERMALINKS = {
    ("C_REL", "1772900000.000100"): "https://acme.slack.com/archives/C_REL/p1772900000000100",
    ("C_REL", "1772900100.000200"): "https://acme.slack.com/archives/C_REL/p1772900100000200",
    ("C_OPS", "1772990000.000300"): "https://acme.slack.com/archives/C_OPS/p1772990000000300",
    ("C_OPS", "1772995000.000400"): "https://acme.slack.com/archives/C_OPS/p1772995000000400",
    ("C_ENG", "1772800000.000500"): "https://acme.slack.com/archives/C_ENG/p1772800000000500",
    ("C_ENG", "1772996000.000600"): "https://acme.slack.com/archives/C_ENG/p1772996000000600",
    ("C_ENG", "1773040000.000700"): "https://acme.slack.com/archives/C_ENG/p1773040000000700",
}
CHANNEL_NAMES = {"C_REL": "releases", "C_OPS": "ops", "C_ENG": "engineering"}


def ref(channel_id: str, ts: str) -> SourceRef:
    return SourceRef(channel_id=channel_id, ts=ts)


def event(event_id: str, **fields: Any) -> Event:
    fields.setdefault("first_seen_at", datetime(2026, 3, 1, 9, tzinfo=UTC))
    fields.setdefault("updated_at", fields["first_seen_at"])
    fields.setdefault("sources", [ref("C_ENG", "1772800000.000500")])
    return Event(event_id=event_id, dedup_key=f"key-{event_id}", **fields)


def link(kind: LinkKind, key: str, url: str | None = None) -> EventLink:
    return EventLink(kind=kind, key=key, url=url)


RELEASE_LINKS = [
    link(LinkKind.JIRA, "REL-23", "https://acme.atlassian.net/browse/REL-23"),
    link(LinkKind.GITHUB_PULL, "acme/api#45", "https://github.com/acme/api/pull/45"),
    link(
        LinkKind.GITHUB_RELEASE,
        "acme/api@v2.3.0",
        "https://github.com/acme/api/releases/tag/v2.3.0",
    ),
    link(LinkKind.GOOGLE_DOC, "1AbC", "https://docs.google.com/document/d/1AbC/edit"),
    link(LinkKind.CONFLUENCE, "4242", "https://acme.atlassian.net/wiki/spaces/ENG/pages/4242"),
    link(LinkKind.LINK, "status.acme.com", "https://status.acme.com/"),
]
SYNC_ZOOM = link(LinkKind.ZOOM, "81234567890", "https://acme.zoom.us/j/81234567890?pwd=x&y=1")
MIGRATION_LINKS = [
    link(
        LinkKind.TEAMS,
        "19:meeting_abc@thread.v2",
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0",
    ),
    link(LinkKind.JIRA, "DB-12"),
]


def golden_events() -> list[Event]:
    """One of each case the digest must get right."""
    return [
        # Timed, in the digest's zone, three sources ("+2 more"), an event link, five
        # anchors (four shown) and a plain link (not listed).
        event(
            "ev-release",
            title="Release v2.3 to production",
            category=EventCategory.RELEASE,
            start=datetime(2026, 3, 9, 10, 0, tzinfo=BERLIN),
            end=datetime(2026, 3, 9, 11, 0, tzinfo=BERLIN),
            timezone="Europe/Berlin",
            url="https://deploy.example.com/releases/2.3?env=prod&notify=1",
            links=RELEASE_LINKS,
            summary="Rolling deploy; expect short API latency spikes.",
            sources=[
                ref("C_REL", "1772900000.000100"),
                ref("C_REL", "1772900100.000200"),
                ref("C_OPS", "1772990000.000300"),
            ],
        ),
        # Timed in New York on the day after the DST switch: shows both clocks. A
        # meeting to join, and a location of its own.
        event(
            "ev-sync",
            title="Platform sync with the NYC team",
            category=EventCategory.MEETING,
            start=datetime(2026, 3, 10, 9, 0, tzinfo=NEW_YORK),
            end=datetime(2026, 3, 10, 10, 0, tzinfo=NEW_YORK),
            timezone="America/New_York",
            location="Zoom",
            links=[SYNC_ZOOM],
        ),
        # All-day, one day.
        event(
            "ev-deadline",
            title="Q1 planning doc deadline",
            category=EventCategory.DEADLINE,
            start=date(2026, 3, 11),
        ),
        # All-day over three days, tentative.
        event(
            "ev-conf",
            title="KubeCon EU",
            category=EventCategory.CONFERENCE,
            start=date(2026, 3, 12),
            end=date(2026, 3, 14),
            location="Amsterdam RAI",
            status=EventStatus.TENTATIVE,
        ),
        # Timed over midnight, already running when the digest is built. A meeting and
        # no location (the meeting is where it happens), a ticket without a link.
        event(
            "ev-migration",
            title="Database migration window",
            category=EventCategory.MAINTENANCE,
            start=datetime(2026, 3, 8, 22, 0, tzinfo=BERLIN),
            end=datetime(2026, 3, 9, 9, 0, tzinfo=BERLIN),
            timezone="Europe/Berlin",
            sources=[ref("C_OPS", "1772990000.000300")],
            links=MIGRATION_LINKS,
        ),
        # In India; no permalink for its source (shown as the channel name).
        event(
            "ev-offsite",
            title="Bangalore team offsite kickoff",
            category=EventCategory.ANNOUNCEMENT,
            start=datetime(2026, 3, 13, 10, 0, tzinfo=KOLKATA),
            end=datetime(2026, 3, 13, 12, 0, tzinfo=KOLKATA),
            timezone="Asia/Kolkata",
            sources=[ref("C_ENG", "1772999999.000900")],
        ),
        # Rescheduled since the last digest: old and new time.
        event(
            "ev-review",
            title="Incident review: checkout outage",
            category=EventCategory.INCIDENT,
            start=datetime(2026, 3, 12, 15, 0, tzinfo=BERLIN),
            end=datetime(2026, 3, 12, 16, 0, tzinfo=BERLIN),
            timezone="Europe/Berlin",
            status=EventStatus.RESCHEDULED,
            sequence=1,
            sources=[ref("C_OPS", "1772990000.000300"), ref("C_OPS", "1772995000.000400")],
            history=[
                EventChange(
                    changed_at=datetime(2026, 3, 8, 18, 0, tzinfo=UTC),
                    status=EventStatus.SCHEDULED,
                    start=datetime(2026, 3, 10, 14, 0, tzinfo=BERLIN),
                    end=datetime(2026, 3, 10, 15, 0, tzinfo=BERLIN),
                    source=ref("C_OPS", "1772995000.000400"),
                )
            ],
            updated_at=datetime(2026, 3, 8, 18, 0, tzinfo=UTC),
        ),
        # Cancelled since the last digest: not in Coming up, listed as Changed.
        event(
            "ev-maint",
            title="Network maintenance",
            category=EventCategory.MAINTENANCE,
            start=datetime(2026, 3, 10, 22, 0, tzinfo=BERLIN),
            end=datetime(2026, 3, 11, 2, 0, tzinfo=BERLIN),
            timezone="Europe/Berlin",
            status=EventStatus.CANCELLED,
            sequence=1,
            sources=[ref("C_ENG", "1772800000.000500"), ref("C_ENG", "1772996000.000600")],
            history=[
                EventChange(
                    changed_at=datetime(2026, 3, 8, 20, 30, tzinfo=UTC),
                    status=EventStatus.SCHEDULED,
                    start=datetime(2026, 3, 10, 22, 0, tzinfo=BERLIN),
                    end=datetime(2026, 3, 11, 2, 0, tzinfo=BERLIN),
                    source=ref("C_ENG", "1772996000.000600"),
                )
            ],
        ),
        # First seen since the last digest, weeks away: New only.
        event(
            "ev-launch",
            title="Mobile app 5.0 launch",
            category=EventCategory.LAUNCH,
            start=date(2026, 4, 2),
            first_seen_at=datetime(2026, 3, 9, 6, 15, tzinfo=UTC),
            sources=[ref("C_ENG", "1773040000.000700")],
        ),
        # Changed long ago and starting after the window: not in the digest at all.
        event(
            "ev-later",
            title="Security training",
            category=EventCategory.MEETING,
            start=datetime(2026, 3, 25, 9, 0, tzinfo=UTC),
            history=[
                EventChange(
                    changed_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                    status=EventStatus.SCHEDULED,
                    start=datetime(2026, 3, 24, 9, 0, tzinfo=UTC),
                )
            ],
        ),
        # Ended before the digest's day: not shown.
        event(
            "ev-past",
            title="Last week's retro",
            category=EventCategory.MEETING,
            start=datetime(2026, 3, 6, 15, 0, tzinfo=UTC),
        ),
    ]


def golden_content() -> DigestContent:
    return build_digest(
        DAY,
        golden_events(),
        timezone="Europe/Berlin",
        lookahead_days=7,
        previous_digest_at=PREVIOUS,
        permalinks=PERMALINKS,
        channel_names=CHANNEL_NAMES,
        llm_cost_usd=0.0421,
        now=NOW,
    )


def build(events: list[Event], **overrides: Any) -> DigestContent:
    arguments: dict[str, Any] = {
        "timezone": "Europe/Berlin",
        "lookahead_days": 7,
        "previous_digest_at": PREVIOUS,
        "permalinks": PERMALINKS,
        "channel_names": CHANNEL_NAMES,
        "llm_cost_usd": None,
        "now": NOW,
    }
    arguments.update(overrides)
    return build_digest(DAY, events, **arguments)


def assert_golden(name: str, actual: str | bytes) -> None:
    """Compare with ``golden/<name>`` byte for byte (or rewrite it when asked to)."""
    path = GOLDEN_DIR / name
    data = actual.encode("utf-8") if isinstance(actual, str) else actual
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    assert path.exists(), f"{path} is missing; run with SLACK_EVENTS_UPDATE_GOLDEN=1 to create it"
    expected = path.read_bytes()
    if isinstance(actual, str):
        assert actual == expected.decode("utf-8"), f"{name} differs from its golden file"
    else:
        assert actual == expected, f"{name} differs from its golden file"


def assert_within_slack_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= SLACK_MAX_BLOCKS
    json.dumps(blocks)  # serialisable as Slack will receive it
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= SLACK_MAX_HEADER_CHARS
        elif block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= SLACK_MAX_SECTION_CHARS
        elif block["type"] == "context":
            assert all(len(element["text"]) <= 2000 for element in block["elements"])


def shown_and_omitted(text: str) -> tuple[int, int]:
    shown = len(re.findall(r"^• ", text, flags=re.MULTILINE))
    omitted = sum(int(n) for n in re.findall(r"… and (\d+) more events?", text))
    return shown, omitted


def ics(events: list[Event], **overrides: Any) -> bytes:
    arguments: dict[str, Any] = {"calendar_name": "Acme events", "permalinks": PERMALINKS}
    arguments.update(overrides)
    return build_calendar(events, **arguments)
