"""Our wording of times in a digest: in the digest's zone, relative to the digest's day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_events_dagster.domain.models import Event

# Typographic range dash, spelled as an escape so the source stays plain ASCII-looking.
_EN_DASH = "\u2013"


def short_day(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b}"


def long_day(value: date, *, year: bool = True) -> str:
    text = f"{value:%A} {value.day} {value:%B}"
    return f"{text} {value.year}" if year else text


def _zone_or(name: str, fallback: tzinfo) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


@dataclass(frozen=True)
class TimeFormatter:
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
        label = long_day(value, year=value.year != self.today.year)
        if value == self.today:
            return f"Today · {label}"
        if value == self.today + timedelta(days=1):
            return f"Tomorrow · {label}"
        return label

    def _day(self, value: date) -> str:
        text = short_day(value)
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
