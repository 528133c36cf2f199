"""When two drafts are one event: the similarity thresholds, the day windows
and which categories may meet. The one place these numbers live."""

from __future__ import annotations

from datetime import timedelta

from slack_events_dagster.domain.models import (
    EventCategory,
)

# Title similarity (0-100) needed to call two drafts one event on the same day,
# and on neighbouring days (where a false merge of a recurring event is likelier).
SAME_DAY_SIMILARITY = 80.0
NEAR_DAY_SIMILARITY = 85.0
SAME_INSTANT_SIMILARITY = 65.0
GENERIC_TITLE_SIMILARITY = 70.0
# A reply in an event's thread belongs to that event when it is this similar (or
# a change, or on the same day, or of the same category).
THREAD_SIMILARITY = 60.0
DEFAULT_DATE_WINDOW_DAYS = 1
# Two timed drafts of the same day with starts further apart are two events
# ("standup 9am" and "standup 4pm"), unless one of them is a reschedule.
SAME_EVENT_MAX_TIME_GAP = timedelta(hours=1)
# A reschedule announced outside the thread may move an event this far.
RESCHEDULE_SEARCH_DAYS = 60
# The days on each side of a draft's date whose stored events its merge reads (the event
# book's window for anything but a reschedule): more than DEFAULT_DATE_WINDOW_DAYS, so
# that events a merge moves a little or folds together are read with it.
NEIGHBOUR_DAYS = 3

# Categories that say little; a draft with one of them may join an event of any category.
_WEAK_CATEGORIES = frozenset({EventCategory.OTHER, EventCategory.ANNOUNCEMENT})

# A release that goes live is also its launch: "4.13 is live" repeats "Lumen 4.13 release".
_KINDRED = frozenset({EventCategory.RELEASE, EventCategory.LAUNCH})


def _kindred(left: EventCategory, right: EventCategory) -> bool:
    """One kind of event under two names: equal, or a release and its launch."""
    return left == right or (left in _KINDRED and right in _KINDRED)


def _categories_match(left: EventCategory, right: EventCategory) -> bool:
    return (
        left == right
        or left in _WEAK_CATEGORIES
        or right in _WEAK_CATEGORIES
        or _kindred(left, right)
    )
