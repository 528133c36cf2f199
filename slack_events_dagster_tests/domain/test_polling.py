"""The polling planner: active channels and open threads first, dormant ones rarely,
never more than the budget allows; the backlog and catch-up time it reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_events_dagster.domain.polling import (
    ChannelActivity,
    calls_per_tick,
    plan_polls,
    poll_interval,
)

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
TICK = timedelta(minutes=5)


def test_interval_grows_with_quiet_and_stays_short_for_open_threads() -> None:
    def interval(quiet: timedelta | None, threads: int = 0) -> timedelta:
        last = None if quiet is None else NOW - quiet
        return poll_interval(ChannelActivity("C", last, None, threads), NOW, TICK)

    assert interval(timedelta(minutes=10)) == TICK
    assert interval(timedelta(hours=6)) == timedelta(hours=1)
    assert interval(timedelta(days=30)) == timedelta(days=1)
    assert interval(None) == timedelta(days=1)
    assert interval(timedelta(days=30), threads=2) == TICK


def test_the_budget_goes_to_active_channels_first() -> None:
    polled = NOW - timedelta(minutes=10)
    channels = [
        ChannelActivity("DORMANT", NOW - timedelta(days=20), polled),
        ChannelActivity("BUSY", NOW - timedelta(minutes=2), polled),
        ChannelActivity("THREADS", NOW - timedelta(days=2), polled, open_threads=1),
        ChannelActivity("NEW", None, None),
        ChannelActivity("QUIET", NOW - timedelta(hours=3), polled),
    ]
    plan = plan_polls(channels, NOW, tick=TICK, calls_per_minute=1)
    # A 5-minute tick at 1 call a minute asks 2 channels; the other half reads news.
    assert calls_per_tick(1, TICK) == 2
    assert plan.poll == ("NEW", "BUSY")
    assert plan.backlog == ("THREADS",)
    # The dormant and the quiet channel were asked recently enough.
    assert plan.due == 3
    assert plan.catch_up == timedelta(minutes=3)
    assert "backlog 1" in plan.summary() and "catch-up 3 min" in plan.summary()
    # A larger budget asks the channels not yet due too, rather than leave calls unspent.
    ample = plan_polls(channels, NOW, tick=TICK, calls_per_minute=10)
    assert ample.poll[:3] == ("NEW", "BUSY", "THREADS") and len(ample.poll) == 5
    assert ample.backlog == () and ample.due == 3


def test_never_asked_channels_go_most_recently_active_first() -> None:
    channels = [ChannelActivity(f"C{i}", NOW - timedelta(minutes=i), None) for i in range(30)]
    plan = plan_polls(channels, NOW, tick=timedelta(minutes=10), calls_per_minute=2)
    assert plan.poll == ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9")
    assert len(plan.backlog) == 20 and plan.catch_up == timedelta(minutes=15)


def test_unpaced_polls_every_channel_every_tick() -> None:
    asked = NOW - timedelta(minutes=1)
    channels = [ChannelActivity(f"C{i}", NOW - timedelta(days=i), asked) for i in range(30)]
    plan = plan_polls(channels, NOW, tick=TICK, calls_per_minute=None)
    assert len(plan.poll) == 30 and plan.backlog == () and plan.catch_up == timedelta(0)


def test_busy_channels_never_starve_a_quiet_one() -> None:
    # Five busy channels asked a tick ago are due every tick; the quiet one's turn
    # (an hour after it was last asked) came 30 minutes ago, before theirs.
    busy = [
        ChannelActivity(f"BUSY{i}", NOW - timedelta(minutes=1), NOW - TICK * 2) for i in range(5)
    ]
    quiet = ChannelActivity("QUIET", NOW - timedelta(hours=6), NOW - timedelta(minutes=90))
    plan = plan_polls([*busy, quiet], NOW, tick=TICK, calls_per_minute=0.4)
    assert calls_per_tick(0.4, TICK) == 1
    assert plan.poll == ("QUIET",) and len(plan.backlog) == 5
