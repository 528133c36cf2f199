"""Fixtures of the LLM tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from slack_events_dagster.testing.fake_openai import FakeOpenAIServer


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    """The fake OpenAI server, with short retry-after and hang times."""
    with FakeOpenAIServer(retry_after_s=0.01, hang_s=5) as server:
        yield server
