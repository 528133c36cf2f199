"""The patterns of dates and times as chat writes them, and what a found one is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from slack_events_dagster.domain.lexicon import (
    MONTHS,
    NUMBER_WORDS,
    WEEKDAYS,
    ZONE_ABBREVIATIONS,
)
from slack_events_dagster.domain.models import DateSource
from slack_events_dagster.domain.text import Guarded

DateOrder = Literal["month_first", "day_first"]

# A month-day without a year that lies at most this far in the past is read as this
# year's (an ongoing or just-finished event), anything earlier as next year's.
RECENT_PAST_DAYS = 3
# How long before its posting time a bare "at 14:05" may lie and still mean today.
TIME_ONLY_GRACE = timedelta(hours=2)
# How close (characters) a time must follow its date to belong to it ("Friday at 3pm").
_NEAR_CHARS = 30

# Mention kinds, strongest first: a written date, a named day, a vague period.
EXPLICIT, DAY, VAGUE = "explicit", "day", "vague"
_KIND_RANK = {EXPLICIT: 0, DAY: 1, VAGUE: 2}

_ZONE_NAMES = "|".join(sorted(ZONE_ABBREVIATIONS, key=len, reverse=True))
_ZONE = (
    rf"(?:\(?\s*(?P<zone>{_ZONE_NAMES})"
    r"(?:\s*(?P<off>[+-]\d{1,2}(?::?[0-5]\d)?))?\b\)?(?:\s+time\b)?"
    r"|(?P<bare_off>(?<![\d:])[+-](?:0\d|1[0-4]):?[0-5]\d\b))"
)
_MONTH = "(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = "(?:" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + ")"
_ORD = r"(?:st|nd|rd|th)?"
_DASH = r"\s*(?:-|\u2013|\u2014|~|〜|to|through|thru|until|till)\s*"
# A day-of-month must not be the hour of "March 10:00" or part of "10am".
_DAY_END = r"(?!\d)(?!:\d)(?!\s*(?:am|pm|a\.m|p\.m)\b)"
_YEAR = r"(?:,?\s+(?P<y>(?:19|20)\d\d)(?!\d))?"

_ISO_INSTANT = re.compile(
    r"(?<![\w-])(?P<iso>(?:19|20)\d\d-[01]\d-[0-3]\d[t ][0-2]\d:[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
    r"(?:z|[+-][01]\d:?[0-5]\d)?)(?![\w:])"
)
_ISO_DATE = re.compile(
    r"(?<![\w./-])(?P<y>(?:19|20)\d\d)[-/](?P<m>[01]?\d)[-/](?P<d>[0-3]?\d)(?![\d/-])"
    r"(?:" + _DASH + r"(?:(?P<y2>(?:19|20)\d\d)[-/])?(?P<m2>[01]?\d)[-/](?P<d2>[0-3]?\d)(?![\d/]))?"
)
_MONTH_STEMS = tuple(sorted({name[:3] for name in MONTHS}))
_MONTH_DAY = Guarded(
    rf"\b(?P<mon>{_MONTH})\s+(?:the\s+)?(?P<d>[0-3]?\d){_ORD}{_DAY_END}"
    rf"(?:{_DASH}(?:(?P<mon2>{_MONTH})\s+)?(?P<d2>[0-3]?\d){_ORD}{_DAY_END})?{_YEAR}",
    _MONTH_STEMS,
)
_DAY_MONTH = Guarded(
    rf"\b(?:the\s+)?(?P<d>[0-3]?\d){_ORD}"
    rf"(?:{_DASH}(?:the\s+)?(?P<d2>[0-3]?\d){_ORD})?\s+(?:of\s+)?(?P<mon>{_MONTH})(?![a-z])"
    rf"{_YEAR}",
    _MONTH_STEMS,
)
# "10/20", "20/10/2025", "10/20/25", "20.10.2025"; not "24/7", "1/2 cup", a version.
_NUMERIC_DATE = re.compile(
    r"(?<![\w./:-])(?P<a>[0-3]?\d)(?P<sep>[/.])(?P<b>[0-3]?\d)"
    r"(?:(?P=sep)(?P<y>(?:19|20)?\d\d))?(?![\w/%]|\.\d)"
    r"(?:" + _DASH + r"(?P<a2>[0-3]?\d)(?P=sep)(?P<b2>[0-3]?\d)(?![\w/%]|\.\d))?"
)
_JA_DATE = re.compile(
    r"(?:(?P<y>(?:19|20)\d\d)年)?(?P<m>[01]?\d)月(?P<d>[0-3]?\d)日"
    r"(?:\s*[〜~\-\u2013]\s*(?:(?P<m2>[01]?\d)月)?(?P<d2>[0-3]?\d)日)?"
)
_DAY_OF_MONTH = re.compile(r"\bon\s+the\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)\b")
_RELATIVE_DAY = Guarded(
    r"\b(?P<word>day\s+after\s+tomorrow|tomorrow|tmrw|tmr|today|tonight|tonite"
    r"|this\s+(?:morning|afternoon|evening))\b|(?P<ja>明後日|明日|今日|本日|今夜|今晩)",
    ("tom", "tmr", "tod", "toni", "this", "明", "今", "本日"),
)
_WEEKDAY_RE = Guarded(
    rf"\b(?:(?P<mod>next|this|coming|on|by|until|till)\s+)?(?P<wd>{_WEEKDAY})\b\.?",
    ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
)
_JA_WEEKDAY = re.compile(r"(?P<mod>来週|今週|次の)?(?P<wd>[月火水木金土日])曜日?")
_END_OF = Guarded(
    r"\b(?P<what>eod|cob|eow|end\s+of\s+(?:the\s+)?(?:business\s+)?(?:day|week|month))\b",
    ("eod", "cob", "eow", "end"),
)
_NEXT_PERIOD = Guarded(
    r"\b(?:next|coming)\s+(?P<what>week|weekend|month)\b|\bthis\s+(?P<this>weekend|week)\b"
    r"|(?P<ja>来週|来月)",
    ("next", "coming", "this", "来週", "来月"),
)
_NUMBER = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_IN_PERIOD = Guarded(
    rf"\b(?:in|within)\s+(?P<n>{_NUMBER}|\d{{1,2}})\s+(?P<unit>days?|weeks?|months?)\b"
    rf"|\b(?P<n2>{_NUMBER}|\d{{1,2}})\s+(?P<unit2>days?|weeks?)\s+from\s+(?:now|today)\b",
    ("day", "week", "month"),
)
# "starts in 15 minutes", "45 minutes till", "in the next 20 minutes", "live in 88 minutes".
_IN_MINUTES = re.compile(
    rf"\b(?:in|within)\s+(?:the\s+next\s+|about\s+|around\s+|~\s*)?(?P<n>\d{{1,3}}|{_NUMBER})"
    r"\s*(?P<unit>minutes?|mins?|hours?|hrs?)\b"
    r"|\b(?P<n2>\d{1,3})\s*(?P<unit2>minutes?|mins?|hours?)\s+(?:till|until|to\s+go|from\s+now|away)\b"
)
_PAST_DAY = Guarded(
    r"\b(?:yesterday|last\s+(?:night|week|" + _WEEKDAY + r"))\b|昨日", ("yesterday", "last", "昨日")
)

_AMPM = r"(?:am|pm|a\.m\.?|p\.m\.?)"
_HOUR = r"(?:[01]?\d|2[0-3])"
_TIME_RANGE = re.compile(
    r"(?<![\d.:/\w-])(?:from\s+|between\s+)?(?P<h1>" + _HOUR + r")(?::(?P<m1>[0-5]\d))?"
    r"\s*(?P<ap1>" + _AMPM + r")?(?:\s*(?P<z1>" + _ZONE_NAMES + r")\b)?"
    r"\s*(?:-|\u2013|\u2014|~|〜|to|until|till|and)\s*"
    r"(?P<h2>" + _HOUR + r")(?::(?P<m2>[0-5]\d))?\s*(?P<ap2>" + _AMPM + r")?(?![\d:])"
    r"(?:\s*" + _ZONE + r")?"
)
_TIME_SINGLE = re.compile(
    r"(?<![\d.:/\w-])(?:(?P<h>" + _HOUR + r")(?::(?P<m>[0-5]\d))?\s*(?P<ap>" + _AMPM + r")"
    r"|(?P<h24>" + _HOUR + r"):(?P<m24>[0-5]\d)(?![\d:])|(?P<word>noon|midday|midnight)\b)"
    r"(?:\s*" + _ZONE + r")?"
)
_JA_TIME = re.compile(
    r"(?P<h1>" + _HOUR + r")時(?:(?P<m1>[0-5]\d)分|半(?P<half>))?"
    r"(?:\s*[〜~\-\u2013から]+\s*(?P<h2>" + _HOUR + r")時(?:(?P<m2>[0-5]\d)分)?)?"
)
_BOLD_SPAN = re.compile(r"\*[^*\n]+\*")
_GAP = re.compile(r"^[\s,]*(?:on|this|by|at|\(|\uff08)?[\s,]*$")
_JA_WEEKDAYS = {"月": 0, "火": 1, "水": 2, "木": 3, "金": 4, "土": 5, "日": 6}


@dataclass(frozen=True, slots=True)
class DateMention:
    start: date
    end: date | None
    begin: int
    finish: int
    kind: str
    # EOD / COB / EOW: a deadline at the end of the working day.
    eod: bool = False
    # An ISO 8601 instant ("2025-10-15T14:30:00Z"): the date and time in one.
    instant: datetime | None = None


@dataclass(frozen=True, slots=True)
class TimeMention:
    start: time
    end: time | None
    zone: str | None
    begin: int
    finish: int


@dataclass(frozen=True)
class When:
    """A resolved start (and end), in the zone it was written in."""

    start: date | datetime
    end: date | datetime | None
    timezone: str
    kind: str
    source: DateSource
    has_time: bool
    explicit_zone: bool
    # Where the chosen date and time are written.
    spans: tuple[tuple[int, int], ...]
    # Where every date and time of the text is written (titles leave them out).
    mentions: tuple[tuple[int, int], ...] = ()

    @property
    def day(self) -> date:
        return (
            self.start.astimezone(ZoneInfo(self.timezone)).date()
            if isinstance(self.start, datetime)
            else self.start
        )
