"""The Slack app's call budget: one token bucket row per Web API method.

A take reads the row, refills it by the time elapsed and takes a call, in one
transaction that holds the row: SQLite's transactions begin with ``BEGIN IMMEDIATE``
(the engine's), which takes the write lock first; PostgreSQL locks the row with
``SELECT ... FOR UPDATE`` after creating it if missing. Two processes taking at once
wait for each other and never both take the last call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from slack_events_dagster.domain.budget import Pace, take_call
from slack_events_dagster.storage.repository._core import RepositoryCore
from slack_events_dagster.storage.schema import api_budget


class BudgetTables(RepositoryCore):
    def take_api_call(self, method: str, pace: Pace, now: datetime) -> float:
        b = api_budget
        with self._transaction("take_api_call") as conn:
            # A new method's bucket starts full; the insert is a no-op when it exists.
            conn.execute(
                self.dialect_insert(b)
                .values(method=method, tokens=float(pace.burst), updated_at=now)
                .on_conflict_do_nothing(index_elements=["method"])
            )
            query = select(b.c.tokens, b.c.updated_at).where(b.c.method == method)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            tokens, updated_at = conn.execute(query).one()
            outcome = take_call(tokens, updated_at, now, pace)
            if outcome.taken:
                # The clock a refill counts from never goes back (a host behind another).
                conn.execute(
                    update(b)
                    .where(b.c.method == method)
                    .values(tokens=outcome.tokens, updated_at=max(now, updated_at))
                )
            return outcome.wait_s
