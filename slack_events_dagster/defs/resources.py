"""The adapters the product runs on, picked from the settings, handed out as resources.

Part of the composition root (:func:`~slack_events_dagster.defs.definitions.build_definitions`):
the settings say which message source (the Web API or an export), which extractor
(rules or an OpenAI-compatible model) and whether a poster exists; everywhere else the
code asks the adapter it is given what it can do. Each resource hands out the client
itself (an asset asks for ``repository: dg.ResourceParam[...]``), built once per run
and closed after it.

Secrets stay inside the settings object (read from the environment or the config file
by pydantic-settings) and the clients built from it: no resource has config, so none
reaches run config, the launchpad, logs or metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg

from slack_events_dagster.llm.base import Extractor
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.settings import Settings, SlackSettings
from slack_events_dagster.slack.budget import CallBudget
from slack_events_dagster.slack.export import ExportSource
from slack_events_dagster.slack.poster import SlackPoster
from slack_events_dagster.slack.source import MessageSource
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.base import BudgetStore, Repository
from slack_events_dagster.storage.migrate import SchemaNotReadyError
from slack_events_dagster.storage.repository import SqlRepository


def message_source(settings: SlackSettings, budget: BudgetStore | None = None) -> MessageSource:
    """The source the settings name: an export (default: the sample) or the Web API,
    whose paced methods draw from the app's shared call budget in ``budget``."""
    if settings.source == "export":
        return ExportSource.from_settings(settings)
    calls = CallBudget.from_settings(budget, settings) if budget is not None else None
    return WebApiSource(settings, budget=calls)


def extractor(settings: Settings, repository: Repository) -> Extractor:
    """The rule extractor (default) or the OpenAI-compatible one, which records its
    calls in ``repository``."""
    if settings.llm.provider == "rules":
        return RuleExtractor(date_order=settings.pipeline.date_order)
    from slack_events_dagster.llm.openai_extractor import OpenAIExtractor

    return OpenAIExtractor(settings.llm, repository)


def poster(settings: SlackSettings) -> SlackPoster | None:
    """Posts digests and alerts; None without a token."""
    return SlackPoster(settings) if settings.token.get_secret_value() else None


def build_resources(settings: Settings) -> dict[str, dg.ResourceDefinition]:
    @dg.resource(description="The repository on SQLite or pooled PostgreSQL (database.*).")
    def repository(context: dg.InitResourceContext) -> Iterator[SqlRepository]:
        repo = SqlRepository.from_settings(settings.database)
        try:
            # A database is at the newest schema before use: SQLite is migrated here. A
            # run on PostgreSQL that finds an older schema stops with the command to run;
            # sensors ask again and skip with that message (no failed tick per interval).
            problem = repo.prepare_schema()
            if problem is not None and context.run is not None:
                raise SchemaNotReadyError(problem)
            yield repo
        finally:
            repo.close()

    @dg.resource(
        required_resource_keys={"repository"},
        description="Where messages come from: the Web API or an export (slack.*); paced "
        "calls draw from the app's budget in the repository.",
    )
    def source(context: dg.InitResourceContext) -> MessageSource:
        return message_source(settings.slack, context.resources.repository)

    @dg.resource(
        required_resource_keys={"repository"},
        description="The rule extractor or an OpenAI-compatible model (llm.*).",
    )
    def extractor_resource(context: dg.InitResourceContext) -> Extractor:
        return extractor(settings, context.resources.repository)

    @dg.resource(description="Posts digests and alerts to Slack; None without slack.token.")
    def poster_resource(_: dg.InitResourceContext) -> SlackPoster | None:
        return poster(settings.slack)

    resources: dict[str, Any] = {
        "settings": dg.ResourceDefinition.hardcoded_resource(
            settings, "The product settings the code location was built from."
        ),
        "repository": repository,
        "source": source,
        "extractor": extractor_resource,
        "poster": poster_resource,
    }
    return resources
