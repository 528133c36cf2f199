"""The lines and sections every rendering of a digest shares, in any output syntax.

A :class:`Syntax` says how one output language escapes, bolds, strikes and links;
:func:`sections_of` lays out Coming up, Changed and New as lines in it. Markdown
(:mod:`.markdown`) and Slack mrkdwn (``slack/blocks.py``) are the two syntaxes.
Message-derived text is escaped by the syntax and capped, measured after escaping, so
one item line always fits a Slack section with room to spare however hostile the input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from slack_events_dagster.domain.digest.build import PAGE_LABELS
from slack_events_dagster.domain.digest.content import (
    DigestAnchor,
    DigestChange,
    DigestContent,
    DigestItem,
    DigestLink,
)
from slack_events_dagster.domain.digest.when import short_day
from slack_events_dagster.domain.models import EventStatus

# Caps on message-derived text, measured after escaping.
_TITLE_CHARS = 400
_LOCATION_CHARS = 200
_SUMMARY_CHARS = 400
CHANNEL_CHARS = 80
# The characters anchors may take on a line after escaping (four long meeting or
# ticket links would otherwise crowd the line out of its section).
_ANCHORS_CHARS = 700


def clip_escaped(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """``escape(text)`` cut to at most ``limit`` characters without splitting an entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    pieces: list[str] = []
    used = 0
    for char in text:
        piece = escape(char)
        if used + len(piece) + 1 > limit:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces) + "…"


@dataclass(frozen=True)
class Line:
    text: str
    # How many events this line shows (0 for headings), to say how many were left out.
    events: int = 0
    # A day heading: bold in Slack, a Markdown heading of its own.
    heading: str | None = None


class Syntax:
    """Inline formatting of one output language."""

    name: str = ""

    def esc(self, text: str) -> str:
        raise NotImplementedError

    def bold(self, text: str) -> str:
        raise NotImplementedError

    def strike(self, text: str) -> str:
        raise NotImplementedError

    def link(self, link: DigestLink) -> str:
        raise NotImplementedError

    def clip(self, text: str, limit: int) -> str:
        return clip_escaped(text, limit, self.esc)


def _status_tag(status: EventStatus) -> str:
    if status == EventStatus.TENTATIVE:
        return " (tentative)"
    if status == EventStatus.RESCHEDULED:
        return " (rescheduled)"
    if status == EventStatus.CANCELLED:
        return " (cancelled)"
    return ""


def _item_tail(item: DigestItem, syntax: Syntax) -> str:
    """Location, event link, anchors and source link, joined by middle dots."""
    parts: list[str] = []
    if item.location:
        parts.append("📍 " + syntax.clip(item.location, _LOCATION_CHARS))
    if item.link is not None:
        parts.append("🔗 " + syntax.link(item.link))
    parts.extend(_anchor_texts(item.anchors, syntax))
    source = ""
    if item.source is not None:
        source = syntax.link(item.source)
    elif item.source_label:
        source = syntax.clip(item.source_label, CHANNEL_CHARS)
    if source and item.more_sources:
        source += f" +{item.more_sources} more"
    if source:
        parts.append(source)
    return "".join(f" · {part}" for part in parts)


def _anchor_texts(anchors: Sequence[DigestAnchor], syntax: Syntax) -> list[str]:
    """Each anchor linked while the line has room; past it a ticket or tag by name only."""
    texts: list[str] = []
    room = _ANCHORS_CHARS
    for anchor in anchors:
        name = syntax.clip(anchor.label, CHANNEL_CHARS)
        text = syntax.link(DigestLink(url=anchor.url, label=anchor.label)) if anchor.url else name
        if len(text) > room:
            text = name
        if text == name and (anchor.kind.is_meeting or anchor.kind in PAGE_LABELS):
            continue  # "Join" or "doc" without its link says nothing
        text = f"📹 {text}" if anchor.kind.is_meeting else text
        if len(text) > room:
            break
        texts.append(text)
        room -= len(text)
    return texts


def _summary_line(item: DigestItem, syntax: Syntax) -> str:
    if not item.summary:
        return ""
    indent = "  " if syntax.name == "markdown" else "      "
    return f"\n{indent}" + syntax.clip(item.summary, _SUMMARY_CHARS)


def _when_text(item: DigestItem) -> str:
    return f"{item.when} ({item.local_when})" if item.local_when else item.when


def _upcoming_line(item: DigestItem, syntax: Syntax) -> Line:
    title = syntax.bold(syntax.clip(item.title, _TITLE_CHARS))
    text = (
        f"• `{_when_text(item)}` {item.emoji} {title}{_status_tag(item.status)}"
        f"{_item_tail(item, syntax)}{_summary_line(item, syntax)}"
    )
    return Line(text, 1)


def _new_line(item: DigestItem, syntax: Syntax) -> Line:
    title = syntax.bold(syntax.clip(item.title, _TITLE_CHARS))
    text = (
        f"• {item.emoji} {title}{_status_tag(item.status)} · {_when_text(item)}"
        f"{_item_tail(item, syntax)}{_summary_line(item, syntax)}"
    )
    return Line(text, 1)


def _change_line(change: DigestChange, syntax: Syntax) -> Line:
    item = change.item
    title = syntax.bold(syntax.clip(item.title, _TITLE_CHARS))
    if change.kind == "cancelled":
        what = f"❌ {title} cancelled · was {syntax.strike(change.old_when)}"
    elif change.kind == "rescheduled":
        what = f"🔁 {title} moved · {syntax.strike(change.old_when)} → {change.new_when}"
    else:
        what = (
            f"✏️ {title} now {item.status.value} (was {change.old_status.value}) · {change.new_when}"
        )
    return Line(f"• {what}{_item_tail(item, syntax)}", 1)


@dataclass(frozen=True)
class Section:
    heading: str
    lines: list[Line]


def sections_of(content: DigestContent, syntax: Syntax) -> list[Section]:
    coming: list[Line] = []
    for group in content.coming_up:
        coming.append(Line(syntax.bold(group.label), heading=group.label))
        coming.extend(_upcoming_line(item, syntax) for item in group.items)
    if not coming:
        coming.append(Line(f"No events in the next {_days(content.lookahead_days)}."))
    sections = [Section(f"📆 Coming up · next {_days(content.lookahead_days)}", coming)]
    if content.changed:
        since = content.changes_since.astimezone(ZoneInfo(content.timezone))
        sections.append(
            Section(
                f"🔁 Changed since {short_day(since.date())} {since:%H:%M}",
                [_change_line(change, syntax) for change in content.changed],
            )
        )
    if content.new:
        sections.append(Section("🆕 New", [_new_line(item, syntax) for item in content.new]))
    return sections


def _days(count: int) -> str:
    return "day" if count == 1 else f"{count} days"


def subtitle(content: DigestContent) -> str:
    return f"Times in {content.timezone}."


def footer(content: DigestContent) -> str:
    parts = [
        f"{content.upcoming_count} upcoming",
        f"{len(content.changed)} changed",
        f"{content.cancelled_count} cancelled",
        f"{len(content.new)} new",
    ]
    if content.llm_cost_usd is not None:
        parts.append(f"LLM cost today ${content.llm_cost_usd:.4f}")
    return " · ".join(parts)
