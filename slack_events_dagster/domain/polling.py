"""Which channels to poll when Slack's budget cannot ask every channel every time.

An unlisted app gets one ``conversations.history`` call a minute: 20 channels polled
round-robin are each seen every 20 minutes, busy or dormant. The planner spends the
calls where news is likely instead. Each channel is worth asking again after an
interval that grows with its quiet: every tick while it is active (a message in the
last hour, or a thread answered in the last day), then about a sixth of the time it has
been quiet (a channel quiet for a day is asked every 4 hours), at most once a day. The
channels whose interval has passed are due; the one whose turn came first is polled
first (busy channels have a turn every tick, yet never starve a quiet one), as many as
the tick's calls allow, and the rest are the backlog; calls left over go to the
channels nearest their turn. The catch-up time is how long
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
    """The channels to ask now (whose turn came first first), the due ones left for later, and
    how long the budget needs to ask every due channel once."""

    poll: tuple[str, ...]
    backlog: tuple[str, ...]
    catch_up: timedelta
    calls_per_minute: float | None
    # Channels whose interval has passed (polled now or in the backlog).
    due: int = 0

    def summary(self) -> str:
        pace = (
            "unpaced"
            if self.calls_per_minute is None
            else f"{self.calls_per_minute:g} history calls a minute"
        )
        return (
            f"{self.due} channels due, {len(self.poll)} asked now, backlog "
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
        ids = tuple(a.channel_id for a in channels)
        return PollPlan(ids, (), timedelta(0), None, len(ids))
    # Seconds past each channel's turn (negative: before it). The channel whose turn came
    # first goes first: an active channel has a turn every tick, a quiet one waits its
    # longer interval but is never starved by the busy ones.
    ranked: list[tuple[float, float, str]] = []
    for activity in channels:
        if activity.last_polled_at is None:
            late = math.inf
        else:
            turn = activity.last_polled_at + poll_interval(activity, now, tick)
            late = (now - turn).total_seconds()
        # Ties (never asked) go to the most recently active channel.
        recent = activity.last_message_at.timestamp() if activity.last_message_at else 0.0
        ranked.append((-late, -recent, activity.channel_id))
    ranked.sort()
    limit = calls_per_tick(calls_per_minute, tick) or len(ranked)
    # Calls the due channels leave go to those nearest their turn rather than unspent.
    poll = [channel_id for _, _, channel_id in ranked[:limit]]
    backlog = [channel_id for late, _, channel_id in ranked[limit:] if -late >= 0]
    due = sum(1 for late, _, _ in ranked if -late >= 0)
    catch_up = timedelta(minutes=due / calls_per_minute)
    return PollPlan(tuple(poll), tuple(backlog), catch_up, calls_per_minute, due)
