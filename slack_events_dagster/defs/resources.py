"""Resources built from the product settings, each overridable in tests.

Every resource reads the same settings (``config_path``, else the usual lookup)
and may override a few keys. Secrets reach a resource only as ``dg.EnvVar`` (see
``definitions.py``) or straight from the environment through the settings, so
they never appear in run config, logs or metadata.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import dagster as dg
from pydantic import PrivateAttr, SecretStr

from slack_events_dagster.llm.base import Extractor
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.settings import Settings, load_settings
from slack_events_dagster.slack.poster import SlackPoster
from slack_events_dagster.slack.source import MessageSource
from slack_events_dagster.steps import message_source
from slack_events_dagster.storage.repository import SqlRepository


class SettingsResource(dg.ConfigurableResource):
    """The product settings, with optional overrides given as ``section.key`` pairs."""

    config_path: str | None = None
    # {"slack": {"base_url": ...}, ...}: merged over the file and environment.
    overrides: dict[str, Any] = {}

    @cached_property
    def settings(self) -> Settings:
        loaded = load_settings(self.config_path)
        if not self.overrides:
            return loaded
        data = loaded.model_dump()
        for section, values in self.overrides.items():
            data[section] = {**data.get(section, {}), **values}
        return load_settings(self.config_path, **data)


class RepositoryResource(dg.ConfigurableResource):
    """The repository on SQLite or pooled PostgreSQL (one engine per process)."""

    settings: SettingsResource
    # A full database URL instead of the settings' database section (tests, copy-db).
    database_url: str | None = None
    _repository: SqlRepository | None = PrivateAttr(default=None)

    def get(self) -> SqlRepository:
        if self._repository is None:
            database = self.settings.settings.database
            if self.database_url:
                self._repository = SqlRepository.from_url(self.database_url, settings=database)
            else:
                self._repository = SqlRepository.from_settings(database)
        return self._repository

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._repository is not None:
            self._repository.close()
            self._repository = None


class SlackSourceResource(dg.ConfigurableResource):
    """Where messages come from: the Web API or an export, as settings say."""

    settings: SettingsResource
    token: str | None = None

    def get(self) -> MessageSource:
        slack = self.settings.settings.slack
        if self.token:
            slack = slack.model_copy(update={"token": SecretStr(self.token)})
        return message_source(slack)


class ExtractorResource(dg.ConfigurableResource):
    """The rule extractor (default) or the OpenAI-compatible one."""

    settings: SettingsResource
    api_key: str | None = None

    def get(self, repository: SqlRepository) -> Extractor:
        llm = self.settings.settings.llm
        if llm.provider == "rules":
            return RuleExtractor(date_order=self.settings.settings.pipeline.date_order)
        from slack_events_dagster.llm.openai_extractor import OpenAIExtractor

        if self.api_key:
            llm = llm.model_copy(update={"api_key": SecretStr(self.api_key)})
        return OpenAIExtractor(llm, repository)


class SlackPosterResource(dg.ConfigurableResource):
    """Posts digests and alerts; None when posting is off or no token is set."""

    settings: SettingsResource
    token: str | None = None

    def get(self) -> SlackPoster | None:
        settings = self.settings.settings
        slack = settings.slack
        if self.token:
            slack = slack.model_copy(update={"token": SecretStr(self.token)})
        if not slack.token.get_secret_value():
            return None
        return SlackPoster(slack)
