"""The iCalendar (RFC 5545) feed of events, for calendar apps to subscribe to.

The one dependency of the domain layer beyond the standard library, pydantic
and rapidfuzz is ``icalendar``: a pure formatting library (no I/O, no network)
that gets line folding, text escaping and VTIMEZONE generation right.

Calendar apps match events by UID and take the highest SEQUENCE, so the feed
uses ``{event_id}@slack-events`` as UID (an event keeps it for life) and
``Event.sequence`` (bumped on every reschedule or cancellation). Cancelled
events stay in the feed with ``STATUS:CANCELLED`` so subscribers drop them
instead of keeping a stale copy. Output depends only on the input (DTSTAMP is
the event's ``updated_at``, never "now"), so the same events give the same bytes.
It renders bytes only; ``publish/files.py`` writes them.

All-day events' ``end`` is their last day (inclusive); iCalendar's DTEND is
exclusive, hence one day more.

An event's meeting link is its ``URL`` (else its first source's permalink) and its
``LOCATION`` when it has no location of its own (where people go); its other
anchors (tickets, pull requests, release tags, pages, links) are listed in the
``DESCRIPTION``, as is the meeting when a location took ``LOCATION`` (some apps
never show ``URL``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from slack_events_dagster.domain.anchors import LINK_LABELS, meeting_link
from slack_events_dagster.domain.models import Event, EventLink, EventStatus
from slack_events_dagster.domain.safety import clean_text, safe_url

__all__ = ["PRODID", "build_calendar", "event_uid"]

PRODID = "-//Slack Event Manager//slack-events-dagster//EN"
UID_DOMAIN = "slack-events"
# Feed readers that honour these poll hourly instead of daily.
_REFRESH = timedelta(hours=1)
# DTSTAMP is required; an event that never recorded when it changed gets a fixed one.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_ICAL_STATUS = {
    EventStatus.SCHEDULED: "CONFIRMED",
    EventStatus.RESCHEDULED: "CONFIRMED",
    EventStatus.TENTATIVE: "TENTATIVE",
    EventStatus.CANCELLED: "CANCELLED",
}


def event_uid(event_id: str) -> str:
    """The iCalendar UID of an event: stable, so apps update rather than duplicate."""
    return f"{event_id}@{UID_DOMAIN}"


def build_calendar(
    events: Iterable[Event],
    *,
    calendar_name: str,
    permalinks: Mapping[tuple[str, str], str],
) -> bytes:
    """Every event as one VCALENDAR, with VTIMEZONEs for the zones it uses."""
    ordered = sorted(events, key=_sort_key)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", calendar_name)
    calendar.add("name", calendar_name)
    calendar.add("refresh-interval", _REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(_REFRESH))

    zones: set[str] = set()
    components = []
    for event in ordered:
        component, zone_name = _vevent(event, permalinks)
        components.append(component)
        if zone_name is not None:
            zones.add(zone_name)
    for timezone in _vtimezones(zones, ordered):
        calendar.add_component(timezone)
    for component in components:
        calendar.add_component(component)
    return calendar.to_ical()


def _sort_key(event: Event) -> tuple[datetime, str]:
    return _instant(event.start), event.event_id


def _instant(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _zone(name: str) -> tuple[tzinfo, str | None]:
    """The event's zone, and its name when it needs a VTIMEZONE (None means UTC)."""
    if name.upper() in ("UTC", "ETC/UTC", "Z"):
        return UTC, None
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        # An unknown zone name from an extractor: UTC times are still exact instants.
        return UTC, None


