"""Building a digest: which events to tell people about (coming up, changed, new), each
as a :class:`~slack_events_dagster.domain.digest.content.DigestItem` with its time
wording, links and anchors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_events_dagster.domain.anchors import link_order
from slack_events_dagster.domain.digest.content import (
    ChangeKind,
    DigestAnchor,
    DigestChange,
    DigestContent,
    DigestDay,
    DigestItem,
    DigestLink,
)
from slack_events_dagster.domain.digest.when import TimeFormatter, long_day
from slack_events_dagster.domain.lexicon import CATEGORIES
from slack_events_dagster.domain.models import (
    Event,
    EventCategory,
    EventLink,
    EventStatus,
    LinkKind,
    SourceRef,
)
from slack_events_dagster.domain.safety import clean_text, safe_url

# Anchors on one line (a meeting to join, then tickets, release tags and pages).
_MAX_ANCHORS = 4
# A page is named by where it lives; other plain links are not listed (the event link is).
PAGE_LABELS = {
    LinkKind.GOOGLE_DOC: "doc",
    LinkKind.CONFLUENCE: "Confluence",
    LinkKind.NOTION: "Notion",
}

CATEGORY_EMOJI: dict[EventCategory, str] = {spec.category: spec.emoji for spec in CATEGORIES}


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
    fmt = TimeFormatter(zone, timezone, day)
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
        title=f"Events digest · {long_day(day)}",
        changes_since=since,
        coming_up=coming_up,
        changed=[change for _, change in sorted(changed, key=lambda pair: pair[0])],
        new=[item for _, item in sorted(new, key=lambda pair: pair[0])],
        llm_cost_usd=llm_cost_usd,
    )


def _sort_key(event: Event, fmt: TimeFormatter) -> tuple[Any, ...]:
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


def _item(event: Event, when: str, fmt: TimeFormatter, links: _Linker) -> DigestItem:
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
            label = PAGE_LABELS.get(kind, "")
        needs_url = kind.is_meeting or kind in PAGE_LABELS
        if not label or (needs_url and url is None) or any(a.label == label for a in shown):
            continue
        shown.append(DigestAnchor(kind=kind, label=label, url=url))
        if len(shown) == _MAX_ANCHORS:
            break
    return shown


def _change(
    event: Event, since: datetime, now: datetime, fmt: TimeFormatter, links: _Linker
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
