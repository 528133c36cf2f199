"""Copy every table from one database to another (e.g. SQLite to PostgreSQL).

Every table but ``api_budget`` (the Slack app's recent calls, not data: the target's
budget starts full).

The target is migrated first. Tables are copied parents first, in primary-key
order, in batches, with ``ON CONFLICT DO NOTHING``: an interrupted copy is
resumed by running it again, and a finished one changes nothing when repeated.
At the end the row counts of every table are compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.engine import URL

from slack_events_dagster.storage.engine import normalize_url, redact_url
from slack_events_dagster.storage.migrate import upgrade
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import COPIED_TABLES

# (table name, rows copied so far, rows in the source table)
ProgressCallback = Callable[[str, int, int], None]


class CopyError(RuntimeError):
    """The copy could not be done or verified; the message says which table and why."""


@dataclass(frozen=True)
class TableCopy:
    table: str
    source_rows: int
    target_rows: int
    written: int

    @property
    def matches(self) -> bool:
        return self.source_rows == self.target_rows


def _count(repository: SqlRepository, table: Table) -> int:
    with repository.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def copy_database(
    source_url: str | URL,
    target_url: str | URL,
    *,
    batch_size: int = 5000,
    progress: ProgressCallback | None = None,
) -> list[TableCopy]:
    source_url, target_url = normalize_url(source_url), normalize_url(target_url)
    if source_url == target_url:
        raise CopyError("source and target are the same database; name two different ones")
    upgrade(target_url)
    results: list[TableCopy] = []
    with SqlRepository.from_url(source_url) as source, SqlRepository.from_url(target_url) as target:
        if not source.has_schema():
            raise CopyError(
                f"{redact_url(str(source_url))} has no slack-events tables; check --source"
            )
        for table in COPIED_TABLES:
            results.append(_copy_table(source, target, table, batch_size, progress))
    mismatched = [r for r in results if not r.matches]
    if mismatched:
        detail = ", ".join(f"{r.table}: {r.source_rows} vs {r.target_rows}" for r in mismatched)
        raise CopyError(f"row counts differ after the copy ({detail}); run it again to resume")
    return results


def _copy_table(
    source: SqlRepository,
    target: SqlRepository,
    table: Table,
    batch_size: int,
    progress: ProgressCallback | None,
) -> TableCopy:
    total = _count(source, table)
    key = list(table.primary_key.columns)
    insert = target.dialect_insert(table).on_conflict_do_nothing(
        index_elements=[c.name for c in key]
    )
    copied = written = 0
    last: tuple[object, ...] | None = None
    if progress:
        progress(table.name, 0, total)
    while True:
        query = select(table).order_by(*key).limit(batch_size)
        if last is not None:
            query = query.where(tuple_(*key) > tuple_(*last))
        with source.engine.connect() as conn:
            rows = [row._asdict() for row in conn.execute(query)]
        if not rows:
            break
        with target.engine.begin() as conn:
            written += len(conn.execute(insert.returning(*key), rows).all())
        copied += len(rows)
        last = tuple(rows[-1][c.name] for c in key)
        if progress:
            progress(table.name, copied, total)
    return TableCopy(table.name, total, _count(target, table), written)
