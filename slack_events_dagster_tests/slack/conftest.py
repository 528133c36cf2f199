"""Fixtures for the Slack adapter tests: a fake Slack server the real slack_sdk talks to."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack
from slack_events_dagster.testing.workspace_gen import GeneratedWorkspace

TESTARCHIVE = "slack-export-viewer-testarchive.zip"


def slack_settings(base_url: str, **overrides: Any) -> SlackSettings:
    """Settings for tests: short backoff and timeout so faults cost milliseconds."""
    values: dict[str, Any] = {
        "source": "api",
        "token": DEFAULT_TOKEN,
        "base_url": base_url,
        "page_size": 200,
        "max_retries": 6,
        "retry_backoff_s": 0.01,
        "timeout_s": 5,
    }
    values.update(overrides)
    return SlackSettings(**values)


@pytest.fixture
def serve() -> Iterator[Callable[[FakeSlack], str]]:
    """Start fake servers for the test; all stop at its end."""
    with ExitStack() as stack:

        def start(fake: FakeSlack) -> str:
            return stack.enter_context(fake.serve())

        yield start


@pytest.fixture
def api_source() -> Callable[..., WebApiSource]:
    def make(base_url: str, **overrides: Any) -> WebApiSource:
        return WebApiSource(slack_settings(base_url, **overrides))

    return make


@pytest.fixture
def testarchive(shared_fixtures: Path) -> Path:
    path = shared_fixtures / TESTARCHIVE
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared fixtures ship beside the repository)")
    return path


def top_level_count(workspace: GeneratedWorkspace, channel_id: str) -> int:
    return sum(
        1
        for m in workspace.messages[channel_id]
        if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
    )
