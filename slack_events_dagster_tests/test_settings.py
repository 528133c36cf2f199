"""Settings: YAML, environment overrides, .env, secrets, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from slack_events_dagster.settings import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("SLACK_EVENTS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_the_embedded_setup() -> None:
    settings = load_settings()
    assert settings.database.type == "sqlite"
    assert settings.slack.source == "export"
    assert settings.slack.resolved_export_path().name == "workspace"
    assert settings.llm.provider == "rules"
    assert settings.digest.post is False


def test_yaml_then_environment_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "team.yaml"
    config.write_text(
        "database:\n  type: postgres\n  postgres:\n    host: db.internal\n    password: from-yaml\n"
        "  pool:\n    size: 7\npipeline:\n  timezone: Europe/Berlin\n  start_date: 2025-01-01\n"
    )
    monkeypatch.setenv("SLACK_EVENTS_DATABASE__POOL__SIZE", "12")
    monkeypatch.setenv("SLACK_EVENTS_SLACK__TOKEN", "xoxb-from-env")
    settings = load_settings(config)
    assert settings.database.type == "postgres"
    assert settings.database.postgres.host == "db.internal"
    assert settings.database.pool.size == 12
    assert settings.pipeline.timezone == "Europe/Berlin"
    assert settings.slack.token.get_secret_value() == "xoxb-from-env"
    assert "xoxb-from-env" not in repr(settings)
    assert "from-yaml" not in repr(settings)


def test_config_from_environment_variable_and_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.yaml").write_text("llm:\n  batch_size: 5\n")
    assert load_settings().llm.batch_size == 5
    other = tmp_path / "other.yaml"
    other.write_text("llm:\n  batch_size: 9\n")
    monkeypatch.setenv("SLACK_EVENTS_CONFIG", str(other))
    assert load_settings().llm.batch_size == 9


def test_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SLACK_EVENTS_LLM__API_KEY=sk-test-dotenv\n")
    assert load_settings().llm.api_key.get_secret_value() == "sk-test-dotenv"


def test_bad_values_name_the_key_and_hide_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "database:\n  type: oracle\n  pool:\n    size: many\npipeline:\n  timezone: Mars/Base\n"
    )
    monkeypatch.setenv("SLACK_EVENTS_SLACK__TOKEN", "xoxb-secret")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "database.type" in message
    assert "database.pool.size" in message and "SLACK_EVENTS_DATABASE__POOL__SIZE" in message
    assert "pipeline.timezone" in message and "Mars/Base" in message
    assert str(config) in message
    assert "xoxb-secret" not in message


def test_unknown_key_and_missing_file_are_errors(tmp_path: Path) -> None:
    config = tmp_path / "typo.yaml"
    config.write_text("databse:\n  type: sqlite\n")
    with pytest.raises(ConfigError, match="databse"):
        load_settings(config)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")


def test_app_profiles_choose_the_rate_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    internal = load_settings().slack
    assert internal.app_profile == "internal"
    assert internal.method_limit("history").calls_per_minute is None  # unpaced, 429s waited
    assert internal.method_limit("history").limit == 1000
    assert internal.method_limit("replies").limit == 1000

    config = tmp_path / "unlisted.yaml"
    config.write_text("slack:\n  app_profile: unlisted\n")
    unlisted = load_settings(config).slack
    for method in ("history", "replies"):
        limit = unlisted.method_limit(method)  # type: ignore[arg-type]
        assert (limit.calls_per_minute, limit.limit, limit.burst) == (1, 15, 1)

    # One method overridden from the environment; the other keeps the profile's.
    monkeypatch.setenv("SLACK_EVENTS_SLACK__RATE_LIMITS__REPLIES__CALLS_PER_MINUTE", "3")
    monkeypatch.setenv("SLACK_EVENTS_SLACK__RATE_LIMITS__REPLIES__LIMIT", "15")
    mixed = load_settings(config).slack
    assert mixed.method_limit("replies").calls_per_minute == 3
    assert mixed.method_limit("history").calls_per_minute == 1


def test_bad_rate_limits_name_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(
        "slack:\n  app_profile: marketplace\n"
        "  rate_limits:\n    history: {calls_per_minute: 0}\n    search: {limit: 15}\n"
    )
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    message = str(error.value)
    assert "slack.app_profile" in message and "'internal' or 'unlisted'" in message
    assert "slack.rate_limits.history.calls_per_minute" in message
    assert "SLACK_EVENTS_SLACK__RATE_LIMITS__HISTORY__CALLS_PER_MINUTE" in message
    assert "slack.rate_limits.search" in message
