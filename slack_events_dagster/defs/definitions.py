"""Builds the Definitions object from the modules of this package and the settings."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from slack_events_dagster.defs.assets import ASSETS
from slack_events_dagster.defs.automation import JOBS, SCHEDULES, SENSORS
from slack_events_dagster.defs.resources import (
    ExtractorResource,
    RepositoryResource,
    SettingsResource,
    SlackPosterResource,
    SlackSourceResource,
)
from slack_events_dagster.settings import CONFIG_ENV_VAR

SLACK_TOKEN, LLM_KEY = "SLACK_EVENTS_SLACK__TOKEN", "SLACK_EVENTS_LLM__API_KEY"


def _secret(name: str) -> Any:
    """An EnvVar when the variable is set (Dagster resolves it at run time and never
    writes its value into run config), else None (the settings' own value, if any)."""
    return dg.EnvVar(name) if os.environ.get(name) else None


def build_resources(
    *,
    config_path: str | None = None,
    overrides: dict[str, Any] | None = None,
    database_url: str | None = None,
    slack_token: str | None = None,
    llm_api_key: str | None = None,
) -> dict[str, Any]:
    """Resources from the settings. ``slack_token`` and ``llm_api_key`` are for tests;
    deployments leave them out and set SLACK_EVENTS_SLACK__TOKEN / _LLM__API_KEY."""
    app = SettingsResource(
        config_path=config_path or os.environ.get(CONFIG_ENV_VAR), overrides=overrides or {}
    )
    return {
        "app": app,
        "repository": RepositoryResource(settings=app, database_url=database_url),
        "slack": SlackSourceResource(settings=app, token=slack_token or _secret(SLACK_TOKEN)),
        "extractor": ExtractorResource(settings=app, api_key=llm_api_key or _secret(LLM_KEY)),
        "poster": SlackPosterResource(settings=app, token=slack_token or _secret(SLACK_TOKEN)),
    }


def build_definitions(
    *, executor: dg.ExecutorDefinition | None = None, **resource_options: Any
) -> dg.Definitions:
    """The code location. ``executor`` is for tests and benchmarks, which run backfills
    with ``dg.in_process_executor`` (Dagster's default starts a process per step)."""
    return dg.Definitions(
        assets=ASSETS,
        jobs=JOBS,
        schedules=SCHEDULES,
        sensors=SENSORS,
        resources=build_resources(**resource_options),
        executor=executor,
    )
