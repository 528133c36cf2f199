"""The daily digest: which events to tell people about, and how to say it safely.

:func:`build_digest` decides the content once (a :class:`DigestContent`); three
renderers turn that one model into a Slack Block Kit message
(:func:`render_slack_blocks`), its mrkdwn notification fallback
(:func:`render_slack_text`) and Markdown for the Dagster UI and files
(:func:`render_markdown`).

Safety: titles, summaries and locations come from Slack messages, so anyone who
can post in a watched channel controls them. The content model keeps that text
raw; each renderer escapes it for its own target at the last moment. In Slack
output ``&``, ``<`` and ``>`` become entities (so ``<!channel>`` or ``<@U123>`` in
a title is shown, never triggered) and bare ``@here``-style words get an
invisible word joiner (a poster that sets ``link_names`` would otherwise ping).
The only links are source permalinks, event URLs and the event's anchors (a
meeting to join, tickets, release tags, pages), all with an http(s) scheme.
The rules (cleaning, escaping, safe URLs) are :mod:`~slack_events_dagster.domain.safety`'s.

Pure: standard library and pydantic only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

from slack_events_dagster.domain.anchors import link_order
from slack_events_dagster.domain.lexicon import CATEGORIES
from slack_events_dagster.domain.models import (
    Event,
    EventCategory,
    EventLink,
    EventStatus,
    LinkKind,
    SourceRef,
)
from slack_events_dagster.domain.safety import (
    MAX_URL_CHARS,
    clean_text,
    escape_markdown,
    escape_slack,
    safe_url,
)

__all__ = [
    "CATEGORY_EMOJI",
    "DigestAnchor",
    "DigestChange",
    "DigestContent",
    "DigestDay",
    "DigestItem",
    "DigestLink",
    "build_digest",
    "digest_content_hash",
    "render_markdown",
    "render_slack_blocks",
    "render_slack_text",
]

# Slack's documented limits (https://api.slack.com/reference/block-kit/blocks).
SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION_CHARS = 3000
SLACK_MAX_HEADER_CHARS = 150
SLACK_MAX_CONTEXT_CHARS = 2000
# chat.postMessage truncates ``text`` beyond 40,000 characters.
SLACK_MAX_TEXT_CHARS = 40_000

# Caps on message-derived text, measured after escaping, so that one item line
# always fits a section with room to spare however hostile the input.
_TITLE_CHARS = 400
_LOCATION_CHARS = 200
_SUMMARY_CHARS = 400
_CHANNEL_CHARS = 80
# The Changed and New sections stay visible however long "Coming up" gets.
_MAX_BLOCKS_PER_SIDE_SECTION = 8
# Anchors on one line, and the characters they may take there after escaping (four
# long meeting or ticket links would otherwise crowd the line out of its section).
_MAX_ANCHORS = 4
_ANCHORS_CHARS = 700
# A page is named by where it lives; other plain links are not listed (the event link is).
_PAGE_LABELS = {
    LinkKind.GOOGLE_DOC: "doc",
    LinkKind.CONFLUENCE: "Confluence",
    LinkKind.NOTION: "Notion",
}

CATEGORY_EMOJI: dict[EventCategory, str] = {spec.category: spec.emoji for spec in CATEGORIES}

# Typographic range dash, spelled as an escape so the source stays plain ASCII-looking.
_EN_DASH = "\u2013"

ChangeKind = Literal["rescheduled", "cancelled", "updated"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DigestLink(_Model):
    """A link whose URL already passed :func:`safe_url`; the label is raw text."""

    url: str
    label: str


class DigestAnchor(_Model):
    """A link that identifies the event: a meeting ("Join"), a ticket or pull request (its
    key), a release (its tag), a page ("doc"). The URL passed :func:`safe_url`; the label
    is raw text."""

    kind: LinkKind
    label: str
    url: str | None = None


class DigestItem(_Model):
    """One event as the digest shows it. Text fields are raw (escaped when rendered)."""

    event_id: str
    title: str
    category: EventCategory
    emoji: str
    status: EventStatus
    # Our own wording of the time: "09:00-10:00", "all day", "Mon 9 Mar - Wed 11 Mar".
    when: str
    # The same time in the event's own zone when that reads differently ("09:00 EST").
    local_when: str | None = None
    location: str | None = None
    summary: str | None = None
    link: DigestLink | None = None
    anchors: list[DigestAnchor] = []
    source: DigestLink | None = None
    # Label for the source when there is no permalink (the channel name, unlinked).
    source_label: str | None = None
    more_sources: int = 0


class DigestDay(_Model):
    day: date
    label: str
    items: list[DigestItem]


class DigestChange(_Model):
    kind: ChangeKind
    item: DigestItem
    old_when: str
    new_when: str
    old_status: EventStatus
    changed_at: datetime


class DigestContent(_Model):
    """Everything a digest says, decided once and rendered three ways."""

    day: date
    timezone: str
    lookahead_days: int
    title: str
    changes_since: datetime
    coming_up: list[DigestDay]
    changed: list[DigestChange]
    new: list[DigestItem]
    llm_cost_usd: float | None = None

    @property
    def upcoming_count(self) -> int:
        return sum(len(group.items) for group in self.coming_up)

    @property
    def cancelled_count(self) -> int:
        return sum(1 for change in self.changed if change.kind == "cancelled")

    @property
    def event_count(self) -> int:
        """Distinct events the digest mentions (an event can be in two sections)."""
        ids = {item.event_id for group in self.coming_up for item in group.items}
        ids.update(change.item.event_id for change in self.changed)
        ids.update(item.event_id for item in self.new)
        return len(ids)


# --------------------------------------------------------------------------- safety


def _clip(text: str, limit: int, escape: Callable[[str], str]) -> str:
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


# --------------------------------------------------------------------------- building


def build_digest(
    day: date,
    events: Sequence[Event],
    *,
    timezone: str,
    lookahead_days: int,
    previous_digest_at: datetime | None,
    permalinks: Mapping[tuple[str, str], str],
    channel_names: Mapping[str, str],
    llm_cost_usd: float | None,
    now: datetime,
) -> DigestContent:
    """Decide what the digest of ``day`` says.

    - Coming up: events that are not cancelled and overlap ``day`` and the
      ``lookahead_days - 1`` days after it (in ``timezone``), grouped by the day
      they start on (an event already running shows under ``day``).
    - Changed: events rescheduled, cancelled or otherwise changed after
      ``previous_digest_at`` (the 24 hours before ``now`` when there was none),
      old time from ``Event.history`` and new time from the event. Events first
      seen in that window are only listed as New: readers never saw the old time.
    - New: events first seen in that same window.

    ``now`` bounds the window (pass the end of the day when backfilling) and is
    never printed, so the same input always renders the same text.
    All-day events' ``end`` is the last day (inclusive).
    """
    if now.tzinfo is None or (previous_digest_at is not None and previous_digest_at.tzinfo is None):
        raise ValueError("build_digest needs timezone-aware now and previous_digest_at")
    if lookahead_days < 1:
        raise ValueError("lookahead_days must be at least 1")
    zone = ZoneInfo(timezone)
    since = previous_digest_at if previous_digest_at is not None else now - timedelta(days=1)
    fmt = _TimeFormatter(zone, timezone, day)
    links = _Linker(permalinks, channel_names)

    window_end = day + timedelta(days=lookahead_days - 1)
    groups: dict[date, list[tuple[tuple[Any, ...], DigestItem]]] = {}
    for event in events:
        if event.status == EventStatus.CANCELLED:
            continue
        first_day, last_day = fmt.local_days(event)
        if last_day < day or first_day > window_end:
            continue
        group_day = max(first_day, day)
        item = _item(event, fmt.when(event, with_date=False), fmt, links)
        groups.setdefault(group_day, []).append((_sort_key(event, fmt), item))
    coming_up = [
        DigestDay(
            day=group_day,
            label=fmt.day_label(group_day),
            items=[item for _, item in sorted(groups[group_day], key=lambda pair: pair[0])],
        )
        for group_day in sorted(groups)
    ]

    changed: list[tuple[tuple[Any, ...], DigestChange]] = []
    new: list[tuple[tuple[Any, ...], DigestItem]] = []
    for event in events:
        first_seen = event.first_seen_at
        if first_seen is not None and since < first_seen <= now:
            new.append(
                (_sort_key(event, fmt), _item(event, fmt.when(event, with_date=True), fmt, links))
            )
            continue
        change = _change(event, since, now, fmt, links)
        if change is not None:
            changed.append((_sort_key(event, fmt), change))

    return DigestContent(
        day=day,
        timezone=timezone,
        lookahead_days=lookahead_days,
        title=f"Events digest · {_long_day(day)}",
        changes_since=since,
        coming_up=coming_up,
        changed=[change for _, change in sorted(changed, key=lambda pair: pair[0])],
        new=[item for _, item in sorted(new, key=lambda pair: pair[0])],
        llm_cost_usd=llm_cost_usd,
    )


def digest_content_hash(content: DigestContent) -> str:
    """A stable hash of what the digest says, to post or update only when it changed.

    The LLM cost is left out: a rerun that spends a cent more must not re-post
    an otherwise identical digest.
    """
    payload = content.model_dump(mode="json", exclude={"llm_cost_usd"})
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _sort_key(event: Event, fmt: _TimeFormatter) -> tuple[Any, ...]:
    # By the day in the digest's zone, all-day events first, then by start instant;
    # ties by title and id so the order never depends on the order of the input.
    first_day, _ = fmt.local_days(event)
    instant = event.start.timestamp() if isinstance(event.start, datetime) else 0.0
    return (
        first_day,
        isinstance(event.start, datetime),
        instant,
        event.title.casefold(),
        event.event_id,
    )


def _item(event: Event, when: str, fmt: _TimeFormatter, links: _Linker) -> DigestItem:
    source, source_label, more = links.sources(event.sources)
    link = safe_url(event.url)
    anchors = _anchors(event.links)
    if any(anchor.url == link for anchor in anchors):
        link = None  # the meeting or ticket it points to is shown already
    return DigestItem(
        event_id=event.event_id,
        title=clean_text(event.title) or "(untitled)",
        category=event.category,
        emoji=CATEGORY_EMOJI.get(event.category, CATEGORY_EMOJI[EventCategory.OTHER]),
        status=event.status,
        when=when,
        local_when=fmt.local_when(event),
        location=clean_text(event.location) or None,
        summary=clean_text(event.summary) or None,
        link=DigestLink(url=link, label="link") if link else None,
        anchors=anchors,
        source=source,
        source_label=source_label,
        more_sources=more,
    )


def _anchors(links: Sequence[EventLink]) -> list[DigestAnchor]:
    """What a line shows of an event's links: one meeting to join, then tickets, release
    tags and pages, at most :data:`_MAX_ANCHORS`."""
    shown: list[DigestAnchor] = []
    for link in sorted(links, key=link_order):
        url, kind = safe_url(link.url), link.kind
        if kind.is_meeting:
            label = "Join"
        elif kind.is_ticket:
            label = clean_text(link.key)
        elif kind.is_release:
            # "acme/api@v2.1.0" reads as its tag.
            label = clean_text(link.key.rpartition("@")[2] or link.key)
        else:
            label = _PAGE_LABELS.get(kind, "")
        needs_url = kind.is_meeting or kind in _PAGE_LABELS
        if not label or (needs_url and url is None) or any(a.label == label for a in shown):
            continue
        shown.append(DigestAnchor(kind=kind, label=label, url=url))
        if len(shown) == _MAX_ANCHORS:
            break
    return shown


def _change(
    event: Event, since: datetime, now: datetime, fmt: _TimeFormatter, links: _Linker
) -> DigestChange | None:
    recent = sorted(
        (entry for entry in event.history if since < entry.changed_at <= now),
        key=lambda entry: entry.changed_at,
    )
    if not recent:
        return None
    # A history entry holds the values *before* its change, so the earliest entry in
    # the window is what readers of the previous digest saw.
    before = recent[0]
    moved = before.start != event.start or before.end != event.end
    if event.status == EventStatus.CANCELLED and before.status != EventStatus.CANCELLED:
        kind: ChangeKind = "cancelled"
    elif moved:
        kind = "rescheduled"
    elif before.status != event.status:
        kind = "updated"
    else:
        return None
    item = _item(event, fmt.when(event, with_date=True), fmt, links)
    change_source = next(
        (entry.source for entry in reversed(recent) if entry.source is not None), None
    )
    if change_source is not None:
        source, source_label, _ = links.sources([change_source])
        item = item.model_copy(
            update={
                "source": source,
                "source_label": source_label,
                "more_sources": max(len(event.sources) - 1, 0),
            }
        )
    return DigestChange(
        kind=kind,
        item=item,
        old_when=fmt.span(before.start, before.end, with_date=True),
        new_when=fmt.when(event, with_date=True),
        old_status=before.status,
        changed_at=recent[-1].changed_at,
    )


@dataclass(frozen=True)
class _Linker:
    permalinks: Mapping[tuple[str, str], str]
    channel_names: Mapping[str, str]

    def sources(self, refs: Sequence[SourceRef]) -> tuple[DigestLink | None, str | None, int]:
        """The first source with a permalink as a link, and how many others there are."""
        if not refs:
            return None, None, 0
        chosen = next(
            (ref for ref in refs if safe_url(self.permalinks.get((ref.channel_id, ref.ts)))),
            refs[0],
        )
        name = clean_text(self.channel_names.get(chosen.channel_id)) or chosen.channel_id
        label = f"#{name.lstrip('#')}"
        url = safe_url(self.permalinks.get((chosen.channel_id, chosen.ts)))
        more = len(refs) - 1
        if url is None:
            return None, label, more
        return DigestLink(url=url, label=label), None, more


def _short_day(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b}"


def _long_day(value: date, *, year: bool = True) -> str:
    text = f"{value:%A} {value.day} {value:%B}"
    return f"{text} {value.year}" if year else text


def _zone_or(name: str, fallback: tzinfo) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


@dataclass(frozen=True)
class _TimeFormatter:
    """Our wording of times, in the digest's zone, relative to the digest's day."""

    zone: tzinfo
    zone_name: str
    today: date

    def local_days(self, event: Event) -> tuple[date, date]:
        """First and last calendar day the event touches, in the digest zone."""
        if isinstance(event.start, datetime):
            first = event.start.astimezone(self.zone).date()
            if isinstance(event.end, datetime) and event.end > event.start:
                # An event ending at midnight does not touch the next day.
                last = (event.end.astimezone(self.zone) - timedelta(microseconds=1)).date()
            else:
                last = first
            return first, max(first, last)
        end = event.end if isinstance(event.end, date) else event.start
        return event.start, max(event.start, end)

    def day_label(self, value: date) -> str:
        label = _long_day(value, year=value.year != self.today.year)
        if value == self.today:
            return f"Today · {label}"
        if value == self.today + timedelta(days=1):
            return f"Tomorrow · {label}"
        return label

    def _day(self, value: date) -> str:
        text = _short_day(value)
        return text if value.year == self.today.year else f"{text} {value.year}"

    def when(self, event: Event, *, with_date: bool) -> str:
        return self.span(event.start, event.end, with_date=with_date)

    def span(self, start: datetime | date, end: datetime | date | None, *, with_date: bool) -> str:
        if not isinstance(start, datetime):
            last = end if isinstance(end, date) and not isinstance(end, datetime) else start
            if last > start:
                return f"{self._day(start)} {_EN_DASH} {self._day(last)}, all day"
            return f"{self._day(start)}, all day" if with_date else "all day"
        local_start = start.astimezone(self.zone)
        prefix = f"{self._day(local_start.date())} " if with_date else ""
        if not isinstance(end, datetime) or end <= start:
            return f"{prefix}{local_start:%H:%M}"
        local_end = end.astimezone(self.zone)
        if local_end.date() == local_start.date():
            return f"{prefix}{local_start:%H:%M}{_EN_DASH}{local_end:%H:%M}"
        return (
            f"{self._day(local_start.date())} {local_start:%H:%M} → "
            f"{self._day(local_end.date())} {local_end:%H:%M}"
        )

    def local_when(self, event: Event) -> str | None:
        """The start in the event's own zone, when its clock differs from the digest's."""
        if not isinstance(event.start, datetime) or event.timezone == self.zone_name:
            return None
        own_zone = _zone_or(event.timezone, self.zone)
        local = event.start.astimezone(own_zone)
        here = event.start.astimezone(self.zone)
        if local.utcoffset() == here.utcoffset():
            return None
        if local.date() != here.date():
            # Otherwise "20:30 (01:00 IST)" hides that it is already the next day there.
            return f"{self._day(local.date())} {local:%H:%M} {local:%Z}"
        return f"{local:%H:%M} {local:%Z}"


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class _Line:
    text: str
    # How many events this line shows (0 for headings), to say how many were left out.
    events: int = 0
    # A day heading: bold in Slack, a Markdown heading of its own.
    heading: str | None = None


class _Syntax:
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
        return _clip(text, limit, self.esc)


class _Slack(_Syntax):
    name = "slack"

    def esc(self, text: str) -> str:
        return escape_slack(text)

    def bold(self, text: str) -> str:
        return f"*{text}*"

    def strike(self, text: str) -> str:
        return f"~{text}~"

    def link(self, link: DigestLink) -> str:
        # Inside <url|label> Slack reads entities in both parts; the URL already has
        # no < > | so only & needs its entity.
        url = link.url.replace("&", "&amp;")
        label = self.clip(link.label, _CHANNEL_CHARS)
        # An ampersand-heavy URL grows fivefold; past this it would crowd the section.
        return f"<{url}|{label}>" if len(url) <= 2 * MAX_URL_CHARS else label


class _Markdown(_Syntax):
    name = "markdown"

    def esc(self, text: str) -> str:
        return escape_markdown(text)

    def bold(self, text: str) -> str:
        return f"**{text}**"

    def strike(self, text: str) -> str:
        return f"~~{text}~~"

    def link(self, link: DigestLink) -> str:
        return f"[{self.clip(link.label, _CHANNEL_CHARS)}]({link.url})"


def _status_tag(status: EventStatus) -> str:
    if status == EventStatus.TENTATIVE:
        return " (tentative)"
    if status == EventStatus.RESCHEDULED:
        return " (rescheduled)"
    if status == EventStatus.CANCELLED:
        return " (cancelled)"
    return ""


def _item_tail(item: DigestItem, syntax: _Syntax) -> str:
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
        source = syntax.clip(item.source_label, _CHANNEL_CHARS)
    if source and item.more_sources:
        source += f" +{item.more_sources} more"
    if source:
        parts.append(source)
    return "".join(f" · {part}" for part in parts)


def _anchor_texts(anchors: Sequence[DigestAnchor], syntax: _Syntax) -> list[str]:
    """Each anchor linked while the line has room; past it a ticket or tag by name only."""
    texts: list[str] = []
    room = _ANCHORS_CHARS
    for anchor in anchors:
        name = syntax.clip(anchor.label, _CHANNEL_CHARS)
        text = syntax.link(DigestLink(url=anchor.url, label=anchor.label)) if anchor.url else name
        if len(text) > room:
            text = name
        if text == name and (anchor.kind.is_meeting or anchor.kind in _PAGE_LABELS):
            continue  # "Join" or "doc" without its link says nothing
        text = f"📹 {text}" if anchor.kind.is_meeting else text
        if len(text) > room:
            break
        texts.append(text)
        room -= len(text)
    return texts


def _summary_line(item: DigestItem, syntax: _Syntax) -> str:
    if not item.summary:
        return ""
    indent = "  " if syntax.name == "markdown" else "      "
    return f"\n{indent}" + syntax.clip(item.summary, _SUMMARY_CHARS)


def _when_text(item: DigestItem) -> str:
    return f"{item.when} ({item.local_when})" if item.local_when else item.when


def _upcoming_line(item: DigestItem, syntax: _Syntax) -> _Line:
    title = syntax.bold(syntax.clip(item.title, _TITLE_CHARS))
    text = (
        f"• `{_when_text(item)}` {item.emoji} {title}{_status_tag(item.status)}"
        f"{_item_tail(item, syntax)}{_summary_line(item, syntax)}"
    )
    return _Line(text, 1)


def _new_line(item: DigestItem, syntax: _Syntax) -> _Line:
    title = syntax.bold(syntax.clip(item.title, _TITLE_CHARS))
    text = (
        f"• {item.emoji} {title}{_status_tag(item.status)} · {_when_text(item)}"
        f"{_item_tail(item, syntax)}{_summary_line(item, syntax)}"
    )
    return _Line(text, 1)


def _change_line(change: DigestChange, syntax: _Syntax) -> _Line:
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
    return _Line(f"• {what}{_item_tail(item, syntax)}", 1)


@dataclass(frozen=True)
class _Section:
    heading: str
    lines: list[_Line]


def _sections(content: DigestContent, syntax: _Syntax) -> list[_Section]:
    coming: list[_Line] = []
    for group in content.coming_up:
        coming.append(_Line(syntax.bold(group.label), heading=group.label))
        coming.extend(_upcoming_line(item, syntax) for item in group.items)
    if not coming:
        coming.append(_Line(f"No events in the next {_days(content.lookahead_days)}."))
    sections = [_Section(f"📆 Coming up · next {_days(content.lookahead_days)}", coming)]
    if content.changed:
        since = content.changes_since.astimezone(ZoneInfo(content.timezone))
        sections.append(
            _Section(
                f"🔁 Changed since {_short_day(since.date())} {since:%H:%M}",
                [_change_line(change, syntax) for change in content.changed],
            )
        )
    if content.new:
        sections.append(_Section("🆕 New", [_new_line(item, syntax) for item in content.new]))
    return sections


def _days(count: int) -> str:
    return "day" if count == 1 else f"{count} days"


def _subtitle(content: DigestContent) -> str:
    return f"Times in {content.timezone}."


def _footer(content: DigestContent) -> str:
    parts = [
        f"{content.upcoming_count} upcoming",
        f"{len(content.changed)} changed",
        f"{content.cancelled_count} cancelled",
        f"{len(content.new)} new",
    ]
    if content.llm_cost_usd is not None:
        parts.append(f"LLM cost today ${content.llm_cost_usd:.4f}")
    return " · ".join(parts)


def _more(count: int) -> str:
    return f"… and {count} more event{'' if count == 1 else 's'}"


def _pack(heading: str, lines: Sequence[_Line], *, max_chars: int, max_chunks: int) -> list[str]:
    """Lines into at most ``max_chunks`` texts of at most ``max_chars`` characters.

    The heading starts the first text. Lines are never split; when they do not all
    fit, the last text ends with "… and N more events".
    """
    # Room kept at the end of every chunk for the "… and N more events" line.
    reserve = len(_more(10**9)) + 1
    chunks: list[list[str]] = [[heading]]
    sizes = [len(heading)]
    shown = 0
    for index, line in enumerate(lines):
        limit = max_chars if index == len(lines) - 1 else max_chars - reserve
        if sizes[-1] + 1 + len(line.text) <= limit:
            chunks[-1].append(line.text)
            sizes[-1] += 1 + len(line.text)
        elif len(chunks) < max_chunks and len(line.text) <= limit:
            chunks.append([line.text])
            sizes.append(len(line.text))
        else:
            break
        shown = index + 1
    omitted = sum(line.events for line in lines[shown:])
    if omitted:
        chunks[-1].append(_more(omitted))
    return ["\n".join(chunk) for chunk in chunks]


def _pack_sections(
    sections: Sequence[_Section],
    syntax: _Syntax,
    *,
    chunks: int,
    chunk_chars: int,
    side_chunks: int,
) -> list[list[str]]:
    """Every section packed; Changed and New first (capped), Coming up gets the rest.

    So a flood of upcoming events never pushes the changes out of the message.
    """
    first, *others = sections
    packed_others = [
        _pack(
            syntax.bold(other.heading), other.lines, max_chars=chunk_chars, max_chunks=side_chunks
        )
        for other in others
    ]
    left = max(1, chunks - sum(len(texts) for texts in packed_others))
    packed_first = _pack(
        syntax.bold(first.heading), first.lines, max_chars=chunk_chars, max_chunks=left
    )
    return [packed_first, *packed_others]


def render_slack_blocks(content: DigestContent) -> list[dict[str, Any]]:
    """Block Kit blocks within Slack's limits, summarising what does not fit."""
    header = content.title
    if len(header) > SLACK_MAX_HEADER_CHARS:
        header = header[: SLACK_MAX_HEADER_CHARS - 1] + "…"
    head: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        _context(_subtitle(content)),
    ]
    tail = [{"type": "divider"}, _context(_footer(content))]
    sections = _sections(content, _Slack())
    dividers = len(sections) - 1
    packed = _pack_sections(
        sections,
        _Slack(),
        chunks=SLACK_MAX_BLOCKS - len(head) - len(tail) - dividers,
        chunk_chars=SLACK_MAX_SECTION_CHARS,
        side_chunks=_MAX_BLOCKS_PER_SIDE_SECTION,
    )
    body: list[dict[str, Any]] = []
    for index, texts in enumerate(packed):
        if index:
            body.append({"type": "divider"})
        body.extend(_section(text) for text in texts)
    return [*head, *body, *tail]


