"""What `slack-events ui` hands `dagster dev`: which settings (the config file by its
path, or the demo's folder) and which instance; and the settings the code location then
builds, the same as the command's."""

from __future__ import annotations

from pathlib import Path

import pytest

from slack_events_dagster.cli import build_parser
from slack_events_dagster.instance import EVENT_BATCH_ENV
from slack_events_dagster.pipeline import SAMPLE_END, demo_settings
from slack_events_dagster.settings import CONFIG_ENV_VAR, load_settings
from slack_events_dagster.ui import SAMPLE_DIR_ENV, location_settings, ui_environment


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (CONFIG_ENV_VAR, SAMPLE_DIR_ENV, "DAGSTER_HOME", EVENT_BATCH_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no ./config.yaml, no .env


def test_with_a_config_the_child_reads_that_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("pipeline:\n  start_date: 2025-05-01\n  timezone: Europe/Berlin\n")
    settings = load_settings(config)
    env = ui_environment(settings, config, tmp_path / "out", tmp_path / "home")
    assert env[CONFIG_ENV_VAR] == str(config.resolve())
    assert SAMPLE_DIR_ENV not in env
    assert env["DAGSTER_HOME"] == str(tmp_path / "home")
    assert int(env[EVENT_BATCH_ENV]) > 0
    monkeypatch.setenv(CONFIG_ENV_VAR, env[CONFIG_ENV_VAR])
    child = location_settings()
    assert child == load_settings(config)
    assert child.pipeline.timezone == "Europe/Berlin"


def test_without_a_config_the_child_builds_the_demo_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "output" / "demo"
    settings = demo_settings(load_settings(), output_dir=out)
    env = ui_environment(settings, None, out, tmp_path / "home")
    assert CONFIG_ENV_VAR not in env
    assert env[SAMPLE_DIR_ENV] == str(out.resolve())
    monkeypatch.setenv(SAMPLE_DIR_ENV, env[SAMPLE_DIR_ENV])
    child = location_settings()
    assert child.pipeline.end_date == SAMPLE_END
    assert child.database.path == out.resolve() / "slack_events.db"
    assert child == demo_settings(load_settings(), output_dir=out.resolve())


def test_the_ui_command_and_its_options() -> None:
    args = build_parser().parse_args(["ui", "--port", "3333", "--host", "0.0.0.0"])
    assert (args.command, args.port, args.host, args.output_dir) == (
        "ui",
        3333,
        "0.0.0.0",
        "output/demo",
    )
