"""Finding every date and time mention of a text."""

from __future__ import annotations

import calendar
import re
from bisect import bisect_right
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from slack_events_dagster.domain.dates.patterns import (
    _DAY_MONTH,
    _END_OF,
    _GAP,
    _IN_PERIOD,
    _ISO_DATE,
    _ISO_INSTANT,
    _JA_DATE,
    _JA_TIME,
    _JA_WEEKDAY,
    _JA_WEEKDAYS,
    _MONTH_DAY,
    _NEXT_PERIOD,
    _NUMERIC_DATE,
    _PAST_DAY,
    _RELATIVE_DAY,
    _TIME_RANGE,
    _TIME_SINGLE,
    _WEEKDAY_RE,
    DAY,
    EXPLICIT,
    RECENT_PAST_DAYS,
    VAGUE,
    DateMention,
    DateOrder,
    TimeMention,
)
from slack_events_dagster.domain.dates.signals import _DIGIT
from slack_events_dagster.domain.lexicon import (
    MONTHS,
    NUMBER_WORDS,
    WEEKDAYS,
    ZONE_ABBREVIATIONS,
)
from slack_events_dagster.domain.text import Guarded

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
    """Date mentions in text order, none overlapping another.

    Kept sorted by where they begin, so a span is checked against its two neighbours
    only: a pasted log holds hundreds of dates, and checking each new one against
    every earlier one cost a tenth of the rule extractor's time."""

    def __init__(self) -> None:
        self.hits: list[DateMention] = []
        self._begins: list[int] = []

    def free(self, begin: int, finish: int) -> bool:
        at = bisect_right(self._begins, begin)
        if at and self.hits[at - 1].finish > begin:
            return False
        return at == len(self.hits) or self.hits[at].begin >= finish

    def add(self, hit: DateMention) -> None:
        if self.free(hit.begin, hit.finish):
            at = bisect_right(self._begins, hit.begin)
            self._begins.insert(at, hit.begin)
            self.hits.insert(at, hit)


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
    hits = found.hits
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
    """ "may 5" is a date; "you may 2x the speed" is not: "the"/"on" before, a year, an
    ordinal day ("May 25th"), or a dash or the text's start before ("Accelerator - May
    25th @ 10am")."""
    before = lower[max(0, match.start() - 6) : match.start()]
    if match["y"] is not None or _ORDINAL_DAY.search(match.group(0)) is not None:
        return True
    return bool(re.search(r"(?:^|on|the|by|from|until|,|\(|[-\u2013\u2014:*])\s*$", before))


_ORDINAL_DAY = re.compile(r"\d(?:st|nd|rd|th)\b")


_QUANTITY_AFTER = re.compile(r"\s*(?:per|of|each|times|cups?)\b")


def _numeric_dates(lower: str, today: date, order: DateOrder, found: _Found) -> None:
    for match in _NUMERIC_DATE.finditer(lower):
        if not found.free(*match.span()) or match.group(0).startswith(("24/7", "50/50")):
            continue
        sep = match["sep"]
        if sep == "." and match["y"] is None:
            continue  # "4.14" is a version, "20.10." too often a sentence end
        if match["y"] is None and _QUANTITY_AFTER.match(lower, match.end()) is not None:
            continue  # "1/2 per month", "3/4 of the seats": a fraction
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
