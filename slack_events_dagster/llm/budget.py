"""The daily LLM budget across concurrent calls."""

from __future__ import annotations

import threading

# Dollar amounts below this are rounding noise when comparing spend with the budget.
_BUDGET_EPSILON = 1e-9


class BudgetGate:
    """Lets a call start only while the day's spend is below the budget.

    A call reserves an estimate of its cost before it starts, and the estimate
    is replaced by the actual cost when it ends. A call may start only while
    committed spend plus in-flight reservations is below the budget; if that sum
    has reached it but calls are still in flight, it waits for them (they may
    cost less than reserved). So concurrent runs stop at the same point a
    sequential run would: a call starts only when everything spent before it is
    below the budget, and spend exceeds the budget by at most the last call.
    """

    def __init__(self, budget_usd: float, spent_usd: float) -> None:
        self.budget_usd = budget_usd
        self.spent_usd = spent_usd
        self._reservations: dict[int, float] = {}
        self._next_ticket = 0
        self._condition = threading.Condition()

    def _reached(self, amount: float) -> bool:
        return amount + _BUDGET_EPSILON >= self.budget_usd

    def reserve(self, estimate_usd: float) -> int | None:
        """A ticket for one call, or ``None`` when the budget is reached."""
        with self._condition:
            while True:
                if self._reached(self.spent_usd):
                    return None
                in_flight = sum(self._reservations.values())
                if not self._reservations or not self._reached(self.spent_usd + in_flight):
                    self._next_ticket += 1
                    self._reservations[self._next_ticket] = estimate_usd
                    return self._next_ticket
                self._condition.wait()

    def settle(self, ticket: int, actual_usd: float) -> None:
        with self._condition:
            self._reservations.pop(ticket, None)
            self.spent_usd += actual_usd
            self._condition.notify_all()
