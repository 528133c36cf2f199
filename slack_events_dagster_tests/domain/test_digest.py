"""The daily digest: content, golden renderings, Slack limits and hostile input.

Golden files live in ``golden/``; run with ``SLACK_EVENTS_UPDATE_GOLDEN=1`` to
rewrite them after an intended change, then review the diff.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slack_events_dagster.domain.digest import (
    SLACK_MAX_BLOCKS,
    SLACK_MAX_HEADER_CHARS,
    SLACK_MAX_SECTION_CHARS,
    SLACK_MAX_TEXT_CHARS,
    DigestContent,
    build_digest,
    digest_content_hash,
    escape_markdown,
    escape_slack,
    find_unsafe_mentions,
    render_markdown,
    render_slack_blocks,
    render_slack_text,
    safe_url,
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

GOLDEN_DIR = Path(__file__).parent / "golden"
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


# --------------------------------------------------------------------------- golden


def _blocks_json(content: DigestContent) -> str:
    return json.dumps(render_slack_blocks(content), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(
    ("name", "render"),
    [
        ("digest.md", render_markdown),
        ("digest_slack.txt", lambda content: render_slack_text(content) + "\n"),
        ("digest_blocks.json", _blocks_json),
    ],
)
def test_renderings_match_golden_files(name: str, render: Callable[[DigestContent], str]) -> None:
    assert_golden(name, render(golden_content()))


def test_same_input_renders_identically_in_any_event_order() -> None:
    forward = golden_content()
    backward = build_digest(
        DAY,
        list(reversed(golden_events())),
        timezone="Europe/Berlin",
        lookahead_days=7,
        previous_digest_at=PREVIOUS,
        permalinks=PERMALINKS,
        channel_names=CHANNEL_NAMES,
        llm_cost_usd=0.0421,
        now=NOW,
    )
    assert render_markdown(forward) == render_markdown(backward)
    assert render_slack_blocks(forward) == render_slack_blocks(backward)
    assert digest_content_hash(forward) == digest_content_hash(backward)


# --------------------------------------------------------------------------- content


def test_coming_up_groups_by_day_in_the_digest_time_zone() -> None:
    content = golden_content()
    days = {group.day: [item.event_id for item in group.items] for group in content.coming_up}
    assert days == {
        # The migration started yesterday and is still running: shown today.
        date(2026, 3, 9): ["ev-migration", "ev-release"],
        date(2026, 3, 10): ["ev-sync"],
        date(2026, 3, 11): ["ev-deadline"],
        date(2026, 3, 12): ["ev-conf", "ev-review"],
        # 10:00 in Kolkata is 05:30 in Berlin, same day.
        date(2026, 3, 13): ["ev-offsite"],
    }
    assert content.coming_up[0].label == "Today · Monday 9 March"
    assert content.coming_up[1].label == "Tomorrow · Tuesday 10 March"


def test_times_all_day_multi_day_and_other_zones_are_worded() -> None:
    items = {item.event_id: item for group in golden_content().coming_up for item in group.items}
    assert items["ev-release"].when == "10:00\u201311:00"
    assert items["ev-release"].local_when is None
    # New York switched to EDT on 8 March, Berlin is still on CET: 5 hours apart.
    assert items["ev-sync"].when == "14:00\u201315:00"
    assert items["ev-sync"].local_when == "09:00 EDT"
    assert items["ev-deadline"].when == "all day"
    assert items["ev-conf"].when == "Thu 12 Mar \u2013 Sat 14 Mar, all day"
    assert items["ev-migration"].when == "Sun 8 Mar 22:00 → Mon 9 Mar 09:00"
    assert items["ev-offsite"].local_when == "10:00 IST"


def test_events_from_other_zones_sort_by_instant_within_the_digest_day() -> None:
    # 01:00 on the 13th in Kolkata is 20:30 on the 12th in Berlin: before 21:00 Berlin.
    india = event(
        "ev-india",
        title="A",
        start=datetime(2026, 3, 13, 1, 0, tzinfo=KOLKATA),
        timezone="Asia/Kolkata",
    )
    berlin = event(
        "ev-berlin",
        title="B",
        start=datetime(2026, 3, 12, 21, 0, tzinfo=BERLIN),
        timezone="Europe/Berlin",
    )
    all_day = event("ev-all-day", title="C", start=date(2026, 3, 12))
    (group,) = build([berlin, india, all_day]).coming_up
    assert group.day == date(2026, 3, 12)
    assert [item.event_id for item in group.items] == ["ev-all-day", "ev-india", "ev-berlin"]
    assert group.items[1].when == "20:30"
    assert group.items[1].local_when == "Fri 13 Mar 01:00 IST"


def test_several_sources_link_the_first_permalink_and_count_the_rest() -> None:
    items = {item.event_id: item for group in golden_content().coming_up for item in group.items}
    release = items["ev-release"]
    assert release.source is not None
    assert release.source.url == PERMALINKS[("C_REL", "1772900000.000100")]
    assert release.source.label == "#releases"
    assert release.more_sources == 2
    assert "+2 more" in render_slack_text(golden_content())
    # No permalink known: the channel name, not a link.
    assert items["ev-offsite"].source is None
    assert items["ev-offsite"].source_label == "#engineering"


def test_changed_lists_reschedules_and_cancellations_with_old_and_new_time() -> None:
    content = golden_content()
    changes = {change.item.event_id: change for change in content.changed}
    assert set(changes) == {"ev-review", "ev-maint"}
    review = changes["ev-review"]
    assert review.kind == "rescheduled"
    assert review.old_when == "Tue 10 Mar 14:00\u201315:00"
    assert review.new_when == "Thu 12 Mar 15:00\u201316:00"
    # The link points at the message that moved it, not the original announcement.
    assert review.item.source is not None
    assert review.item.source.url == PERMALINKS[("C_OPS", "1772995000.000400")]
    maint = changes["ev-maint"]
    assert maint.kind == "cancelled"
    assert maint.old_when == "Tue 10 Mar 22:00 → Wed 11 Mar 02:00"
    assert all(item.event_id != "ev-maint" for g in content.coming_up for item in g.items)
    text = render_slack_text(content)
    assert "~Tue 10 Mar 14:00\u201315:00~ → Thu 12 Mar 15:00\u201316:00" in text
    markdown = render_markdown(content)
    assert "~~Tue 10 Mar 14:00\u201315:00~~ → Thu 12 Mar 15:00\u201316:00" in markdown
    assert "**Network maintenance** cancelled" in markdown


def test_new_lists_events_first_seen_since_the_previous_digest() -> None:
    content = golden_content()
    assert [item.event_id for item in content.new] == ["ev-launch"]
    assert content.new[0].when == "Thu 2 Apr, all day"


def test_a_change_to_an_event_first_seen_in_the_same_window_is_only_new() -> None:
    fresh = event(
        "ev-fresh",
        title="Brand new and already moved",
        start=datetime(2026, 3, 11, 9, tzinfo=UTC),
        first_seen_at=datetime(2026, 3, 8, 12, tzinfo=UTC),
        history=[
            EventChange(
                changed_at=datetime(2026, 3, 8, 13, tzinfo=UTC),
                status=EventStatus.SCHEDULED,
                start=datetime(2026, 3, 10, 9, tzinfo=UTC),
            )
        ],
        status=EventStatus.RESCHEDULED,
    )
    content = build([fresh])
    assert [item.event_id for item in content.new] == ["ev-fresh"]
    assert content.changed == []


def test_old_time_is_the_one_readers_saw_when_moved_twice() -> None:
    moved_twice = event(
        "ev-twice",
        title="Moved twice",
        start=datetime(2026, 3, 13, 9, tzinfo=UTC),
        status=EventStatus.RESCHEDULED,
        history=[
            EventChange(
                changed_at=datetime(2026, 3, 8, 9, tzinfo=UTC),
                status=EventStatus.SCHEDULED,
                start=datetime(2026, 3, 11, 9, tzinfo=UTC),
            ),
            EventChange(
                changed_at=datetime(2026, 3, 8, 19, tzinfo=UTC),
                status=EventStatus.RESCHEDULED,
                start=datetime(2026, 3, 12, 9, tzinfo=UTC),
            ),
        ],
    )
    (change,) = build([moved_twice], timezone="UTC").changed
    assert change.old_when == "Wed 11 Mar 09:00"
    assert change.new_when == "Fri 13 Mar 09:00"


def test_without_a_previous_digest_the_window_is_the_last_24_hours() -> None:
    content = build(golden_events(), previous_digest_at=None)
    assert content.changes_since == NOW - timedelta(days=1)
    assert {change.item.event_id for change in content.changed} == {"ev-review", "ev-maint"}


def test_footer_counts_and_llm_cost_only_when_given() -> None:
    markdown = render_markdown(golden_content())
    assert "7 upcoming · 2 changed · 1 cancelled · 1 new · LLM cost today $0.0421" in markdown
    without_llm = render_markdown(build(golden_events()))
    assert "LLM cost" not in without_llm


def test_an_empty_day_still_renders() -> None:
    content = build([])
    assert content.event_count == 0
    assert "No events in the next 7 days." in render_markdown(content)
    blocks = render_slack_blocks(content)
    assert blocks[0]["type"] == "header"
    assert "No events" in render_slack_text(content)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build([], now=datetime(2026, 3, 9, 7))


def test_content_hash_changes_with_content_but_not_with_llm_cost() -> None:
    base = golden_content()
    assert digest_content_hash(base) == digest_content_hash(golden_content())
    assert re.fullmatch(r"[0-9a-f]{64}", digest_content_hash(base))
    cheaper = base.model_copy(update={"llm_cost_usd": 0.01})
    assert digest_content_hash(cheaper) == digest_content_hash(base)
    fewer = build(golden_events()[1:], llm_cost_usd=0.0421)
    assert digest_content_hash(fewer) != digest_content_hash(base)


# --------------------------------------------------------------------------- Slack limits


def many_events(count: int, *, days: int = 7, changed: bool = False) -> list[Event]:
    events = []
    for index in range(count):
        start = datetime(2026, 3, 9, 6, tzinfo=UTC) + timedelta(
            days=index % days, minutes=(7 * index) % 600
        )
        history = []
        if changed:
            history = [
                EventChange(
                    changed_at=datetime(2026, 3, 8, 12, tzinfo=UTC),
                    status=EventStatus.SCHEDULED,
                    start=start - timedelta(days=1),
                    source=ref("C_OPS", "1772995000.000400"),
                )
            ]
        events.append(
            event(
                f"ev-{index:04d}",
                title=f"Event number {index} with a reasonably long descriptive title & more",
                category=list(EventCategory)[index % len(EventCategory)],
                start=start,
                end=start + timedelta(hours=1),
                location=f"Room {index % 17}, building <{index % 3}>",
                summary="A summary that goes on for a while to make the lines realistic. " * 3,
                url=f"https://example.com/events/{index}?a=1&b=2",
                sources=[ref("C_REL", "1772900000.000100"), ref("C_OPS", "1772990000.000300")],
                history=history,
                status=EventStatus.RESCHEDULED if changed else EventStatus.SCHEDULED,
            )
        )
    return events


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


def test_200_events_are_split_into_blocks_within_slack_limits() -> None:
    content = build(many_events(200))
    assert content.upcoming_count == 200
    blocks = render_slack_blocks(content)
    assert_within_slack_limits(blocks)
    sections = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    shown, omitted = shown_and_omitted(sections)
    assert shown + omitted == 200
    assert shown > 100  # split over many sections, not cut short
    text = render_slack_text(content)
    assert len(text) <= SLACK_MAX_TEXT_CHARS
    shown, omitted = shown_and_omitted(text)
    assert shown + omitted == 200


def test_thousands_of_events_are_summarised_and_keep_changes_visible() -> None:
    upcoming = many_events(3000, days=7)
    moved = [
        e.model_copy(update={"event_id": f"moved-{e.event_id}"})
        for e in many_events(300, changed=True)
    ]
    content = build(upcoming + moved, lookahead_days=90)
    blocks = render_slack_blocks(content)
    assert_within_slack_limits(blocks)
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert any(text.startswith("*🔁 Changed") for text in texts)
    joined = "\n".join(texts)
    shown, omitted = shown_and_omitted(joined)
    assert shown + omitted == content.upcoming_count + len(content.changed)
    assert re.search(r"… and \d+ more events", joined)
    text = render_slack_text(content)
    assert len(text) <= SLACK_MAX_TEXT_CHARS
    assert "*🔁 Changed" in text
    shown, omitted = shown_and_omitted(text)
    assert shown + omitted == content.upcoming_count + len(content.changed)


def test_90_distinct_days_fit_the_block_budget() -> None:
    content = build(many_events(90, days=90), lookahead_days=90)
    assert len(content.coming_up) == 90
    assert_within_slack_limits(render_slack_blocks(content))


def test_longest_possible_fields_still_fit_a_section() -> None:
    ampersands = event(
        "ev-amp",
        title="&" * 300,
        start=datetime(2026, 3, 9, 12, tzinfo=UTC),
        location="<" * 5000,
        summary="&<>" * 5000,
        url="https://example.com/?" + "&" * 400,
        sources=[ref("C_REL", "1772900000.000100")],
    )
    blocks = render_slack_blocks(build([ampersands]))
    assert_within_slack_limits(blocks)
    assert "…" in json.dumps(blocks, ensure_ascii=False)  # clipped, not dropped


# --------------------------------------------------------------------------- anchors


def coming_up_items(content: DigestContent) -> dict[str, Any]:
    return {item.event_id: item for group in content.coming_up for item in group.items}


def test_anchors_show_a_meeting_to_join_tickets_by_key_tags_and_pages() -> None:
    items = coming_up_items(golden_content())
    # Four at most: the Google doc (the last page) is left out, plain links are never listed.
    assert [(a.kind, a.label, a.url) for a in items["ev-release"].anchors] == [
        (LinkKind.JIRA, "REL-23", "https://acme.atlassian.net/browse/REL-23"),
        (LinkKind.GITHUB_PULL, "acme/api#45", "https://github.com/acme/api/pull/45"),
        (
            LinkKind.GITHUB_RELEASE,
            "v2.3.0",
            "https://github.com/acme/api/releases/tag/v2.3.0",
        ),
        (
            LinkKind.CONFLUENCE,
            "Confluence",
            "https://acme.atlassian.net/wiki/spaces/ENG/pages/4242",
        ),
    ]
    migration = items["ev-migration"].anchors
    assert [(a.label, a.url) for a in migration] == [
        ("Join", MIGRATION_LINKS[0].url),
        ("DB-12", None),
    ]
    assert [(a.label, a.url) for a in items["ev-sync"].anchors] == [("Join", SYNC_ZOOM.url)]
    markdown = render_markdown(golden_content())
    assert f"📹 [Join]({SYNC_ZOOM.url})" in markdown
    assert "[REL\\-23](https://acme.atlassian.net/browse/REL-23)" in markdown
    assert " · DB\\-12 · " in markdown
    assert "docs.google.com" not in markdown and "status.acme.com" not in markdown
    text = render_slack_text(golden_content())
    assert "📹 <https://acme.zoom.us/j/81234567890?pwd=x&amp;y=1|Join>" in text
    assert "<https://github.com/acme/api/releases/tag/v2.3.0|v2.3.0>" in text
    assert " · DB-12 · " in text
    blocks = render_slack_blocks(golden_content())
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert any("<https://github.com/acme/api/pull/45|acme/api#45>" in t for t in sections)


def test_anchor_pages_by_short_label_and_in_every_section() -> None:
    pages = [
        link(LinkKind.NOTION, "0" * 32, "https://acme.notion.site/" + "0" * 32),
        link(LinkKind.CONFLUENCE, "77", "https://acme.atlassian.net/wiki/x/77"),
        link(LinkKind.GITLAB_MERGE_REQUEST, "infra/db!12"),
        link(LinkKind.GITLAB_RELEASE, "infra/db@v9", "https://gitlab.com/infra/db/-/tags/v9"),
    ]
    moved = event(
        "ev-moved",
        title="Cutover",
        start=datetime(2026, 3, 12, 9, tzinfo=UTC),
        status=EventStatus.RESCHEDULED,
        links=pages,
        history=[
            EventChange(
                changed_at=datetime(2026, 3, 8, 18, tzinfo=UTC),
                status=EventStatus.SCHEDULED,
                start=datetime(2026, 3, 11, 9, tzinfo=UTC),
            )
        ],
    )
    fresh = moved.model_copy(
        update={
            "event_id": "ev-fresh",
            "history": [],
            "status": EventStatus.SCHEDULED,
            "first_seen_at": datetime(2026, 3, 9, 1, tzinfo=UTC),
        }
    )
    content = build([moved, fresh])
    labels = ["infra/db!12", "v9", "Confluence", "Notion"]
    assert [a.label for a in coming_up_items(content)["ev-moved"].anchors] == labels
    assert [a.label for a in content.changed[0].item.anchors] == labels
    assert [a.label for a in content.new[0].anchors] == labels
    markdown = render_markdown(content)
    assert markdown.count("[Notion](https://acme.notion.site/") == 4
    assert markdown.count(" · infra/db\\!12 · ") == 4


def test_an_event_link_that_is_its_meeting_is_shown_once_as_join() -> None:
    zoom = link(LinkKind.ZOOM, "1", "https://acme.zoom.us/j/1")
    (item,) = coming_up_items(
        build(
            [
                event(
                    "ev-z", title="Sync", start=NOW + timedelta(hours=2), url=zoom.url, links=[zoom]
                )
            ]
        )
    ).values()
    assert item.link is None and [a.label for a in item.anchors] == ["Join"]


def test_anchors_are_shown_in_their_order_whatever_the_event_lists() -> None:
    links = [MIGRATION_LINKS[1], SYNC_ZOOM, *RELEASE_LINKS[::-1]]
    one = event("ev-a", title="A", start=NOW + timedelta(hours=1), links=links)
    other = one.model_copy(update={"links": links[::-1]})
    assert (
        coming_up_items(build([one]))["ev-a"].anchors
        == coming_up_items(build([other]))["ev-a"].anchors
    )
    assert [a.label for a in coming_up_items(build([one]))["ev-a"].anchors] == [
        "Join",
        "DB-12",
        "REL-23",
        "acme/api#45",
    ]


def test_hostile_anchor_keys_and_urls_are_shown_not_triggered() -> None:
    hostile = event(
        "ev-anchors",
        title="Deploy",
        start=NOW + timedelta(hours=3),
        first_seen_at=datetime(2026, 3, 9, 1, tzinfo=UTC),
        sources=[ref("C_REL", "1772900000.000100")],
        links=[
            link(LinkKind.ZOOM, "1", "javascript:alert(1)"),
            link(LinkKind.JIRA, "<!channel> OPS-1", "javascript:alert(2)"),
            link(LinkKind.GITHUB_PULL, "*bold* <@U1> @here", "https://x.example/a|<!here>"),
            link(LinkKind.GITHUB_RELEASE, "a/b@<!everyone>_[x](y)"),
            link(LinkKind.NOTION, "0" * 32, "data:text/html,<script>"),
        ],
    )
    content = build([hostile])
    labels = [a.label for a in coming_up_items(content)["ev-anchors"].anchors]
    # A meeting or a page without a safe URL is not shown; a ticket is, by its name.
    assert labels == ["<!channel> OPS-1", "*bold* <@U1> @here", "<!everyone>_[x](y)"]
    blocks, text, markdown = (
        render_slack_blocks(content),
        render_slack_text(content),
        render_markdown(content),
    )
    assert find_unsafe_mentions(blocks) == [] and find_unsafe_mentions(text) == []
    for rendered in (text, markdown, json.dumps(blocks)):
        assert "javascript:" not in rendered and "data:text" not in rendered
    assert "&lt;!channel&gt; OPS-1" in text and "&lt;!everyone&gt;" in text
    assert "<https://x.example/a%7C%3C!here%3E|*bold* &lt;@U1&gt; @\u2060here>" in text
    # Every "<" in Slack output opens an http(s) link.
    assert text.count("<") == len(re.findall(r"<https://[^|>]*\|", text))
    assert "<" not in markdown
    assert "\\*bold\\* &lt;@U1&gt; @here" in markdown
    assert "&lt;\\!everyone&gt;\\_\\[x\\]\\(y\\)" in markdown
    assert all(t.startswith("https://") for t in re.findall(r"\]\(([^)]*)\)", markdown))


def test_long_anchor_links_still_fit_a_section() -> None:
    ampersands = "https://example.com/?" + "&" * 400
    crowded = event(
        "ev-crowded",
        title="&" * 300,
        start=NOW + timedelta(hours=3),
        location="<" * 5000,
        summary="&<>" * 5000,
        url="https://example.com/" + "a" * 470,
        sources=[ref("C_REL", "1772900000.000100")],
        links=[
            link(LinkKind.TEAMS, "t", "https://teams.live.com/meet/" + "9" * 450),
            link(LinkKind.JIRA, "&" * 300, ampersands),
            link(LinkKind.GITHUB_PULL, "<" * 300, "https://github.com/a/b/pull/1?" + "x" * 450),
            link(LinkKind.GITLAB_ISSUE, ">" * 300, "https://gitlab.com/a/-/issues/1?" + "y" * 450),
            link(LinkKind.GOOGLE_DOC, "d", "https://docs.google.com/document/d/" + "z" * 450),
        ],
    )
    content = build([crowded])
    blocks = render_slack_blocks(content)
    assert_within_slack_limits(blocks)
    (line,) = [
        t
        for b in blocks
        if b["type"] == "section"
        for t in b["text"]["text"].splitlines()
        if "•" in t
    ]
    assert "📹 <https://teams.live.com/meet/" in line
    # Past the anchors' room, a ticket is named without its link.
    assert "&amp;" * 3 in line and ampersands.replace("&", "&amp;") not in line
    assert shown_and_omitted(render_slack_text(content)) == (1, 0)


# --------------------------------------------------------------------------- safety

HOSTILE_TEXTS = [
    "<!channel> deploy now",
    "<!here>",
    "<!everyone> party",
    "<!subteam^S1|team> review",
    "ping <@U123> and <@W456|bob>",
    "<!channel|channel> legacy",
    "@here plain ping",
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "<javascript:alert(1)|click me>",
    "<https://evil.example.com|totally safe>",
    "![img](https://evil.example.com/x.png)",
]

UNSAFE_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "slack://channel?id=C1",
    "vbscript:msgbox(1)",
    "//evil.example.com/no-scheme",
    "evil.example.com",
    "https://",
    "https://exa mple.com",
]


def hostile_events() -> list[Event]:
    events = []
    for index, text in enumerate(HOSTILE_TEXTS):
        events.append(
            event(
                f"ev-hostile-{index}",
                title=f"Title {text}",
                start=datetime(2026, 3, 10, 9, tzinfo=UTC),
                location=text,
                summary=f"Summary {text}",
                url=UNSAFE_URLS[index % len(UNSAFE_URLS)],
                first_seen_at=datetime(2026, 3, 9, 1, tzinfo=UTC),
                sources=[ref("C_EVIL", f"1773000000.{index:06d}")],
            )
        )
    return events


def hostile_content() -> DigestContent:
    return build(
        hostile_events(),
        permalinks={
            ("C_EVIL", "1773000000.000000"): "javascript:alert(document.cookie)",
            ("C_EVIL", "1773000000.000001"): "https://acme.slack.com/archives/C_EVIL/p1|<!channel>",
        },
        channel_names={"C_EVIL": "<!here>evil"},
    )


def test_find_unsafe_mentions_finds_pings_in_raw_text() -> None:
    found = find_unsafe_mentions(" ".join(HOSTILE_TEXTS))
    assert "<!channel>" in found
    assert "<!here>" in found
    assert "<!everyone>" in found
    assert "<!subteam^S1|team>" in found
    assert "<@U123>" in found
    assert "<@W456|bob>" in found
    assert "@here" in found
    # Blocks are searched too.
    assert find_unsafe_mentions([{"type": "section", "text": {"text": "hi <!here>"}}]) == [
        "<!here>"
    ]
    assert find_unsafe_mentions("&lt;!channel&gt; and @\u2060here") == []


def test_hostile_titles_are_shown_not_triggered_in_slack() -> None:
    content = hostile_content()
    blocks = render_slack_blocks(content)
    text = render_slack_text(content)
    assert find_unsafe_mentions(blocks) == []
    assert find_unsafe_mentions(text) == []
    section_texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    for rendered in (text, *section_texts):
        assert "&lt;!channel&gt;" in rendered  # visible, escaped
        assert "<script>" not in rendered
        assert "javascript:alert(document.cookie)" not in rendered
        assert "data:text" not in rendered
        assert "slack://" not in rendered
        # Every "<" left opens one of our links, and the only safe URL is the permalink.
        links = re.findall(r"<([^|>]*)\|[^>]*>", rendered)
        assert links
        assert rendered.count("<") == len(links)
        assert all(
            link.startswith("https://acme.slack.com/archives/C_EVIL/p1%7C") for link in links
        )
    # "|" in a permalink is percent-encoded so it cannot smuggle a label.
    assert "%7C&lt;!channel&gt;" not in text
    assert "p1%7C%3C!channel%3E" in text


def test_hostile_titles_are_escaped_in_markdown() -> None:
    markdown = render_markdown(hostile_content())
    assert "<script>" not in markdown
    assert "&lt;script&gt;" in markdown
    assert "](javascript:" not in markdown
    assert "\\[x\\]\\(javascript:alert\\(1\\)\\)" in markdown
    assert "](https://evil" not in markdown
    assert "javascript:alert(document.cookie)" not in markdown
    link_targets = re.findall(r"\]\(([^)]*)\)", markdown)
    assert link_targets
    assert all(target.startswith("https://acme.slack.com/") for target in link_targets)


@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_safe_url_drops_anything_but_http(url: str) -> None:
    assert safe_url(url) is None


def test_safe_url_keeps_http_and_encodes_link_syntax() -> None:
    assert safe_url("https://example.com/a?b=1&c=2") == "https://example.com/a?b=1&c=2"
    assert safe_url("HTTP://Example.com/x") == "HTTP://Example.com/x"
    assert safe_url("https://example.com/a|b>c)d") == "https://example.com/a%7Cb%3Ec%29d"
    assert safe_url("https://example.com/ü") == "https://example.com/%C3%BC"
    assert safe_url("https://example.com/" + "a" * 600) is None


def test_escapers() -> None:
    assert escape_slack("a & <b> <!here>") == "a &amp; &lt;b&gt; &lt;!here&gt;"
    assert escape_slack("@channel") == "@\u2060channel"
    assert escape_markdown("<b>[x](y)</b> *_`") == ("&lt;b&gt;\\[x\\]\\(y\\)&lt;/b&gt; \\*\\_\\`")


def _render_all(title: str, summary: str, location: str) -> tuple[list[dict[str, Any]], str, str]:
    content = build(
        [
            event(
                "ev-prop",
                title=title,
                start=datetime(2026, 3, 10, 9, tzinfo=UTC),
                summary=summary,
                location=location,
                first_seen_at=datetime(2026, 3, 9, 1, tzinfo=UTC),
                sources=[ref("C_REL", "1772900000.000100")],
            )
        ]
    )
    return render_slack_blocks(content), render_slack_text(content), render_markdown(content)


_mention_pieces = st.sampled_from(
    ["<!channel>", "<!here>", "<!everyone>", "<!subteam^S1|t>", "<@U1>", "@here", "<", ">", "&"]
)
_hostile_text = st.lists(st.one_of(st.text(max_size=20), _mention_pieces), max_size=12).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=_hostile_text.filter(lambda text: 1 <= len(text) <= 300), summary=st.text())
def test_any_text_renders_and_never_pings(title: str, summary: str) -> None:
    blocks, text, markdown = _render_all(title, summary, location=summary[:50])
    assert find_unsafe_mentions(blocks) == []
    assert find_unsafe_mentions(text) == []
    assert_within_slack_limits(blocks)
    # Slack: every "<" opens the one permalink; Markdown: no raw "<" at all, and the
    # only link target is the permalink.
    for rendered in (text, *[b["text"]["text"] for b in blocks if b["type"] == "section"]):
        assert rendered.count("<") == len(
            re.findall(r"<https://acme\.slack\.com/[^|>]*\|", rendered)
        )
    assert "<" not in markdown
    assert re.findall(r"\]\((?!https://acme\.slack\.com/)", markdown) == []