def _section(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link channel names, URLs or mentions in our text.
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": text[:SLACK_MAX_CONTEXT_CHARS], "verbatim": True}],
    }


def render_slack_text(content: DigestContent) -> str:
    """The mrkdwn fallback shown in notifications, at most 40,000 characters."""
    head = f"*{content.title}*\n{_subtitle(content)}"
    footer = _footer(content)
    sections = _sections(content, _Slack())
    separators = 2 * (len(sections) + 1)
    room = SLACK_MAX_TEXT_CHARS - len(head) - len(footer) - separators
    # One "chunk" per section of a third of the room each, then Coming up takes what
    # Changed and New left: the same priorities as the blocks.
    first, *others = sections
    packed_others = [
        _pack(_Slack().bold(other.heading), other.lines, max_chars=room // 3, max_chunks=1)[0]
        for other in others
    ]
    packed_first = _pack(
        _Slack().bold(first.heading),
        first.lines,
        max_chars=room - sum(len(text) for text in packed_others),
        max_chunks=1,
    )[0]
    return "\n\n".join([head, packed_first, *packed_others, footer])


def render_markdown(content: DigestContent) -> str:
    """The whole digest as Markdown (nothing is left out), for the UI and files."""
    syntax = _Markdown()
    out = [f"# {content.title}", "", f"_{_subtitle(content)}_", ""]
    for section in _sections(content, syntax):
        out.extend([f"## {section.heading}", ""])
        for line in section.lines:
            if line.heading is not None:
                out.extend(["", f"### {line.heading}", ""])
            elif line.events:
                out.append("- " + line.text.removeprefix("• "))
            else:
                out.append(line.text)
        out.append("")
    out.extend(["---", "", _footer(content), ""])
    return _tidy_blank_lines(out)


def _tidy_blank_lines(lines: list[str]) -> str:
    tidy: list[str] = []
    for line in lines:
        if line == "" and (not tidy or tidy[-1] == ""):
            continue
        tidy.append(line)
    return "\n".join(tidy).rstrip("\n") + "\n"
