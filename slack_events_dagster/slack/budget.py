"""The Web API client's side of the shared call budget: wait for a call before making it.

Each paced method (``slack.rate_limits``, or the ``slack.app_profile``'s) draws from
one token bucket in the database (``BudgetStore``), so every process and run of the app
spends one budget; an unpaced method costs nothing here. The clock and the sleep are
injectable so a benchmark can run a simulated day on a virtual clock.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from slack_events_dagster.domain.budget import Pace
from slack_events_dagster.settings import METHOD_NAMES, SlackSettings
from slack_events_dagster.storage.base import BudgetStore


def paces(settings: SlackSettings) -> dict[str, Pace]:
    """The pace of each paced Web API method (by its Slack name)."""
    chosen: dict[str, Pace] = {}
    for key, method in METHOD_NAMES.items():
        limit = settings.method_limit(key)
        if limit.calls_per_minute is not None:
            chosen[method] = Pace(limit.calls_per_minute, limit.burst)
    return chosen


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CallBudget:
    """Takes a call from the shared budget before each paced call, waiting when empty."""

    def __init__(
        self,
        store: BudgetStore,
        paces: Mapping[str, Pace],
        *,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.paces = dict(paces)
        self.clock = clock
        self.sleep = sleep
        # Seconds spent waiting for the budget, per method (for reports and metadata).
        self.waited: defaultdict[str, float] = defaultdict(float)
        self._taken_ahead: defaultdict[str, int] = defaultdict(int)

    @classmethod
    def from_settings(
        cls,
        store: BudgetStore,
        settings: SlackSettings,
        *,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> CallBudget | None:
        """The budget of the settings' paced methods; None when no method is paced."""
        chosen = paces(settings)
        return cls(store, chosen, clock=clock, sleep=sleep) if chosen else None

    def paced(self, method: str) -> bool:
        return method in self.paces

    def spend(self, method: str) -> None:
        """Take one call of ``method``, first waiting for the budget as long as needed
        (a call taken ahead by :meth:`take_now` is used first)."""
        pace = self.paces.get(method)
        if pace is None:
            return
        if self._taken_ahead[method] > 0:
            self._taken_ahead[method] -= 1
            return
        while (wait := self.store.take_api_call(method, pace, self.clock())) > 0:
            self.waited[method] += wait
            self.sleep(wait)

    def take_now(self, method: str) -> bool:
        """Take a call of ``method`` for the next :meth:`spend` if the budget has one
        now; False, taking nothing, when it would have to wait. A sensor asks this: its
        tick must not sleep for the budget (Dagster times a tick out after 60 s)."""
        pace = self.paces.get(method)
        if pace is None:
            return True
        if self.store.take_api_call(method, pace, self.clock()) > 0:
            return False
        self._taken_ahead[method] += 1
        return True
