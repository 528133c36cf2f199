"""The digest under hostile input: titles, summaries and URLs that try to ping, inject
links or break the formatting are shown, never triggered, in Slack and Markdown."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slack_events_dagster.domain.digest import (
    DigestContent,
    render_markdown,
)
from slack_events_dagster.domain.models import Event
from slack_events_dagster.domain.safety import find_unsafe_mentions
from slack_events_dagster.slack.blocks import render_slack_blocks, render_slack_text
from slack_events_dagster_tests.helpers.digest_events import (
    assert_within_slack_limits,
    build,
    event,
    ref,
)
from slack_events_dagster_tests.helpers.hostile_text import HOSTILE_TEXTS, UNSAFE_URLS

# --------------------------------------------------------------------------- safety


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
