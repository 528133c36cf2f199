"""The Dagster instance of `slack-events run`, `demo` and `ui`: $DAGSTER_HOME when set,
else a project-local home beside the application's data whose dagster.yaml names the
batched storage (KeptSqliteStorage) and turns the community dialog off; the runs of
`run` are recorded there on SQLite and PostgreSQL settings alike."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml
from pydantic import SecretStr

from slack_events_dagster.instance import (
    EVENT_BATCH_ENV,
    GENERATED_MARK,
    dagster_instance,
    instance_home,
    local_home,
    local_instance_config,
)
from slack_events_dagster.pipeline import demo_settings, run
from slack_events_dagster.settings import Settings, load_settings
from slack_events_dagster.storage.migrate import upgrade

ENGINEERING = "C0VLNVAD8VE"


@pytest.fixture(autouse=True)
def _no_dagster_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    # dagster_instance turns batching on in this process: restored after each test.
    monkeypatch.delenv(EVENT_BATCH_ENV, raising=False)


def test_local_home_is_beside_the_sqlite_file(tmp_path: Path) -> None:
    settings = load_settings(database={"type": "sqlite", "path": str(tmp_path / "d" / "a.db")})
    home = instance_home(settings)
    assert home == tmp_path / "d" / "dagster"
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["storage"]["custom"]["class"] == "KeptSqliteStorage"
    assert config["storage"]["custom"]["config"] == {"base_dir": str(home)}
    assert config["nux"] == {"enabled": False}
    assert config["telemetry"] == {"enabled": False}
    with dagster_instance(settings) as instance:
        assert instance.root_directory == str(home)
        assert instance.get_settings("nux") == {"enabled": False}
        assert type(instance.get_ref().storage_data).__name__ == "ConfigurableClassData"
        assert instance.get_ref().storage_data.class_name == "KeptSqliteStorage"
    assert int(os.environ[EVENT_BATCH_ENV]) > 0


def test_postgres_settings_keep_the_instance_beside_database_path(tmp_path: Path) -> None:
    settings = load_settings(
        database={"type": "postgres", "path": str(tmp_path / "data" / "slack_events.db")}
    )
    assert local_home(settings) == tmp_path / "data" / "dagster"


def test_dagster_home_when_set_is_used_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "mine"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    settings = load_settings(database={"path": str(tmp_path / "a.db")})
    assert instance_home(settings) == home
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    assert not (tmp_path / "dagster").exists()


def test_a_dagster_yaml_the_user_wrote_stays(tmp_path: Path) -> None:
    settings = load_settings(database={"path": str(tmp_path / "a.db")})
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("nux:\n  enabled: true\n")
    instance_home(settings)
    assert (home / "dagster.yaml").read_text() == "nux:\n  enabled: true\n"
    # One this module wrote is brought up to date.
    (home / "dagster.yaml").write_text(f"{GENERATED_MARK}\nnux:\n  enabled: true\n")
    instance_home(settings)
    assert yaml.safe_load((home / "dagster.yaml").read_text())["nux"] == {"enabled": False}


def _sample(tmp_path: Path, url: str | None = None) -> Settings:
    settings = demo_settings(load_settings(), output_dir=tmp_path / "out")
    if url is None:
        return settings
    return settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": SecretStr(url)})}
    )


def _runs(home: Path) -> list[dg.DagsterRun]:
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        return list(instance.get_runs())
    finally:
        instance.dispose()


def _run_twice_on_the_local_instance(settings: Settings) -> None:
    for _ in range(2):
        summary = run(
            settings,
            start=date(2026, 3, 9),
            end=date(2026, 3, 10),
            channels=[ENGINEERING],
            quiet=True,
        )
        assert summary.failed_runs == 0
    home = local_home(settings)
    runs = _runs(home)
    # Both invocations (an ingest and a digest run each) are on the same instance.
    assert sorted(r.job_name for r in runs) == ["digest_job"] * 2 + ["ingest_job"] * 2
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        materialized = instance.get_materialized_partitions(dg.AssetKey("events"))
    finally:
        instance.dispose()
    assert materialized == {
        dg.MultiPartitionKey({"day": day, "channel": ENGINEERING})
        for day in ("2026-03-09", "2026-03-10")
    }


def test_run_records_on_the_local_instance_sqlite(tmp_path: Path) -> None:
    settings = _sample(tmp_path)
    _run_twice_on_the_local_instance(settings)
    assert local_home(settings) == (tmp_path / "out" / "dagster")


@pytest.mark.postgres
def test_run_records_on_the_local_instance_postgres(
    make_postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    url = make_postgres_database()
    upgrade(url)
    settings = _sample(tmp_path, url)
    _run_twice_on_the_local_instance(settings)
    assert local_home(settings) == (tmp_path / "out" / "dagster")


def test_the_generated_dagster_yaml_is_one_dagster_accepts(tmp_path: Path) -> None:
    import dagster._check  # noqa: F401  (dagster first: its config modules import it)
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema

    result = process_config(dagster_instance_config_schema(), local_instance_config(tmp_path))
    assert result.success, result.errors
