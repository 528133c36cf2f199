"""Choosing the mention the event happens on and resolving it in its zone."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from slack_events_dagster.domain.dates.finding import _count, find_dates, find_times
from slack_events_dagster.domain.dates.patterns import (
    _BOLD_SPAN,
    _IN_MINUTES,
    _KIND_RANK,
    _NEAR_CHARS,
    DAY,
    EXPLICIT,
    TIME_ONLY_GRACE,
    VAGUE,
    DateMention,
    DateOrder,
    TimeMention,
    When,
)
from slack_events_dagster.domain.models import DateSource

# -- choosing and resolving --------------------------------------------------------------


def _combine(day: date, moment: time, zone: tzinfo) -> datetime:
    # zoneinfo resolves DST: 09:00 on the day clocks change gets that day's offset.
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def _near(day: DateMention, moment: TimeMention) -> bool:
    if moment.begin >= day.finish:
        return moment.begin - day.finish <= _NEAR_CHARS
    return day.begin - moment.finish <= _NEAR_CHARS // 3


def _after_since(lower: str, moment: TimeMention) -> bool:
    return lower[: moment.begin].rstrip(" *_~(").endswith(_OVER_BEFORE)


# Words before a time that put it behind the message ("down since 14:05", "during the
# period beginning at 2:51 PM", "errors occurred at 9:10").
_OVER_BEFORE = (
    "since",
    "as of",
    "started at",
    "started around",
    "beginning at",
    "began at",
    "began around",
    "occurred at",
    "happened at",
    "went down at",
)


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
    if len(dates) >= 1 and ("from" in lower or "through" in lower or "until" in lower):
        dates = _day_ranges(dates, lower, local_base.date())
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


def _question_spans(lower: str) -> list[tuple[int, int]]:
    """Where the text asks: "can we get a 4.12.1 out today?" names no day of an event.

    Each question mark's sentence, from the mark before it (``.``, ``!``, ``?`` or a line
    break) to it. Found from the marks, not by a pattern tried at every position, which
    reads a long sentence once per character."""
    spans = []
    at = lower.find("?")
    while at >= 0:
        start = max(lower.rfind(mark, 0, at) for mark in ".!?\n") + 1
        spans.append((start, at + 1))
        at = lower.find("?", at + 1)
    return spans


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


# "from Monday to Wednesday", "from now until Jan 1st", "today through Friday": one
# mention of several days.
_RANGE_JOIN = re.compile(
    r"^\s*(?:[-\u2013\u2014]\s*)?(?:-|\u2013|\u2014|to|until|till|through|thru)\s*$"
)
# "moved from Tuesday to Thursday" is a change of day, not a range.
_MOVED = re.compile(
    r"\b(?:mov|shift|push|bump|chang|postpon|reschedul|slipp|delay)\w*\s+(?:\w+\s+){0,3}from\s*$"
)
_FROM_NOW = re.compile(r"\bfrom\s+(?:now|today)\s+(?:until|till|through|thru|to)\s*$")


def _day_ranges(dates: list[DateMention], lower: str, today: date) -> list[DateMention]:
    """Day mentions joined by "to / until / through" into one range; "from now until X"
    starts on the posting day."""
    ordered = sorted(dates, key=lambda hit: hit.begin)
    joined: list[DateMention] = []
    index = 0
    while index < len(ordered):
        hit = ordered[index]
        after = ordered[index + 1] if index + 1 < len(ordered) else None
        if (
            after is not None
            and hit.instant is None
            and after.instant is None
            and _RANGE_JOIN.match(lower[hit.finish : after.begin])
            and lower[max(0, hit.begin - 6) : hit.begin].rstrip().endswith("from")
            and _MOVED.search(lower, 0, hit.begin) is None
        ):
            end = after.end or after.start
            if end <= hit.start and after.kind != EXPLICIT:
                end += timedelta(days=7)  # "from Monday to Wednesday": the Wednesday after
            if end > hit.start:
                joined.append(replace(hit, end=end, finish=after.finish))
                index += 2
                continue
        lead = _FROM_NOW.search(lower, 0, hit.begin)
        if lead is not None and lead.end() == hit.begin and hit.end is None and hit.start > today:
            joined.append(replace(hit, start=today, end=hit.start, begin=lead.start()))
            index += 1
            continue
        joined.append(hit)
        index += 1
    return joined
