"""Dates and times as people write them: whole messages posted at a known local time in a
known zone, with where a reader says each event starts (and ends). test_date_phrasings
reads them through the scorer and the rule extractor; test_scoring_shortcuts scores them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

AMS = "Europe/Amsterdam"
NY = "America/New_York"
TOKYO = "Asia/Tokyo"
# Tuesday 14 October 2025, 10:00 in Amsterdam (CEST, UTC+2); Europe leaves DST on Oct 26.
POSTED = "2025-10-14T10:00"


@dataclass(frozen=True)
class Case:
    text: str
    expected: date | datetime
    end: date | datetime | None = None
    zone: str = AMS
    posted: str = POSTED
    order: str = "month_first"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def d(year: int, month: int, day: int) -> date:
    return date(year, month, day)


CASES: dict[str, Case] = {
    # ISO 8601: an instant with Z or an offset is exact, never the channel's local time.
    "iso-z": Case("Deploy window 2025-10-15T14:30:00Z", utc(2025, 10, 15, 14, 30)),
    "iso-offset": Case("Release cutover 2025-10-15T14:30+05:30", utc(2025, 10, 15, 9, 0)),
    "iso-local": Case("Maintenance 2025-10-15T14:30", utc(2025, 10, 15, 12, 30)),
    "iso-date": Case("Code freeze 2025-10-20", d(2025, 10, 20)),
    "iso-range": Case("Conference 2025-10-20 to 2025-10-22", d(2025, 10, 20), d(2025, 10, 22)),
    # Numeric dates: day first when the day is above 12; the setting decides the others.
    "slash-day-first": Case("Release on 20/10/2025", d(2025, 10, 20)),
    "slash-month-first": Case("Release on 10/20/2025", d(2025, 10, 20)),
    "slash-no-year": Case("Webinar 10/20", d(2025, 10, 20)),
    "slash-ambiguous-us": Case("Webinar on 03/04/2026", d(2026, 3, 4)),
    "slash-ambiguous-eu": Case("Webinar on 03/04/2026", d(2026, 4, 3), order="day_first"),
    "dotted": Case("Deadline 20.10.2025", d(2025, 10, 20)),
    "slash-short-year": Case("Launch 10/20/25", d(2025, 10, 20)),
    # Month names with and without year; ordinals; a past month-day is next year's.
    "month-day": Case("Conference on October 20", d(2025, 10, 20)),
    "month-day-ordinal": Case("Meetup Oct 20th", d(2025, 10, 20)),
    # Day ranges joined by "to / until / through"; "from now until" starts today.
    "from-weekday-to-weekday": Case(
        "Hackathon from Monday to Wednesday", d(2025, 10, 20), end=d(2025, 10, 22)
    ),
    "from-now-until": Case(
        "Free SSL rollout from now until Jan 1st", d(2025, 10, 14), end=d(2026, 1, 1)
    ),
    # "May" is also a verb: a date when it has an ordinal day or follows a dash.
    "may-ordinal-time": Case(
        "Theme Accelerator kickoff webinar - May 25th @ 10am EST", utc(2026, 5, 25, 14, 0)
    ),
    "day-month": Case("Meetup 20 October", d(2025, 10, 20)),
    "day-of-month": Case("Meetup on the 20th of October", d(2025, 10, 20)),
    "month-day-year": Case("Summit Oct 20, 2026", d(2026, 10, 20)),
    "month-passed": Case("Summit on March 3", d(2026, 3, 3)),
    "abbrev-dot": Case("Workshop Nov. 4", d(2025, 11, 4)),
    # Weekdays and relative days, from Tuesday Oct 14.
    "weekday": Case("Team sync Thursday", d(2025, 10, 16)),
    "same-weekday": Case("Team sync Tuesday", d(2025, 10, 21)),
    "next-weekday": Case("Planning meeting next Tuesday", d(2025, 10, 21)),
    "next-weekday-late": Case("Planning meeting next Friday", d(2025, 10, 24)),
    "this-weekday": Case("Demo this Friday", d(2025, 10, 17)),
    "on-wed": Case("Retro on Wed", d(2025, 10, 15)),
    "tomorrow": Case("Release tomorrow", d(2025, 10, 15)),
    "today": Case("Outage drill today", d(2025, 10, 14)),
    "tonight": Case("Deploy tonight", d(2025, 10, 14)),
    "day-after-tomorrow": Case("Workshop the day after tomorrow", d(2025, 10, 16)),
    "in-5-days": Case("The new dashboard launches in 5 days", d(2025, 10, 19)),
    "in-two-weeks": Case("Release ships in two weeks", d(2025, 10, 28)),
    "in-a-month": Case("Migration in a month", d(2025, 11, 14)),
    "next-week": Case("Offsite next week", d(2025, 10, 20)),
    # End of day, close of business, end of week, "by Friday".
    "eod-friday": Case("Reports due EOD Friday", d(2025, 10, 17)),
    "friday-eod": Case("Reports due Friday EOD", d(2025, 10, 17)),
    "cob-tomorrow": Case("Submissions due by COB tomorrow", d(2025, 10, 15)),
    "eow": Case("Expense reports deadline EOW", d(2025, 10, 17)),
    "by-friday": Case("Deadline for the survey is by Friday", d(2025, 10, 17)),
    # Ranges of days and of times.
    "day-range": Case("Conference 14\u201316 Oct", d(2025, 10, 14), d(2025, 10, 16)),
    "month-range": Case("Summit Oct 20\u201322", d(2025, 10, 20), d(2025, 10, 22)),
    "cross-month-range": Case("Conference Oct 30 - Nov 2", d(2025, 10, 30), d(2025, 11, 2)),
    "cross-year-range": Case(
        "Office closed Dec 30 - Jan 2", d(2025, 12, 30), d(2026, 1, 2), posted="2025-12-10T09:00"
    ),
    "pm-range": Case("Workshop Thursday 2\u20134pm", utc(2025, 10, 16, 12), utc(2025, 10, 16, 14)),
    "from-to": Case(
        "Maintenance tomorrow from 22:00 to 23:00",
        utc(2025, 10, 15, 20),
        utc(2025, 10, 15, 21),
    ),
    "am-pm-range": Case("Hackathon Saturday 9am-5pm", utc(2025, 10, 18, 7), utc(2025, 10, 18, 15)),
    "overnight": Case(
        "Maintenance window Friday 23:00-02:00", utc(2025, 10, 17, 21), utc(2025, 10, 18, 0)
    ),
    # Times with zones (the region's zone, DST included) and without (the channel's).
    "pm-pt": Case("Webinar Thursday at 3pm PT", utc(2025, 10, 16, 22)),
    "cet": Case("Team sync tomorrow 15:00 CET", utc(2025, 10, 15, 13)),
    "offset-time": Case("Deploy tomorrow 14:00 +02:00", utc(2025, 10, 15, 12)),
    "et": Case("AMA Wednesday 12PM EST", utc(2025, 10, 15, 16)),
    "noon-utc": Case("Release Friday at noon UTC", utc(2025, 10, 17, 12)),
    "jst": Case("Meetup Friday 19:00 JST", utc(2025, 10, 17, 10)),
    "no-zone": Case("Standup tomorrow 9:30", utc(2025, 10, 15, 7, 30)),
    "no-zone-ny": Case("Standup tomorrow 9:30am", utc(2025, 10, 15, 13, 30), zone=NY),
    "time-only-later-today": Case("All-hands at 4pm", utc(2025, 10, 14, 14)),
    "in-minutes": Case("Webinar starts in 15 minutes", utc(2025, 10, 14, 8, 15)),
    # A time already over, said to be so, is today's (not tomorrow's).
    "time-over-today": Case(
        "Status page updated: the outage affected saves during the period beginning at "
        "2:51 PM to 3:42 PM",
        utc(2025, 10, 14, 12, 51),
        utc(2025, 10, 14, 13, 42),
        posted="2025-10-14T18:44",
    ),
    # Month and year ends, and DST changes.
    "year-end-weekday": Case("Deploy freeze Friday", d(2026, 1, 2), posted="2025-12-30T10:00"),
    "year-end-date": Case("Kickoff Jan 5", d(2026, 1, 5), posted="2025-12-30T10:00"),
    "month-end-tomorrow": Case("Release tomorrow", d(2025, 11, 1), posted="2025-10-31T10:00"),
    "leap-day": Case("Deadline Feb 29", d(2028, 2, 29), posted="2028-02-10T10:00"),
    "dst-start-ny": Case(
        "Maintenance Sunday March 8 at 9am ET", utc(2026, 3, 8, 13), posted="2026-03-05T10:00"
    ),
    "before-dst-ny": Case(
        "Maintenance Saturday March 7 at 9am ET", utc(2026, 3, 7, 14), posted="2026-03-05T10:00"
    ),
    "dst-end-eu": Case("Release Monday 10:00", utc(2025, 10, 27, 9), posted="2025-10-24T10:00"),
    # An explicit date wins over a relative word in the same message.
    "explicit-wins": Case(
        "Tomorrow I'll share the agenda; the review meeting is on October 16", d(2025, 10, 16)
    ),
    "weekday-and-date": Case("Release Thursday, October 16", d(2025, 10, 16)),
    "date-and-time": Case("Launch October 20 at 10am", utc(2025, 10, 20, 8)),
    # Japanese: month-day, tomorrow with a time, numeric month/day.
    "ja-month-day": Case("勉強会は12月7日です", d(2025, 12, 7), zone=TOKYO),
    "ja-tomorrow-time": Case(
        "明日 16:00 からもくもく会です", utc(2025, 10, 15, 7), zone=TOKYO, posted="2025-10-14T10:00"
    ),
    "ja-numeric": Case("次回の勉強会は 11/8 開催", d(2025, 11, 8), zone=TOKYO),
}
