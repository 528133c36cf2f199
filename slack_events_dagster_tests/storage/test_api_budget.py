"""The shared call budget in the database: refills with time, and concurrent takers
never share the last call (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from slack_events_dagster.domain.budget import Pace
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import COPIED_TABLES, api_budget

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_a_take_waits_for_the_refill(repository: SqlRepository) -> None:
    pace = Pace(per_minute=1)
    assert repository.take_api_call("conversations.history", pace, T0) == 0.0
    wait = repository.take_api_call("conversations.history", pace, T0 + timedelta(seconds=20))
    assert 40 < wait < 45
    # Methods have their own buckets.
    assert repository.take_api_call("conversations.replies", pace, T0) == 0.0
    later = T0 + timedelta(seconds=20 + wait)
    assert repository.take_api_call("conversations.history", pace, later) == 0.0
    with repository.engine.connect() as conn:
        rows = dict(conn.execute(select(api_budget.c.method, api_budget.c.tokens)).all())
    assert set(rows) == {"conversations.history", "conversations.replies"}


def test_concurrent_takers_share_one_budget(repository: SqlRepository) -> None:
    """Eight processes' worth of engines take at the same instant from a burst of 5:
    exactly 5 get a call, whatever the interleaving."""
    url = repository.engine.url.render_as_string(hide_password=False)
    pace = Pace(per_minute=1, burst=5)
    results: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def taker() -> None:
        own = SqlRepository.from_url(url)
        try:
            start.wait()
            for _ in range(2):
                wait = own.take_api_call("conversations.history", pace, T0)
                with lock:
                    results.append(wait)
        finally:
            own.close()

    threads = [threading.Thread(target=taker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 16
    assert sum(1 for wait in results if wait == 0.0) == 5


def test_copy_db_leaves_the_budget_behind() -> None:
    assert api_budget not in COPIED_TABLES
    assert {t.name for t in COPIED_TABLES} >= {"raw_slack_messages", "events"}
