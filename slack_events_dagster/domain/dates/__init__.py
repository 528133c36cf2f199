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
phrasings of ``test_date_phrasings.py``: about 25 ms a message (this module: about 20 µs), and
wrong on common chat forms ("14-16 Oct" as the year 2116, "2-4pm" not found, "3pm PT"
as a fixed UTC-8 offset all year). So the finding is regular expressions over the
words of :mod:`~slack_events_dagster.domain.lexicon`, and only the glue is ours.
"""

from slack_events_dagster.domain.dates.finding import find_dates, find_times, has_past_day
from slack_events_dagster.domain.dates.patterns import (
    DAY,
    EXPLICIT,
    RECENT_PAST_DAYS,
    VAGUE,
    DateMention,
    DateOrder,
    TimeMention,
    When,
)
from slack_events_dagster.domain.dates.resolving import choose_date, find_when
from slack_events_dagster.domain.dates.signals import date_cues, date_signal, time_signal

__all__ = [
    "DAY",
    "EXPLICIT",
    "RECENT_PAST_DAYS",
    "VAGUE",
    "DateMention",
    "DateOrder",
    "TimeMention",
    "When",
    "choose_date",
    "date_cues",
    "date_signal",
    "find_dates",
    "find_times",
    "find_when",
    "has_past_day",
    "time_signal",
]
