"""The daily digest: content, golden renderings and Slack limits (its anchors are in
test_digest_anchors.py, hostile input in test_digest_safety.py).

Golden files live in ``golden/``; run with ``SLACK_EVENTS_UPDATE_GOLDEN=1`` to
rewrite them after an intended change, then review the diff.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from slack_events_dagster.domain.digest import (
    DigestContent,
    build_digest,
    digest_content_hash,
    render_markdown,
)
from slack_events_dagster.domain.models import Event, EventCategory, EventChange, EventStatus
from slack_events_dagster.slack.blocks import (
    SLACK_MAX_TEXT_CHARS,
    render_slack_blocks,
    render_slack_text,
)
from slack_events_dagster_tests.helpers.digest_events import (
    BERLIN,
    CHANNEL_NAMES,
    DAY,
    KOLKATA,
    NOW,
    PERMALINKS,
    PREVIOUS,
    assert_golden,
    assert_within_slack_limits,
    build,
    event,
    golden_content,
    golden_events,
    ref,
    shown_and_omitted,
)

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
