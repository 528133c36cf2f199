"""A database is at the newest schema before a sensor, schedule or run uses it: an empty
or old SQLite file is migrated on first use; an empty PostgreSQL database (one the
deployment's code server migrates) makes sensors skip and runs stop with one message
naming `slack-events migrate`, never a stack trace per tick."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import create_engine, inspect

from slack_events_dagster.defs.automation import channel_discovery_sensor
from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.settings import Settings, load_settings
from slack_events_dagster.storage.migrate import (
    MIGRATE_COMMAND,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)


def sample_settings(url: str, tmp_path: Path) -> Settings:
    """The bundled sample (an export) on the database at ``url``."""
    return load_settings(
        database={"url": url},
        pipeline={"start_date": "2026-03-02", "timezone": "America/New_York"},
        digest={"output_dir": str(tmp_path / "out"), "calendar_path": str(tmp_path / "e.ics")},
    )


def tick(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.SensorResult | dg.SkipReason:
    with dg.build_sensor_context(instance=instance, resources=defs.resources) as context:
        result = channel_discovery_sensor(context)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def skip_message(result: dg.SensorResult | dg.SkipReason) -> str | None:
    if isinstance(result, dg.SkipReason):
        return result.skip_message
    return result.skip_reason.skip_message if result.skip_reason else None


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()


def error_text(error: Any) -> str:
    """The messages of a serialized error and of its causes."""
    parts = []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return " ".join(parts)


def test_sensor_migrates_an_empty_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    defs = build_definitions(sample_settings(url, tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    result = tick(defs, instance)
    # Migrated, then the sensor did its work: the sample's channels become partitions.
    assert revision(url) == head_revision()
    assert isinstance(result, dg.SensorResult), skip_message(result)
    [request] = result.dynamic_partitions_requests or []
    assert isinstance(request, dg.AddDynamicPartitionsRequest)
    assert len(request.partition_keys) == 8


def test_run_migrates_an_old_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url)
    downgrade(url, "-1")
    old = revision(url)
    assert old is not None and old != head_revision()
    defs = build_definitions(sample_settings(url, tmp_path))
    result = defs.resolve_job_def("digest_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key="2026-03-10", raise_on_error=False
    )
    assert result.success
    assert revision(url) == head_revision()


@pytest.mark.postgres
def test_empty_postgres_skips_each_tick_with_the_command(
    make_postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    url = make_postgres_database()
    defs = build_definitions(sample_settings(url, tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    messages = [skip_message(tick(defs, instance)) for _ in range(2)]
    # One message, the same at every tick, naming the command; nothing was created.
    assert messages[0] == messages[1]
    assert messages[0] is not None and f"run `{MIGRATE_COMMAND}`" in messages[0], messages
    assert "has no tables yet" in messages[0]
    assert tables(url) == set()
    assert instance.get_dynamic_partitions("channels") == []
    # Once migrated, the next tick works.
    upgrade(url)
    result = tick(defs, instance)
    assert isinstance(result, dg.SensorResult), skip_message(result)


@pytest.mark.postgres
def test_run_on_empty_postgres_stops_with_the_command(
    make_postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    url = make_postgres_database()
    defs = build_definitions(sample_settings(url, tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("digest_job").execute_in_process(
        instance=instance, partition_key="2026-03-10", raise_on_error=False
    )
    assert not result.success
    errors = [getattr(event.event_specific_data, "error", None) for event in result.all_events]
    texts = [error_text(error) for error in errors if error is not None]
    assert texts and all(f"run `{MIGRATE_COMMAND}`" in text for text in texts), texts
    assert tables(url) == set()
