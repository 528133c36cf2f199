"""Fixtures for the Slack adapter tests: a fake Slack server the real slack_sdk talks to."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.testing.fake_slack import FakeSlack
from slack_events_dagster_tests.helpers.slack_api import slack_settings

TESTARCHIVE = "slack-export-viewer-testarchive.zip"


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
