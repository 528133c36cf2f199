"""The ``slack-events`` command line: options where users type them, and the days
``slack-events run`` chooses when none are given (and says why)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from slack_events_dagster.cli import build_parser, main
from slack_events_dagster.dagster_storage import EVENT_BATCH_SIZE
from slack_events_dagster.defs.resources import message_source
from slack_events_dagster.pipeline import SAMPLE_END, SAMPLE_START, choose_range
from slack_events_dagster.settings import load_settings
from slack_events_dagster.steps import day_bounds
from slack_events_dagster.storage.repository import SqlRepository

# Each subcommand with the arguments it requires.
COMMANDS: dict[str, list[str]] = {
    "migrate": [],
    "copy-db": ["--source", "sqlite:///a.db", "--target", "sqlite:///b.db"],
    "run": ["--from", "2026-03-02"],
    "demo": [],
    "listen": [],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("side", ["before", "after"])
def test_config_and_verbose_are_accepted_on_either_side_of_each_command(
    command: str, side: str
) -> None:
    options = ["--config", "settings.yaml", "-v"]
    argv = (
        [*options, command, *COMMANDS[command]]
        if side == "before"
        else [command, *COMMANDS[command], *options]
    )
    args = build_parser().parse_args(argv)
    assert (args.command, args.config, args.verbose) == (command, "settings.yaml", True)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_option_given_before_the_command_is_not_reset_by_it(command: str) -> None:
    args = build_parser().parse_args(["--config", "x.yaml", command, *COMMANDS[command]])
    assert (args.config, args.verbose) == ("x.yaml", False)
    args = build_parser().parse_args([command, *COMMANDS[command]])
    assert (args.config, args.verbose) == (None, False)


@pytest.mark.parametrize("side", ["before", "after"])
def test_the_config_file_is_read_on_either_side(
    side: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / f"{side}.db"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"database": {"type": "sqlite", "path": str(database)}}))
    monkeypatch.chdir(tmp_path)  # no ./config.yaml to fall back on
    monkeypatch.delenv("SLACK_EVENTS_CONFIG", raising=False)
    argv = ["--config", str(config), "migrate"] if side == "before" else ["migrate"]
    argv += [] if side == "before" else ["--config", str(config)]
    assert main(argv) == 0
    assert database.exists()


def test_an_export_defaults_to_its_own_days() -> None:
    settings = load_settings(pipeline={"start_date": "2024-01-01"})
    source = message_source(settings.slack)
    channels = source.list_channels()
    chosen = choose_range(source, channels, settings)
    assert (chosen.first, chosen.last) == (SAMPLE_START, SAMPLE_END)
    assert str(chosen) == ("days 2026-03-02 .. 2026-03-22 (the days the export holds)")
    moved = choose_range(source, channels, settings, start=date(2026, 3, 9))
    assert str(moved) == "days 2026-03-09 .. 2026-03-22 (--from .. the export's last day)"


def test_the_api_defaults_to_start_date_until_today() -> None:
    settings = load_settings(
        slack={"source": "api", "token": "xoxb-not-used"},
        pipeline={"start_date": "2026-01-05", "timezone": "Asia/Tokyo"},
    )
    source = message_source(settings.slack)
    chosen = choose_range(source, [], settings)
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date()
    assert (chosen.first, chosen.last) == (date(2026, 1, 5), today)
    assert str(chosen) == (
        f"days 2026-01-05 .. {today} (pipeline.start_date .. today in Asia/Tokyo)"
    )
    until = choose_range(source, [], settings, end=date(2026, 2, 1))
    assert str(until) == "days 2026-01-05 .. 2026-02-01 (pipeline.start_date .. --to)"


def test_run_prints_the_days_it_chose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`slack-events run --config FILE` over a sample channel: its days, said first."""
    database = tmp_path / "run.db"
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": {"type": "sqlite", "path": str(database)},
                "pipeline": {"start_date": "2026-01-01", "timezone": "America/New_York"},
                "digest": {
                    "output_dir": str(tmp_path / "out"),
                    "calendar_path": str(tmp_path / "out" / "events.ics"),
                },
            }
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    # The command sets it for its process; the test's process gets its own value back.
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", EVENT_BATCH_SIZE)
    assert main(["run", "--channel", "deploys", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == ("days 2026-03-02 .. 2026-03-22 (the days the export holds)")
    with SqlRepository.from_url(f"sqlite:///{database}") as repository:
        assert repository.get_digest(SAMPLE_END) is not None  # the run covered those days
        # The summary counts the channel's readable messages of those days (a query).
        [channel] = [c for c in repository.get_channels() if c.name == "deploys"]
        start, end = day_bounds(SAMPLE_START, SAMPLE_END, "America/New_York")
        readable = repository.get_messages(channel.id, start, end)
    assert readable and f", {len(readable)} messages, " in out


def test_listen_needs_the_api_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_EVENTS_CONFIG", raising=False)
    assert main(["listen"]) == 2
    assert "set slack.source to api" in capsys.readouterr().err


def test_listen_names_a_bad_app_token_without_printing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_EVENTS_CONFIG", raising=False)
    monkeypatch.setenv("SLACK_EVENTS_SLACK__SOURCE", "api")
    monkeypatch.setenv("SLACK_EVENTS_SLACK__APP_TOKEN", "xoxb-a-bot-token-by-mistake")
    assert main(["listen"]) == 2
    err = capsys.readouterr().err
    assert "slack.app_token" in err and "SLACK_EVENTS_SLACK__APP_TOKEN" in err
    assert "xapp-" in err and "a-bot-token-by-mistake" not in err


def test_listen_if_configured_ends_quietly_without_an_app_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SLACK_EVENTS_CONFIG", raising=False)
    monkeypatch.delenv("SLACK_EVENTS_SLACK__APP_TOKEN", raising=False)
    assert main(["listen", "--if-configured"]) == 0
    assert "Socket Mode is off" in capsys.readouterr().out
