"""Fixtures of the Dagster tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from slack_events_dagster.settings import SAMPLE_WORKSPACE
from slack_events_dagster.testing.fake_slack import FakeSlack


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """The sample workspace served by the fake Slack Web API."""
    fake = FakeSlack.from_export(SAMPLE_WORKSPACE, team_domain="lumenlabs")
    with fake.serve():
        yield fake
