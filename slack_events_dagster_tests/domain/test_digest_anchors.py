"""The digest's anchors: a meeting to join, tickets by key, tags and pages, shown once,
in order, escaped, within Slack's limits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_events_dagster.domain.digest import (
    DigestContent,
    render_markdown,
)
from slack_events_dagster.domain.models import EventChange, EventStatus, LinkKind
from slack_events_dagster.domain.safety import find_unsafe_mentions
from slack_events_dagster.slack.blocks import render_slack_blocks, render_slack_text
from slack_events_dagster_tests.helpers.digest_events import (
    MIGRATION_LINKS,
    NOW,
    RELEASE_LINKS,
    SYNC_ZOOM,
    assert_within_slack_limits,
    build,
    event,
    golden_content,
    link,
    ref,
    shown_and_omitted,
)

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
