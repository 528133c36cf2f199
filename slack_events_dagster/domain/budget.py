"""The arithmetic of a call budget: a token bucket refilled with time at a pace.

The bucket holds at most ``burst`` calls and gains ``per_minute / 60`` calls a second,
a little slower than that (``PACE_MARGIN``): a call's request reaches Slack some
milliseconds after its token is taken, and one that arrives a little late must not land
in the same minute as the calls of the next minute. With ``burst`` 1 calls are spaced
evenly and no minute holds more than ``per_minute`` of them. The storage keeps the
bucket (tokens, when) where every process reads it; this module only says what a take
does to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Pace 3% below the configured rate: 1 call a minute is one every 61.8 s.
PACE_MARGIN = 0.97


@dataclass(frozen=True)
class Pace:
    """How fast one method may be called: ``per_minute`` on average, ``burst`` at once."""

    per_minute: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.per_minute <= 0 or self.burst < 1:
            raise ValueError(f"a pace needs per_minute > 0 and burst >= 1, got {self}")

    @property
    def per_second(self) -> float:
        return self.per_minute * PACE_MARGIN / 60.0

    @property
    def interval_s(self) -> float:
        """Seconds between two calls at a steady pace."""
        return 1.0 / self.per_second


@dataclass(frozen=True)
class Take:
    """A take's outcome: the bucket after it, and 0 when a call was taken, else the
    seconds to wait until one can be (nothing was taken)."""

    tokens: float
    wait_s: float

    @property
    def taken(self) -> bool:
        return self.wait_s == 0.0


def take_call(tokens: float | None, updated_at: datetime | None, now: datetime, pace: Pace) -> Take:
    """Refill a bucket last written at ``updated_at`` up to ``now``, then take one call.

    A bucket never written is full. A clock behind ``updated_at`` (another host's, or a
    simulated one) refills nothing rather than draining the bucket."""
    if tokens is None or updated_at is None:
        available = float(pace.burst)
    else:
        elapsed = max(0.0, (now - updated_at).total_seconds())
        available = min(float(pace.burst), tokens + elapsed * pace.per_second)
    # Stored times have microseconds: a wait of exactly the interval may come back a
    # hair short of a whole call.
    if available >= 1.0 - 1e-6:
        return Take(max(0.0, available - 1.0), 0.0)
    # A wait of at least a millisecond: a zero wait would mean "taken".
    return Take(available, max(0.001, (1.0 - available) / pace.per_second))
