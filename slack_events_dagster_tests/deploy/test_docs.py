"""The configuration snippets in docs/scaling.md and docs/operations.md parse, and the
Helm values keep the limits that deploy/dagster.yaml sets for the compose deployment."""

from __future__ import annotations

import re
from typing import Any

import yaml

from slack_events_dagster_tests.helpers.paths import REPO_ROOT

SCALING = REPO_ROOT / "docs" / "scaling.md"
OPERATIONS = REPO_ROOT / "docs" / "operations.md"


def yaml_blocks(text: str) -> list[Any]:
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S)]


def test_helm_values_use_the_k8s_launcher_and_the_queue_limits() -> None:
    blocks = yaml_blocks(SCALING.read_text())
    values = next(b for b in blocks if "runLauncher" in b)
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert "SLACK_EVENTS_MIGRATE=0" in launcher["envVars"]
    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "slack_events_dagster.definitions"]
    coordinator = values["dagsterDaemon"]["runCoordinator"]
    assert coordinator["type"] == "QueuedRunCoordinator"
    limits = {
        c["key"]: c["limit"]
        for c in coordinator["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    }
    assert set(limits) == {"slack_events/llm", "dagster/backfill"}
    assert values["postgresql"]["enabled"] is False


def test_backfill_run_config_uses_per_step_pods() -> None:
    blocks = yaml_blocks(SCALING.read_text())
    run_config = next(b for b in blocks if "execution" in b)
    step = run_config["execution"]["config"]["step_k8s_config"]
    assert step["container_config"]["resources"]["limits"]["memory"]


def test_operations_names_the_real_commands_and_variables() -> None:
    text = OPERATIONS.read_text()
    for needed in (
        "slack-events copy-db",
        "pg_dump",
        "pg_restore",
        ".backup",
        "downgrade -1",
        "dagster instance migrate",
        "SLACK_EVENTS_DB_WAIT_S",
        "invalid_auth",
        "not_in_channel",
    ):
        assert needed in text, needed
    env_names = set(re.findall(r"\b(SLACK_EVENTS_[A-Z_]+|DAGSTER_POSTGRES_[A-Z]+)\b", text))
    settings_or_env = (REPO_ROOT / ".env.example").read_text() + (
        REPO_ROOT / "docker" / "entrypoint.sh"
    ).read_text()
    known = {
        "SLACK_EVENTS_PIPELINE__SENSOR_INTERVAL_S",  # a setting compose does not set
        "SLACK_EVENTS_DATABASE__POSTGRES__",
    }
    unknown = {n for n in env_names if n not in settings_or_env and n not in known}
    assert not unknown, unknown


def test_the_local_instance_snippet_names_a_storage_dagster_accepts() -> None:
    import importlib

    import dagster._check  # noqa: F401  (dagster first: its config modules import it)
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema
    from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

    instance = next(b for b in yaml_blocks(OPERATIONS.read_text()) if "storage" in b)
    result = process_config(dagster_instance_config_schema(), instance)
    assert result.success, result.errors
    custom = instance["storage"]["custom"]
    storage_class = getattr(importlib.import_module(custom["module"]), custom["class"])
    assert issubclass(storage_class, DagsterSqliteStorage)
    result = process_config(storage_class.config_type(), custom["config"])
    assert result.success, result.errors


def test_the_rate_limit_snippet_is_valid_settings() -> None:
    from slack_events_dagster.settings import load_settings

    snippet = next(b for b in yaml_blocks(OPERATIONS.read_text()) if "rate_limits" in str(b))
    settings = load_settings(**snippet)
    assert settings.slack.app_profile == "unlisted"
    assert settings.slack.method_limit("history").limit == 15
    assert settings.slack.method_limit("replies").calls_per_minute == 2
    assert settings.slack.thread_horizon_days == 0.125
