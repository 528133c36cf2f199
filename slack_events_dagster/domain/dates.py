"""Dates and times as people write them in chat, resolved against the posting time.

:func:`find_when` reads every date and time mention of a message ("Oct 20-22",
"20/10/2025", "2025-10-15T14:30:00Z", "next Tuesday", "in two weeks", "by COB
tomorrow", "2-4pm", "3pm PT", "15:00 CET", "明日 16:00") and chooses the one the
event happens on; :func:`date_signal` is the scorer's cheap "is there a date at all".

Everything is resolved relative to the posting time in the channel's zone
(``pipeline.timezone``): a month-day without a year is this year's unless it lies
more than :data:`RECENT_PAST_DAYS` in the past, "Tuesday" is the next Tuesday, a time
without a zone is the channel's, zone abbreviations are their region's zone (people
write "EST" in July and mean New York), and ``zoneinfo`` handles DST changes and month
and year ends.

Why hand-written finding, and which library parses: ``datetime.fromisoformat`` reads
ISO 8601 (``Z`` and offsets), ``zoneinfo`` gives every zone's offset on its day. For
*finding* dates in free text, ``dateparser.search.search_dates`` was measured on the
phrasings of ``test_dates.py``: about 25 ms a message (this module: about 20 µs), and
wrong on common chat forms ("14-16 Oct" as the year 2116, "2-4pm" not found, "3pm PT"
as a fixed UTC-8 offset all year). So the finding is regular expressions over the
words of :mod:`~slack_events_dagster.domain.lexicon`, and only the glue is ours.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
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


# -- the scorer's cheap test -----------------------------------------------------------

_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+[0-3]?\d(?!\d)")
_DAY_FIRST = re.compile(rf"\b[0-3]?\d{_ORD}\s+(?:of\s+)?{_MONTH}(?![a-z])")
_NUMERIC_SIGNAL = re.compile(
    r"(?<![\w./:-])[0-3]?\d/[0-3]?\d(?:/(?:19|20)?\d\d)?(?![\w/%])|(?:19|20)\d\d-[01]\d-[0-3]\d"
    r"|(?<![\w.])[0-3]?\d\.[01]?\d\.(?:19|20)\d\d|[01]?\d月[0-3]?\d日"
)
# A digit next to "/", "-", "." or 月: the only places a numeric date can be.
_NUMERIC_HINT = re.compile(r"\d[/.\-月]\d")
_DIGIT_RUN = re.compile(r"[0-9]+")


class _Anchors:
    """Where the scorer's patterns may begin in one message: at its words (found with
    ``str.find``) or at its runs of digits. A pattern that starts with a word boundary
    and an alternation makes the regex engine try every position of the text (15 µs
    through a long message); matched only at these places it costs a fraction."""

    __slots__ = ("_digits", "lower", "token_set")

    def __init__(self, lower: str, token_set: frozenset[str] | set[str]) -> None:
        self.lower = lower
        self.token_set = token_set
        self._digits: list[int] | None = None

    def digits(self) -> list[int]:
        if self._digits is None:
            self._digits = [run.start() for run in _DIGIT_RUN.finditer(self.lower)]
        return self._digits

    def at_words(self, pattern: re.Pattern[str], words: frozenset[str]) -> bool:
        """``pattern`` matches where one of ``words`` (present as a token) begins."""
        lower = self.lower
        for word in self.token_set & words:
            start = lower.find(word)
            while start >= 0:
                if (start == 0 or not lower[start - 1].isalnum()) and pattern.match(lower, start):
                    return True
                start = lower.find(word, start + 1)
        return False

    def at_digits(self, pattern: re.Pattern[str]) -> bool:
        """``pattern`` matches where a run of digits begins."""
        return any(pattern.match(self.lower, start) for start in self.digits())


def date_signal(lower: str, token_set: frozenset[str] | set[str]) -> str | None:
    """``"explicit"``, ``"day"``, ``"vague"`` or None: the strongest kind of date written.

    Cheap: word-set tests first, a pattern only where they say it may match.
    """
    at = _Anchors(lower, token_set)
    if not token_set.isdisjoint(MONTHS) and (
        at.at_words(_MONTH_FIRST, _MONTH_WORDS) or at.at_digits(_DAY_FIRST)
    ):
        return EXPLICIT
    if _NUMERIC_HINT.search(lower) is not None and at.at_digits(_NUMERIC_SIGNAL):
        return EXPLICIT
    days = token_set & _DAY_TOKENS
    if days and not ("last" in token_set and all(_past_weekday(lower, day) for day in days)):
        return DAY
    if not lower.isascii() and any(word in lower for word in _JA_DAY_WORDS):
        return DAY
    if not token_set.isdisjoint(_SHORT_WEEKDAYS) and at.at_words(_SHORT_WEEKDAY, _BEFORE_DAY):
        return DAY
    if not token_set.isdisjoint(_MINUTE_TOKENS) and (
        at.at_words(_IN_MINUTES, _IN_WORDS) or at.at_digits(_IN_MINUTES)
    ):
        return DAY
    if not token_set.isdisjoint(_VAGUE_TOKENS) and (
        at.at_words(_NEXT_PERIOD.pattern, _NEXT_WORDS)
        or (not lower.isascii() and ("来週" in lower or "来月" in lower))
        or at.at_words(_IN_PERIOD.pattern, _IN_PERIOD_WORDS)
        or at.at_digits(_IN_PERIOD.pattern)
        or at.at_words(_END_OF.pattern, _END_WORDS)
    ):
        return VAGUE
    return None


# The words each pattern starts with (see _Anchors).
_BEFORE_DAY = frozenset(["on", "next", "this", "coming", "until", "by"])
_IN_WORDS = frozenset(["in", "within"])
_NEXT_WORDS = frozenset(["next", "coming", "this"])
_IN_PERIOD_WORDS = _IN_WORDS | frozenset(NUMBER_WORDS)
_END_WORDS = frozenset(["eod", "cob", "eow", "end"])


_DAY_TOKENS = frozenset(
    ["tomorrow", "tmrw", "tmr", "today", "tonight", "tonite", "eod", "cob", "eow"]
) | frozenset(w for w in WEEKDAYS if len(w) > 3)


def _past_weekday(lower: str, day: str) -> bool:
    """ "the release last Tuesday": a day named only as past is no date to come."""
    return day in WEEKDAYS and f"last {day}" in lower and lower.count(day) == 1


# "wed", "sat", "sun", "mon" are words too; with "on"/"next"/"this" in front they are days.
_SHORT_WEEKDAYS = frozenset(["mon", "wed", "sat", "sun"])
_SHORT_WEEKDAY = re.compile(r"\b(?:on|next|this|coming|until|by)\s+(?:mon|wed|sat|sun)\b")
_MINUTE_TOKENS = frozenset(["minutes", "minute", "mins", "min", "hours", "hour", "hrs"])
_JA_DAY_WORDS = ("明日", "今日", "本日", "今夜", "今晩", "曜日")
_VAGUE_TOKENS = frozenset(["week", "weeks", "month", "months", "weekend", "days", "day"])


def time_signal(lower: str, token_set: frozenset[str] | set[str]) -> bool:
    """A time of day is written ("3pm", "15:00", "noon", "16時")."""
    if not token_set.isdisjoint(_TIME_TOKENS) or "時" in lower:
        return True
    if not token_set.isdisjoint(_MINUTE_TOKENS) and _IN_MINUTES.search(lower):
        return True
    if ":" in lower:
        for match in _COLON_MINUTES.finditer(lower):
            if match.start() and lower[match.start() - 1].isdigit():
                return True
    return ("am" in token_set or "pm" in token_set or "m" in token_set) and (
        _AMPM_TIME.search(lower) is not None
    )


_TIME_TOKENS = frozenset(["noon", "midnight", "midday"])
_COLON_MINUTES = re.compile(r":[0-5]\d(?!\d)")
_AMPM_TIME = re.compile(r"\d\s*[ap]\.?m\b")


# -- the scorer's cheaper look: what the raw text may hold --------------------------------

# Digits around "/", "-", ".", ":" or before am/pm (emoji between are dropped from the
# prose): where a numeric date or time of day can be.
_DIGIT_DATE = re.compile(r"\d(?:[/.\-:]\d|\s*(?::[a-z0-9_+'-]+:\s*)*[ap]\.?m\b)")
_DIGIT = re.compile(r"\d")
_MONTH_WORDS = frozenset(MONTHS)
_DAY_WORDS = _DAY_TOKENS | _SHORT_WEEKDAYS
_PERIOD_OPENERS = frozenset(["next", "coming", "this", "end"])
_COUNTED_OPENERS = frozenset(["in", "within", "from", "till", "until", "to", "away"])
_NUMBERS = frozenset(NUMBER_WORDS)
# Every Japanese date and time pattern holds one of these characters.
_JA_DATE_MARK = re.compile("[月日時週夜晩]")

_CUE_WORDS = _MONTH_WORDS | _DAY_WORDS | _MINUTE_TOKENS | _VAGUE_TOKENS | _TIME_TOKENS


def date_cues(lower: str, token_set: frozenset[str]) -> tuple[str | None, bool]:
    """The strongest date kind, and whether a time of day, the text *may* hold: at
    least what :func:`date_signal` and :func:`time_signal` find in its prose (which
    only drops words and marks from the text). Set tests and a small search, mirroring
    the words each of their patterns needs."""
    if _DIGIT_DATE.search(lower) is not None:
        return EXPLICIT, True
    if not lower.isascii() and _JA_DATE_MARK.search(lower) is not None:
        return EXPLICIT, True
    found = token_set & _CUE_WORDS
    if not found:
        return None, False
    digit = _DIGIT.search(lower) is not None
    counted = not token_set.isdisjoint(_COUNTED_OPENERS) and (
        digit or not token_set.isdisjoint(_NUMBERS)
    )
    in_minutes = counted and not found.isdisjoint(_MINUTE_TOKENS)
    timed = in_minutes or not found.isdisjoint(_TIME_TOKENS)
    if digit and not found.isdisjoint(_MONTH_WORDS):
        # "March 3", "3rd of March": a month name is a date next to a number only.
        return EXPLICIT, timed
    if in_minutes or not found.isdisjoint(_DAY_WORDS):
        return DAY, timed
    vague = not found.isdisjoint(_VAGUE_TOKENS) and (
        counted or not token_set.isdisjoint(_PERIOD_OPENERS)
    )
    return (VAGUE if vague else None), timed


# -- finding ---------------------------------------------------------------------------


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _year_for(month: int, day: int, base: date) -> int | None:
    """The year of a month-day without one: this year unless clearly past (prefer future)."""
    for year in (base.year, base.year + 1):
        candidate = _safe_date(year, month, day)
        if candidate is not None and candidate >= base - timedelta(days=RECENT_PAST_DAYS):
            return year
    return None


def _month_day(month: int, day: int, year: int | None, base: date) -> date | None:
    if year is None:
        year = _year_for(month, day, base)
        if year is None:
            return None
    return _safe_date(year, month, day)


def _range_end(start: date, month: int, day: int) -> date | None:
    """The last day of a range starting at ``start`` ("Oct 31 - Nov 2" crosses a year too)."""
    year = start.year + (1 if month < start.month else 0)
    end = _safe_date(year, month, day)
    if end is None or not start < end <= start + timedelta(days=62):
        return None
    return end


def _weekday_date(base: date, weekday: int, modifier: str | None) -> date:
    ahead = (weekday - base.weekday()) % 7
    if modifier == "next":
        # "next Tuesday" is the Tuesday of next calendar week (weeks start on Monday).
        return base + timedelta(days=7 - base.weekday() + weekday)
    if modifier == "this":
        return base + timedelta(days=ahead)
    # A bare weekday named on that same weekday means next week's: today is "today".
    return base + timedelta(days=ahead or 7)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def _numeric(first: int, second: int, order: DateOrder, sep: str) -> tuple[int, int] | None:
    """(month, day) of "a/b" or "a.b": dotted dates are day-first, as in Europe."""
    if sep == "." or first > 12:
        month, day = second, first
    elif second > 12 or order == "month_first":
        month, day = first, second
    else:
        month, day = second, first
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return month, day


class _Found:
    """Date mentions in text order, none overlapping another."""

    def __init__(self) -> None:
        self.hits: list[DateMention] = []

    def free(self, begin: int, finish: int) -> bool:
        return all(finish <= hit.begin or begin >= hit.finish for hit in self.hits)

    def add(self, hit: DateMention) -> None:
        if self.free(hit.begin, hit.finish):
            self.hits.append(hit)


def find_dates(lower: str, base: datetime, order: DateOrder = "month_first") -> list[DateMention]:
    """Every date mention of ``lower``, resolved against ``base`` (aware, the local zone)."""
    today = base.date()
    found = _Found()
    if "-" in lower or "/" in lower:
        _iso(lower, base, found)
    _month_names(lower, today, found)
    if "/" in lower or "." in lower:
        _numeric_dates(lower, today, order, found)
    if "月" in lower or "曜" in lower or "日" in lower:
        _japanese(lower, today, found)
    _relative(lower, today, found)
    hits = sorted(found.hits, key=lambda hit: hit.begin)
    return _merge_neighbours(hits, lower)


def _iso(lower: str, base: datetime, found: _Found) -> None:
    for match in _ISO_INSTANT.finditer(lower):
        text = match["iso"].upper().replace(" ", "T")
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            continue
        found.add(DateMention(instant.date(), None, *match.span(), EXPLICIT, instant=instant))
    for match in _ISO_DATE.finditer(lower):
        start = _safe_date(int(match["y"]), int(match["m"]), int(match["d"]))
        if start is None:
            continue
        end = None
        if match["d2"]:
            year2 = int(match["y2"]) if match["y2"] else start.year
            end = _safe_date(year2, int(match["m2"]), int(match["d2"]))
        found.add(DateMention(start, end if end and end > start else None, *match.span(), EXPLICIT))


def _month_names(lower: str, today: date, found: _Found) -> None:
    for pattern in (_MONTH_DAY, _DAY_MONTH):
        for match in pattern.finditer(lower):
            if not found.free(*match.span()):
                continue
            month = MONTHS[match["mon"].rstrip(".")]
            if match["mon"].rstrip(".") in ("may", "mar") and not _month_context(lower, match):
                continue
            year = int(match["y"]) if match["y"] else None
            start = _month_day(month, int(match["d"]), year, today)
            if start is None:
                continue
            end = None
            if match["d2"]:
                month2 = month
                if pattern is _MONTH_DAY and match["mon2"]:
                    month2 = MONTHS[match["mon2"].rstrip(".")]
                end = _range_end(start, month2, int(match["d2"]))
            found.add(DateMention(start, end, *match.span(), EXPLICIT))


def _month_context(lower: str, match: re.Match[str]) -> bool:
    """ "may 5" is a date; "you may 2x the speed" is not: a capital or "the"/"on" before."""
    before = lower[max(0, match.start() - 6) : match.start()]
    return bool(re.search(r"(?:on|the|by|from|until|,|\()\s*$", before)) or match["y"] is not None


def _numeric_dates(lower: str, today: date, order: DateOrder, found: _Found) -> None:
    for match in _NUMERIC_DATE.finditer(lower):
        if not found.free(*match.span()) or match.group(0).startswith(("24/7", "50/50")):
            continue
        sep = match["sep"]
        if sep == "." and match["y"] is None:
            continue  # "4.14" is a version, "20.10." too often a sentence end
        parsed = _numeric(int(match["a"]), int(match["b"]), order, sep)
        if parsed is None:
            continue
        month, day = parsed
        year = None
        if match["y"]:
            year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
        start = _month_day(month, day, year, today)
        if start is None:
            continue
        end = None
        if match["a2"]:
            second = _numeric(int(match["a2"]), int(match["b2"]), order, sep)
            if second is not None:
                end = _range_end(start, *second)
        found.add(DateMention(start, end, *match.span(), EXPLICIT))


def _japanese(lower: str, today: date, found: _Found) -> None:
    for match in _JA_DATE.finditer(lower):
        year = int(match["y"]) if match["y"] else None
        start = _month_day(int(match["m"]), int(match["d"]), year, today)
        if start is None:
            continue
        end = None
        if match["d2"]:
            end = _range_end(start, int(match["m2"] or match["m"]), int(match["d2"]))
        found.add(DateMention(start, end, *match.span(), EXPLICIT))
    for match in _JA_WEEKDAY.finditer(lower):
        if not found.free(*match.span()) or (match["mod"] is None and "曜" not in match.group(0)):
            continue
        modifier = {"来週": "next", "今週": "this"}.get(match["mod"] or "")
        start = _weekday_date(today, _JA_WEEKDAYS[match["wd"]], modifier)
        found.add(DateMention(start, None, *match.span(), DAY))


def _relative(lower: str, today: date, found: _Found) -> None:
    for match in _END_OF.finditer(lower):
        what = match["what"]
        if what in ("eod", "cob") or what.endswith("day"):
            # "EOD Friday" / "Friday EOD": the weekday (found below) gives the date.
            found.add(DateMention(today, None, *match.span(), DAY, eod=True))
        elif what == "eow" or what.endswith("week"):
            friday = today + timedelta(days=(4 - today.weekday()) % 7)
            found.add(DateMention(friday, None, *match.span(), DAY, eod=True))
        else:
            last = calendar.monthrange(today.year, today.month)[1]
            found.add(DateMention(today.replace(day=last), None, *match.span(), DAY))
    for match in _RELATIVE_DAY.finditer(lower):
        word = match["word"] or match["ja"]
        if word.startswith("day after") or word == "明後日":
            start = today + timedelta(days=2)
        elif word in ("tomorrow", "tmrw", "tmr", "明日"):
            start = today + timedelta(days=1)
        else:
            start = today
        found.add(DateMention(start, None, *match.span(), DAY))
    for match in _WEEKDAY_RE.finditer(lower):
        if not found.free(*match.span()):
            continue
        if lower[: match.start()].rstrip().endswith(("it's", "it is", "happy", "last")):
            continue  # "it's Friday": what today is, not when something happens
        word = match["wd"]
        if word in ("sat", "sun", "wed", "mon") and match["mod"] is None:
            continue  # also ordinary words; only with "next/this/on" in front
        modifier = match["mod"] if match["mod"] in ("next", "this") else None
        start = _weekday_date(today, WEEKDAYS[word], modifier)
        found.add(DateMention(start, None, *match.span(), DAY))
    for match in _NEXT_PERIOD.finditer(lower):
        next_monday = today + timedelta(days=7 - today.weekday())
        what = match["what"] or match["ja"]
        if match["this"] == "week":
            start = today  # "the AMA this week": sometime this week, known from now on
        elif what in ("week", "来週"):
            start = next_monday
        elif what in ("month", "来月"):
            start = _add_months(today.replace(day=1), 1)
        elif match["this"]:
            start = today + timedelta(days=(5 - today.weekday()) % 7)
        else:
            start = next_monday + timedelta(days=5)
        found.add(DateMention(start, None, *match.span(), VAGUE))
    for match in _IN_PERIOD.finditer(lower):
        count = _count(match["n"] or match["n2"])
        unit = match["unit"] or match["unit2"]
        if match["n"] in ("a", "an") and unit == "day":
            continue  # "shipped it in a day": how long something took, not a date
        if unit.startswith("month"):
            start = _add_months(today, count)
        else:
            start = today + timedelta(days=count * (7 if unit.startswith("week") else 1))
        # "in 5 days" names a day; "in two weeks" a rough one.
        kind = DAY if unit.startswith("day") else VAGUE
        found.add(DateMention(start, None, *match.span(), kind))


def _merge_neighbours(hits: list[DateMention], lower: str) -> list[DateMention]:
    """Fold neighbours into one reading: "EOD Friday", "Friday EOD", "Tuesday, March 10"."""
    merged: list[DateMention] = []
    for hit in hits:
        if merged:
            previous = merged[-1]
            close = _GAP.match(lower[previous.finish : hit.begin]) is not None
            if close and previous.eod and not hit.eod and hit.kind != VAGUE:
                merged[-1] = replace(hit, begin=previous.begin, eod=True)
                continue
            if close and hit.eod and not previous.eod and previous.kind != VAGUE:
                merged[-1] = replace(previous, finish=hit.finish, eod=True)
                continue
            if close and previous.kind == DAY and hit.kind == EXPLICIT:
                # "Tuesday, March 10": the written date is the more precise reading.
                merged[-1] = replace(hit, begin=previous.begin)
                continue
            if (
                close
                and previous.kind == EXPLICIT
                and hit.kind == DAY
                and _weekday_word(lower, hit)
            ):
                # "March 10 (Tuesday)": the weekday only confirms the written date.
                merged[-1] = replace(previous, finish=hit.finish)
                continue
        merged.append(hit)
    return merged


def _weekday_word(lower: str, hit: DateMention) -> bool:
    return _WEEKDAY_RE.pattern.fullmatch(lower[hit.begin : hit.finish].strip(" ,()")) is not None


def _hour(hour: int, ampm: str | None) -> int:
    if ampm is None:
        return hour
    if ampm.startswith("p") and hour < 12:
        return hour + 12
    if ampm.startswith("a") and hour == 12:
        return 0
    return hour


def _zone_name(zone: str | None, offset: str | None) -> str | None:
    if zone is None and offset is None:
        return None
    name = ZONE_ABBREVIATIONS[zone] if zone is not None else "UTC"
    if offset and name == "UTC":
        sign = offset[0]
        digits = offset[1:].replace(":", "")
        hours = int(digits[:-2] if len(digits) > 2 else digits)
        minutes = int(digits[-2:]) if len(digits) > 2 else 0
        if minutes == 0 and hours <= 14:
            # IANA's Etc zones have inverted signs: UTC+2 is Etc/GMT-2.
            return "UTC" if hours == 0 else f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    return name


def find_times(lower: str) -> list[TimeMention]:
    hits: list[TimeMention] = []

    def free(begin: int, finish: int) -> bool:
        return all(finish <= hit.begin or begin >= hit.finish for hit in hits)

    digits = _DIGIT.search(lower) is not None
    if not digits and not any(word in lower for word in ("noon", "midday", "midnight", "時")):
        return hits
    for match in _TIME_RANGE.finditer(lower) if digits else ():
        ap1, ap2 = match["ap1"], match["ap2"]
        # "2-4" alone is not a time; a colon or am/pm says it is.
        if not (ap1 or ap2 or match["m1"] or match["m2"]):
            continue
        if (match["m1"] is None) != (match["m2"] is None) and not (ap1 or ap2):
            continue
        h1, h2 = int(match["h1"]), int(match["h2"])
        if ap1 is None and ap2 is not None:
            # "2-4pm": the first half shares the meridiem unless that puts it after the end.
            ap1 = ap2 if _hour(h1, ap2) <= _hour(h2, ap2) else ("am" if ap2[0] == "p" else "pm")
        start = time(_hour(h1, ap1), int(match["m1"] or 0))
        end_hour = _hour(h2, ap2 or ap1)
        if ap1 is None and ap2 is None and end_hour <= start.hour < end_hour + 12:
            # "12:30-1:30" is lunch time, not 12:30 to 01:30; "22:00-02:00" stays overnight.
            end_hour += 12
        end = time(end_hour % 24, int(match["m2"] or 0))
        zone = _zone_name(match["zone"] or match["z1"], match["off"] or match["bare_off"])
        hits.append(TimeMention(start, end, zone, *match.span()))
    for match in _TIME_SINGLE.finditer(lower):
        if not free(*match.span()):
            continue
        if match["word"]:
            start = time(0, 0) if match["word"] == "midnight" else time(12, 0)
        elif match["h"] is not None:
            start = time(_hour(int(match["h"]), match["ap"]), int(match["m"] or 0))
        else:
            hour = int(match["h24"])
            if 1 <= hour <= 7 and not match["h24"].startswith("0") and match["zone"] is None:
                # "Doors 6:30": an unpadded hour before 8 without am/pm is the evening.
                hour += 12
            start = time(hour, int(match["m24"]))
        zone = _zone_name(match["zone"], match["off"] or match["bare_off"])
        hits.append(TimeMention(start, None, zone, *match.span()))
    if "時" in lower:
        for match in _JA_TIME.finditer(lower):
            if not free(*match.span()):
                continue
            minute = 30 if match["half"] is not None else int(match["m1"] or 0)
            start = time(int(match["h1"]), minute)
            until = time(int(match["h2"]), int(match["m2"] or 0)) if match["h2"] else None
            hits.append(TimeMention(start, until, None, *match.span()))
    hits.sort(key=lambda hit: hit.begin)
    return hits


def has_past_day(lower: str) -> bool:
    """ "yesterday", "last week", "last Tuesday", "the latency thing this morning was":
    the text talks about the past."""
    return _PAST_DAY.search(lower) is not None or _EARLIER_TODAY.search(lower) is not None


_EARLIER_TODAY = Guarded(
    r"\b(?:this\s+morning|earlier\s+today)\b[^.!?\n]{0,30}\b(?:was|were|had|went)\b"
    r"|\b(?:was|were|had|went)\b[^.!?\n]{0,30}\b(?:this\s+morning|earlier\s+today)\b",
    ("morning", "today"),
)


# -- choosing and resolving --------------------------------------------------------------


def _combine(day: date, moment: time, zone: tzinfo) -> datetime:
    # zoneinfo resolves DST: 09:00 on the day clocks change gets that day's offset.
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def _near(day: DateMention, moment: TimeMention) -> bool:
    if moment.begin >= day.finish:
        return moment.begin - day.finish <= _NEAR_CHARS
    return day.begin - moment.finish <= _NEAR_CHARS // 3


def _after_since(lower: str, moment: TimeMention) -> bool:
    return lower[: moment.begin].rstrip(" *_~(").endswith(("since", "as of", "started at"))


def choose_date(
    dates: Sequence[DateMention],
    times: Sequence[TimeMention],
    lower: str,
    today: date,
    *,
    prefer_after: int | None = None,
    focus: int | None = None,
) -> DateMention | None:
    """The date the event happens on.

    A change ("moved from Tuesday to Thursday") takes the date after the change words.
    Otherwise, a date that is not over beats one that is; a written date beats a named
    day ("Tomorrow I'll share the agenda; the review is on October 16"), which beats a
    vague period; then a day with a time next to it, a day set in bold, the day nearest
    the event word (``focus``), the first.
    """
    if not dates:
        return None
    if prefer_after is not None:
        after = [hit for hit in dates if hit.begin >= prefer_after and hit.kind != VAGUE]
        if after:
            return after[0]
    bold = [(m.start(), m.end()) for m in _BOLD_SPAN.finditer(lower)] if "*" in lower else []

    def rank(hit: DateMention) -> tuple[int, int, int, int, int, int]:
        over = (hit.end or hit.start) < today
        timed = any(_near(hit, moment) for moment in times)
        in_bold = any(b <= hit.begin < e for b, e in bold)
        distance = abs(hit.begin - focus) if focus is not None else 0
        return (over, _KIND_RANK[hit.kind], not timed, not in_bold, distance, hit.begin)

    return min(dates, key=rank)


def find_when(
    lower: str,
    base: datetime,
    default_zone: str,
    *,
    order: DateOrder = "month_first",
    prefer_after: int | None = None,
    focus: int | None = None,
) -> When | None:
    """The date (and time) the text names for its event, or None when it names none.

    ``base`` is the posting time; ``default_zone`` the channel's zone, used for
    relative days and for times written without a zone.
    """
    local_base = base.astimezone(ZoneInfo(default_zone))
    asked = _question_spans(lower) if "?" in lower else []
    dates = [hit for hit in find_dates(lower, local_base, order) if not _inside(hit, asked)]
    times = [hit for hit in find_times(lower) if not _inside(hit, asked)]
    soon = (
        _IN_MINUTES.search(lower) if ("min" in lower or "hour" in lower or "hr" in lower) else None
    )
    if (
        soon is not None
        and not any(hit.kind == EXPLICIT for hit in dates)
        and (not times or _alone_with(lower, soon.start(), focus, times))
    ):
        # "doors open for the meetup in 45 min! volunteers, meet at 6:10": the minutes
        # in the event's sentence date it, a time in another sentence is something else.
        return _minutes_from(soon, base, default_zone, dates)
    if not dates and not times:
        return None
    chosen = choose_date(
        dates, times, lower, local_base.date(), prefer_after=prefer_after, focus=focus
    )
    mentions = tuple((hit.begin, hit.finish) for hit in dates) + tuple(
        (hit.begin, hit.finish) for hit in times
    )
    if soon is not None:
        mentions = (*mentions, soon.span())
    if chosen is not None and chosen.instant is not None:
        return _instant(chosen, default_zone, mentions)
    chosen_time = _choose_time(chosen, times, lower)
    zone_name, explicit_zone = default_zone, False
    if chosen_time is not None and chosen_time.zone is not None:
        zone_name, explicit_zone = chosen_time.zone, True
    spans = tuple((hit.begin, hit.finish) for hit in (chosen, chosen_time) if hit is not None)
    source = (
        DateSource.WRITTEN if chosen is None or chosen.kind == EXPLICIT else DateSource.RELATIVE
    )
    zone = ZoneInfo(zone_name)
    if chosen is None:
        assert chosen_time is not None
        day = _day_of_bare_time(lower, local_base.astimezone(zone), chosen_time)
        source = DateSource.RELATIVE
        return _timed(
            day, chosen_time, zone, zone_name, "time", source, explicit_zone, spans, mentions
        )
    if chosen_time is not None:
        return _timed(
            chosen.start,
            chosen_time,
            zone,
            zone_name,
            chosen.kind,
            source,
            explicit_zone,
            spans,
            mentions,
        )
    # "EOD Friday" without an hour is Friday, all day: EOD has no agreed hour.
    return When(
        chosen.start, chosen.end, zone_name, chosen.kind, source, False, False, spans, mentions
    )


def _alone_with(lower: str, at: int, focus: int | None, times: Sequence[TimeMention]) -> bool:
    """``at`` is in the sentence of ``focus``, and no time of ``times`` is."""
    if focus is None:
        return False
    sentence = _sentence_span(lower, at)
    return sentence == _sentence_span(lower, focus) and not any(
        sentence[0] <= hit.begin < sentence[1] for hit in times
    )


def _sentence_span(lower: str, at: int) -> tuple[int, int]:
    start = max(lower.rfind(mark, 0, at) for mark in ".!?\n") + 1
    ends = [end for end in (lower.find(mark, at) for mark in ".!?\n") if end >= 0]
    return start, min(ends, default=len(lower))


_QUESTION_SENTENCE = re.compile(r"[^.!?\n]*\?")


def _question_spans(lower: str) -> list[tuple[int, int]]:
    """Where the text asks: "can we get a 4.12.1 out today?" names no day of an event."""
    return [match.span() for match in _QUESTION_SENTENCE.finditer(lower)]


def _inside(hit: DateMention | TimeMention, spans: Sequence[tuple[int, int]]) -> bool:
    return any(begin <= hit.begin and hit.finish <= end for begin, end in spans)


def _minutes_from(
    match: re.Match[str], base: datetime, zone_name: str, dates: Sequence[DateMention]
) -> When:
    """ "Starts in 15 minutes": the posting time plus the delay, to the minute."""
    count = _count(match["n"] or match["n2"])
    unit = match["unit"] or match["unit2"]
    delta = timedelta(hours=count) if unit.startswith("h") else timedelta(minutes=count)
    start = (base + delta).astimezone(UTC).replace(second=0, microsecond=0)
    mentions = (*((hit.begin, hit.finish) for hit in dates), match.span())
    return When(
        start, None, zone_name, DAY, DateSource.RELATIVE, True, False, (match.span(),), mentions
    )


def _choose_time(
    chosen: DateMention | None, times: Sequence[TimeMention], lower: str
) -> TimeMention | None:
    if not times:
        return None
    if chosen is None:
        # Without a day: "since 07:00 UTC" names a start, then a time with a zone.
        return next(
            (hit for hit in times if _after_since(lower, hit)),
            next((hit for hit in times if hit.zone is not None), times[0]),
        )

    def distance(hit: TimeMention) -> int:
        assert chosen is not None
        if hit.begin >= chosen.finish:
            return hit.begin - chosen.finish
        return (chosen.begin - hit.finish) * 2 + 1

    best = min(times, key=distance)
    # A time far from the date belongs to something else ("deploy at 3pm ... review Oct 16").
    return best if distance(best) <= 80 else None


def _day_of_bare_time(lower: str, local_base: datetime, moment: TimeMention) -> date:
    """A time without a day is today's, unless it was over well before the message was
    posted ("standup at 9am" written at 5pm means tomorrow; "down since 14:05" written at
    14:10 means today)."""
    day = local_base.date()
    posted = datetime.combine(day, local_base.time())
    if _after_since(lower, moment):
        if datetime.combine(day, moment.start) > posted:
            day -= timedelta(days=1)
    elif datetime.combine(day, moment.start) < posted - TIME_ONLY_GRACE:
        day += timedelta(days=1)
    return day


def _timed(
    day: date,
    hit: TimeMention,
    zone: tzinfo,
    zone_name: str,
    kind: str,
    source: DateSource,
    explicit_zone: bool,
    spans: tuple[tuple[int, int], ...],
    mentions: tuple[tuple[int, int], ...],
) -> When:
    start = _combine(day, hit.start, zone)
    end = None
    if hit.end is not None:
        end_day = day + timedelta(days=1) if hit.end <= hit.start else day
        end = _combine(end_day, hit.end, zone)
    return When(start, end, zone_name, kind, source, True, explicit_zone, spans, mentions)


def _instant(hit: DateMention, default_zone: str, mentions: tuple[tuple[int, int], ...]) -> When:
    """An ISO 8601 instant: with ``Z`` or an offset it is exact; without, the channel's."""
    assert hit.instant is not None
    instant = hit.instant
    if instant.tzinfo is None:
        zone_name = default_zone
        start = instant.replace(tzinfo=ZoneInfo(default_zone)).astimezone(UTC)
        explicit = False
    else:
        offset = instant.utcoffset() or timedelta()
        hours, rest = divmod(int(offset.total_seconds()), 3600)
        zone_name = (
            "UTC"
            if offset == timedelta()
            else (f"Etc/GMT{'-' if hours >= 0 else '+'}{abs(hours)}" if rest == 0 else "UTC")
        )
        start = instant.astimezone(UTC)
        explicit = True
    spans = ((hit.begin, hit.finish),)
    return When(
        start, None, zone_name, EXPLICIT, DateSource.WRITTEN, True, explicit, spans, mentions
    )
