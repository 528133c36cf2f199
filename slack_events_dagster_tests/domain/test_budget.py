"""The call budget's arithmetic: a token bucket that refills with time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from slack_events_dagster.domain.budget import PACE_MARGIN, Pace, take_call

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_a_new_bucket_is_full_and_then_waits_for_the_pace() -> None:
    pace = Pace(per_minute=1)
    first = take_call(None, None, T0, pace)
    assert first.taken and first.tokens == 0.0
    second = take_call(first.tokens, T0, T0 + timedelta(seconds=30), pace)
    assert not second.taken
    # The rest of the interval, which is a little longer than a minute.
    assert second.wait_s == pytest.approx(60 / PACE_MARGIN - 30)
    assert take_call(first.tokens, T0, T0 + timedelta(seconds=60 / PACE_MARGIN), pace).taken


def test_a_burst_goes_at_once_and_never_stores_more() -> None:
    pace = Pace(per_minute=60, burst=3)
    tokens, now = None, T0
    taken = 0
    for _ in range(5):
        outcome = take_call(tokens, now if tokens is not None else None, now, pace)
        taken += outcome.taken
        tokens = outcome.tokens
    assert taken == 3
    # An idle hour refills to the burst, not to 3,600 calls.
    assert take_call(0.0, T0, T0 + timedelta(hours=1), pace).tokens == 2.0


def test_a_clock_behind_the_bucket_refills_nothing() -> None:
    pace = Pace(per_minute=1)
    behind = take_call(0.5, T0, T0 - timedelta(minutes=5), pace)
    assert not behind.taken and behind.tokens == 0.5


def test_a_pace_needs_a_rate() -> None:
    with pytest.raises(ValueError, match="per_minute"):
        Pace(per_minute=0)
