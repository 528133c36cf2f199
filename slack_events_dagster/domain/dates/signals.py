"""The candidate scorer's tests: is a date or a time written at all (cheap), and
which it may be from the raw words (cheaper)."""

from __future__ import annotations

import re

from slack_events_dagster.domain.dates.patterns import (
    _END_OF,
    _IN_MINUTES,
    _IN_PERIOD,
    _MONTH,
    _NEXT_PERIOD,
    _ORD,
    DAY,
    EXPLICIT,
    VAGUE,
)
from slack_events_dagster.domain.lexicon import (
    MONTHS,
    NUMBER_WORDS,
    WEEKDAYS,
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
