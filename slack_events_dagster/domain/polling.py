"""Which channels to poll when Slack's budget cannot ask every channel every time.

An unlisted app gets one ``conversations.history`` call a minute: 20 channels polled
round-robin are each seen every 20 minutes, busy or dormant. The planner spends the
calls where news is likely instead. Each channel is worth asking again after an
interval that grows with its quiet: every tick while it is active (a message in the
last hour, or a thread answered in the last day), then about a sixth of the time it has
been quiet (a channel quiet for a day is asked every 4 hours), at most once a day. The
channels whose interval has passed are due; the most overdue are polled first, as many
as the tick's calls allow, and the rest are the backlog. The catch-up time is how long
the budget needs to ask every due channel once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

ACTIVE_WITHIN = timedelta(hours=1)
QUIET_DIVISOR = 6
DORMANT_INTERVAL = timedelta(days=1)


@dataclass(frozen=True)
class ChannelActivity:
    """What is known of a channel: its newest message, when it was last asked, and how
    many of its threads were answered in the last day."""

    channel_id: str
    last_message_at: datetime | None = None
    last_polled_at: datetime | None = None
    open_threads: int = 0


def poll_interval(activity: ChannelActivity, now: datetime, tick: timedelta) -> timedelta:
    """How long a channel may go unasked: a tick while active, longer the quieter it is."""
    if activity.open_threads > 0:
        return tick
    if activity.last_message_at is None:
        return max(tick, DORMANT_INTERVAL)
    quiet = now - activity.last_message_at
    if quiet <= ACTIVE_WITHIN:
        return tick
    return max(tick, min(DORMANT_INTERVAL, quiet / QUIET_DIVISOR))


@dataclass(frozen=True)
class PollPlan:
    """The channels to ask now (most overdue first), the due ones left for later, and
    how long the budget needs to ask every due channel once."""

    poll: tuple[str, ...]
    backlog: tuple[str, ...]
    catch_up: timedelta
    calls_per_minute: float | None

    @property
    def due(self) -> int:
        return len(self.poll) + len(self.backlog)

    def summary(self) -> str:
        pace = (
            "unpaced"
            if self.calls_per_minute is None
            else f"{self.calls_per_minute:g} history calls a minute"
        )
        return (
            f"{self.due} channels due, {len(self.poll)} polled now, backlog "
            f"{len(self.backlog)}, catch-up {_minutes(self.catch_up)} ({pace})"
        )


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes >= 1 else f"{span.total_seconds():.0f} s"


def calls_per_tick(calls_per_minute: float | None, tick: timedelta) -> int | None:
    """History calls a tick may spend asking for news: half the tick's budget, the
    other half is left to the runs that read the news (at least one). None: unpaced."""
    if calls_per_minute is None:
        return None
    return max(1, math.floor(calls_per_minute * tick.total_seconds() / 60 / 2))


def plan_polls(
    channels: Iterable[ChannelActivity],
    now: datetime,
    *,
    tick: timedelta,
    calls_per_minute: float | None,
) -> PollPlan:
    """Choose the channels to poll this tick within the budget; unpaced (an internal
    app's Tier 3 budget is ample for asking), every channel every tick."""
    channels = list(channels)
    if calls_per_minute is None:
        return PollPlan(tuple(a.channel_id for a in channels), (), timedelta(0), None)
    ranked: list[tuple[float, float, str]] = []
    for activity in channels:
        interval = poll_interval(activity, now, tick)
        if activity.last_polled_at is None:
            overdue = math.inf
        else:
            overdue = (now - activity.last_polled_at) / interval
        if overdue < 1:
            continue
        # Ties (never asked) go to the most recently active channel.
        recent = activity.last_message_at.timestamp() if activity.last_message_at else 0.0
        ranked.append((-overdue, -recent, activity.channel_id))
    ranked.sort()
    due = [channel_id for _, _, channel_id in ranked]
    limit = calls_per_tick(calls_per_minute, tick) or len(due)
    catch_up = timedelta(minutes=len(due) / calls_per_minute)
    return PollPlan(tuple(due[:limit]), tuple(due[limit:]), catch_up, calls_per_minute)
