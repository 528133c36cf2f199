"""Every table's content without the columns that say when a run happened: a hash per
table, the rows that differ, and an assertion that two databases hold the same rows."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy import select as sql_select

from slack_events_dagster.storage.schema import TABLES_IN_DEPENDENCY_ORDER

# Columns that say when a run happened, not what it stored; ingestion_state's counters
# describe the last run (a re-run after a crash fetches less), not the data.
IGNORED_COLUMNS = {
    "ingested_at",
    "updated_at",
    "created_at",
    "last_run_at",
    "ingestion_state.fetched",
    "ingestion_state.new",
    "ingestion_state.edited",
    "ingestion_state.deleted",
    "ingestion_state.api_calls",
}


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        return round(float(value), 9)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def table_rows(
    conn: Connection, table_name: str, ignore: frozenset[str] = frozenset()
) -> list[tuple[Any, ...]]:
    table = next(t for t in TABLES_IN_DEPENDENCY_ORDER if t.name == table_name)
    ignored = IGNORED_COLUMNS | ignore
    columns = [
        c
        for c in table.columns
        if c.name not in ignored and f"{table.name}.{c.name}" not in ignored
    ]
    rows = [tuple(_normal(v) for v in row) for row in conn.execute(sql_select(*columns))]
    return sorted(rows, key=lambda row: json.dumps(row, default=str))


def table_state(engine: Engine, ignore: frozenset[str] = frozenset()) -> dict[str, tuple[int, str]]:
    """Per table: (row count, sha256 of its rows without run timestamps)."""
    state: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in TABLES_IN_DEPENDENCY_ORDER:
            rows = table_rows(conn, table.name, ignore)
            digest = hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()
            state[table.name] = (len(rows), digest)
    return state


def state_difference(
    engine: Engine,
    reference: Engine,
    table: str,
    limit: int = 3,
    ignore: frozenset[str] = frozenset(),
) -> str:
    """A readable sample of the rows that differ in one table (for assertion messages)."""
    with engine.connect() as a, reference.connect() as b:
        ours, theirs = set(table_rows(a, table, ignore)), set(table_rows(b, table, ignore))
    extra = sorted(ours - theirs, key=str)[:limit]
    missing = sorted(theirs - ours, key=str)[:limit]
    return f"{table}: extra {extra} missing {missing}"


def assert_same_tables(
    engine: Engine,
    reference: Engine,
    where: str,
    *,
    ignore: frozenset[str] = frozenset(),
    expected: dict[str, tuple[int, str]] | None = None,
) -> None:
    """Every table of ``engine`` equals the reference's (run timestamps and ``ignore``
    aside); a failure shows the differing rows. ``expected``: the reference's
    ``table_state``, when the caller has it already."""
    state = table_state(engine, ignore)
    expected = expected if expected is not None else table_state(reference, ignore)
    differing = [t for t in state if state[t] != expected[t]]
    details = [state_difference(engine, reference, t, ignore=ignore) for t in differing]
    assert differing == [], f"{where}: {details}"