def _vevent(
    event: Event, permalinks: Mapping[tuple[str, str], str]
) -> tuple[icalendar.Event, str | None]:
    component = icalendar.Event()
    component.add("uid", event_uid(event.event_id))
    component.add("dtstamp", _stamp(event))
    if event.first_seen_at is not None:
        component.add("created", event.first_seen_at.astimezone(UTC))
    if event.updated_at is not None:
        component.add("last-modified", event.updated_at.astimezone(UTC))
    component.add("sequence", event.sequence)
    component.add("status", _ICAL_STATUS.get(event.status, "CONFIRMED"))
    component.add("summary", clean_text(event.title) or "(untitled)")
    component.add("categories", [event.category.value])

    zone_name: str | None = None
    if isinstance(event.start, datetime):
        zone, zone_name = _zone(event.timezone)
        component.add("dtstart", event.start.astimezone(zone))
        if isinstance(event.end, datetime):
            component.add("dtend", event.end.astimezone(zone))
    else:
        last_day = event.end if isinstance(event.end, date) else event.start
        component.add("dtstart", event.start)
        component.add("dtend", max(last_day, event.start) + timedelta(days=1))

    meeting = meeting_link(link for link in event.links if safe_url(link.url))
    meeting_url = safe_url(meeting.url) if meeting is not None else None
    location = clean_text(event.location)
    if location or meeting_url:
        component.add("location", location or meeting_url)
    source_urls = _source_urls(event, permalinks)
    if meeting_url or source_urls:
        component.add("url", meeting_url or source_urls[0])
    # A meeting in LOCATION is not repeated; under the event's own location it is listed.
    in_location = meeting if meeting_url and not location else None
    listed = [link for link in event.links if link is not in_location]
    component.add("description", _description(event, source_urls, listed))
    return component, zone_name


def _stamp(event: Event) -> datetime:
    stamp = event.updated_at or event.first_seen_at
    if stamp is None and event.history:
        stamp = max(change.changed_at for change in event.history)
    return (stamp or _EPOCH).astimezone(UTC)


def _source_urls(event: Event, permalinks: Mapping[tuple[str, str], str]) -> list[str]:
    urls: list[str] = []
    for source in event.sources:
        url = safe_url(permalinks.get((source.channel_id, source.ts)))
        if url is not None and url not in urls:
            urls.append(url)
    return urls


def _description(event: Event, source_urls: Sequence[str], anchors: Sequence[EventLink]) -> str:
    # Plain text: calendar apps show it verbatim (icalendar escapes the iCalendar syntax).
    parts: list[str] = []
    summary = clean_text(event.summary)
    if summary:
        parts.append(summary)
    if event.status == EventStatus.CANCELLED:
        parts.append("Cancelled.")
    link = safe_url(event.url)
    if link is not None:
        parts.append(f"Link: {link}")
    lines = [_anchor_line(anchor) for anchor in anchors]
    if lines:
        parts.append("\n".join(lines))
    if source_urls:
        label = "Source" if len(source_urls) == 1 else "Sources"
        parts.append(f"{label}:\n" + "\n".join(source_urls))
    return "\n\n".join(parts) or clean_text(event.title)


def _anchor_line(anchor: EventLink) -> str:
    """An anchor as a line of the description: "Jira OPS-142: https://…" (a safe URL only)."""
    name = f"{LINK_LABELS[anchor.kind]} {clean_text(anchor.key)}"
    url = safe_url(anchor.url)
    return f"{name}: {url}" if url else name


def _vtimezones(zone_names: set[str], events: Sequence[Event]) -> list[icalendar.Timezone]:
    """VTIMEZONEs for the zones in use, covering the years the events span.

    Sorted by name so the output does not depend on set order, and bounded to the
    events' years so the feed does not carry decades of transitions.
    """
    if not zone_names or not events:
        return []
    years = [_instant(event.start).year for event in events]
    years.extend(_instant(event.end).year for event in events if event.end is not None)
    first = date(min(years) - 1, 1, 1)
    last = date(max(years) + 1, 12, 31)
    timezones = []
    for name in sorted(zone_names):
        try:
            timezones.append(icalendar.Timezone.from_tzid(name, first_date=first, last_date=last))
        except ValueError:
            # A zone icalendar cannot describe; its events still carry a TZID that
            # clients with their own time zone database resolve.
            continue
    return timezones
