"""Events as a list a person reads: one row per event, and the busiest day.

The demo's terminal table and the ``events`` asset's Markdown table in the Dagster UI
show the same rows: the day and time in the reader's zone, title, category, status,
the channels and number of messages it was found in, and the kinds of its anchors
(tickets, pull requests, release tags, meetings, pages).

Pure: standard library and the domain's models.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from slack_events_dagster.domain.models import Event, EventCategory, EventStatus, local_day

_EN_DASH = "\u2013"


@dataclass(frozen=True)
class EventRow:
    """One event as a list shows it. Text is raw (each renderer escapes it)."""

    day: date
    # "09:00", "09:00–10:30", "all day", "4 days" (all day, from ``day`` on).
    time: str
    title: str
    category: EventCategory
    status: EventStatus
    # Names of the channels its messages were posted in ("releases"), first seen first.
    channels: tuple[str, ...]
    # How many messages announced or changed it.
    sources: int
    # The kinds of its anchors ("jira", "github_pull", "zoom"), each once.
    links: tuple[str, ...]


def event_rows(
    events: Iterable[Event], *, timezone: str, channel_names: Mapping[str, str]
) -> list[EventRow]:
    """The rows of ``events`` in ``timezone``, by day, all-day events first, then by time
    and title. A channel without a known name shows as its id."""
    zone = ZoneInfo(timezone)
    keyed = []
    for event in events:
        day = local_day(event.start, timezone)
        instant = event.start.timestamp() if isinstance(event.start, datetime) else float("-inf")
        channels = tuple(
            dict.fromkeys(channel_names.get(s.channel_id, s.channel_id) for s in event.sources)
        )
        row = EventRow(
            day=day,
            time=_time(event, zone),
            title=event.title,
            category=event.category,
            status=event.status,
            channels=channels,
            sources=len(event.sources),
            links=tuple(dict.fromkeys(link.kind.value for link in event.links)),
        )
        keyed.append(((day, instant, event.title, event.event_id), row))
    return [row for _, row in sorted(keyed, key=lambda pair: pair[0])]


def _time(event: Event, zone: ZoneInfo) -> str:
    start, end = event.start, event.end
    if not isinstance(start, datetime):
        days = (end - start).days + 1 if end is not None and not isinstance(end, datetime) else 1
        return "all day" if days == 1 else f"{days} days"
    text = start.astimezone(zone).strftime("%H:%M")
    if isinstance(end, datetime) and end > start:
        local_end = end.astimezone(zone)
        same_day = local_end.date() == start.astimezone(zone).date()
        text += _EN_DASH + local_end.strftime("%H:%M" if same_day else "%a %H:%M")
    return text


def busiest_day(
    events: Iterable[Event],
    *,
    timezone: str,
    first: date | None = None,
    last: date | None = None,
) -> date | None:
    """The day in ``[first, last]`` on which the most events that still happen start
    (cancelled ones do not count), the earliest of equals; None when there is none."""
    days: Counter[date] = Counter()
    for event in events:
        day = local_day(event.start, timezone)
        if event.status is EventStatus.CANCELLED:
            continue
        if (first is None or first <= day) and (last is None or day <= last):
            days[day] += 1
    if not days:
        return None
    return min(days, key=lambda day: (-days[day], day))
