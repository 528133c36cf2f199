"""Alembic migrations: up, down, and no drift from the schema metadata, on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from slack_events_dagster.domain.models import DateSource, EventLink, LinkKind
from slack_events_dagster.storage.engine import create_db_engine
from slack_events_dagster.storage.migrate import downgrade, upgrade
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import metadata
from slack_events_dagster_tests.helpers.paths import REPO_ROOT
from slack_events_dagster_tests.helpers.stores import get_event, upsert_events


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrated.db'}"
    make: Callable[[], str] = request.getfixturevalue("make_postgres_database")
    return make()


def schema_drift(url: str) -> list[object]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_matches_metadata_and_downgrade_removes_everything(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    assert table_names(empty_database_url) == set(metadata.tables)
    assert schema_drift(empty_database_url) == []

    upgrade(empty_database_url)  # idempotent
    repository = SqlRepository.from_url(empty_database_url)
    assert repository.count_messages() == 0
    repository.close()

    downgrade(empty_database_url, "base")
    assert table_names(empty_database_url) == set()
    upgrade(empty_database_url)
    assert schema_drift(empty_database_url) == []


def test_migrated_postgres_uses_jsonb_and_timestamptz(
    make_postgres_database: Callable[[], str],
) -> None:
    url = make_postgres_database()
    upgrade(url)
    engine = create_db_engine(url)
    try:
        columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("raw_slack_messages")}
        indexes = {i["name"]: i for i in inspect(engine).get_indexes("events")}
        uniques = inspect(engine).get_unique_constraints("events")
        link_indexes = {
            i["name"]: i["column_names"] for i in inspect(engine).get_indexes("event_links")
        }
    finally:
        engine.dispose()
    assert type(columns["blocks"]).__name__ == "JSONB"
    assert getattr(columns["posted_at"], "timezone", False) is True
    assert "ix_events_start_date" in indexes
    assert link_indexes == {"ix_event_links_kind_key": ["kind", "key"]}
    assert [u["column_names"] for u in uniques] == [["dedup_key"]]


def _alembic(url_env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_EVENTS_")}
    env.update(url_env)
    alembic = Path(sys.executable).with_name("alembic")
    return subprocess.run(
        [str(alembic), "-c", str(REPO_ROOT / "alembic.ini"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_alembic_command_reads_the_database_from_settings(
    tmp_path: Path, make_postgres_database: Callable[[], str]
) -> None:
    sqlite_path = tmp_path / "from-settings.db"
    result = _alembic(
        {"SLACK_EVENTS_DATABASE__PATH": str(sqlite_path)}, "upgrade", "head", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert schema_drift(f"sqlite:///{sqlite_path}") == []

    url = make_url(make_postgres_database())
    env = {
        "SLACK_EVENTS_DATABASE__TYPE": "postgres",
        "SLACK_EVENTS_DATABASE__POSTGRES__HOST": url.host or "127.0.0.1",
        "SLACK_EVENTS_DATABASE__POSTGRES__PORT": str(url.port or 5432),
        "SLACK_EVENTS_DATABASE__POSTGRES__DATABASE": url.database or "",
        "SLACK_EVENTS_DATABASE__POSTGRES__USER": url.username or "postgres",
        "SLACK_EVENTS_DATABASE__POSTGRES__PASSWORD": url.password or "",
    }
    assert _alembic(env, "upgrade", "head", cwd=tmp_path).returncode == 0
    assert schema_drift(url.render_as_string(hide_password=False)) == []
    down = _alembic(env, "downgrade", "base", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert table_names(url.render_as_string(hide_password=False)) == set()


def _table_rows(url: str, table: str) -> list[dict[str, object]]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(text(f'SELECT * FROM "{table}"'))]
    finally:
        engine.dispose()


def test_upgrade_from_the_initial_schema_keeps_the_data_and_adds_event_links(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    upgrade(url, "0001")
    # What a database of the first release holds: an event with two sources.
    engine = create_db_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO events (event_id, dedup_key, title, category, status, all_day,"
                    " start_at, end_at, start_date, end_date, timezone, location, url, summary,"
                    " confidence, sequence, history, first_seen_at, updated_at) VALUES"
                    " ('e1', 'k1', 'Payments API release', 'release', 'scheduled', :false,"
                    " :start, NULL, :day, NULL, 'UTC', NULL, NULL, NULL, 0.8, 0, '[]',"
                    " :start, :start)"
                ),
                {
                    "false": False,
                    "start": datetime(2026, 3, 10, 15, tzinfo=UTC),
                    "day": date(2026, 3, 10),
                },
            )
            conn.execute(
                text(
                    "INSERT INTO event_sources (event_id, channel_id, ts, position) VALUES"
                    " ('e1', 'C1', '1772467260.000001', 0), ('e1', 'C2', '1772467999.000002', 1)"
                )
            )
    finally:
        engine.dispose()

    upgrade(url)
    assert schema_drift(url) == []
    repository = SqlRepository.from_url(url)
    try:
        event = get_event(repository, "e1")
        assert event is not None
        assert event.date_source is DateSource.WRITTEN and event.links == []
        assert [s.channel_id for s in event.sources] == ["C1", "C2"]
        link = EventLink(kind=LinkKind.JIRA, key="OPS-142")
        upsert_events(repository, [event.model_copy(update={"links": [link]})])
        assert [e.event_id for e in repository.get_events_for_links([("jira", "OPS-142")])] == [
            "e1"
        ]
    finally:
        repository.close()

    # Back to the first release: the new table goes, the events and their sources stay
    # (on SQLite a rebuilt events table would take its sources with it by cascade).
    downgrade(url, "0001")
    assert "event_links" not in table_names(url)
    assert [row["event_id"] for row in _table_rows(url, "event_sources")] == ["e1", "e1"]
    (row,) = _table_rows(url, "events")
    assert "date_source" not in row and row["title"] == "Payments API release"
    upgrade(url)
    assert schema_drift(url) == []
