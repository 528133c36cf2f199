"""Fixtures of the reliability group: the fake Slack serving a generated workspace, and
the state of an uninterrupted run of it on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from slack_events_dagster.testing.fake_slack import FakeSlack
from slack_events_dagster_tests.helpers.crash_points import (
    PHASES,
    PhaseCounter,
    ProbedRepository,
    ProbedSource,
)
from slack_events_dagster_tests.helpers.partition_run import (
    TOKEN,
    Reference,
    crash_workspace,
    pipeline_settings,
    run_pipeline,
)
from slack_events_dagster_tests.helpers.tables import table_state

READ_SCOPES = ["channels:history", "channels:read", "users:read"]


@pytest.fixture(scope="session")
def workspace_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack.from_workspace(crash_workspace(), tokens={TOKEN: READ_SCOPES})
    with fake.serve():
        yield fake


def build_reference(url: str, fake: FakeSlack) -> Reference:
    counter = PhaseCounter()
    repository = ProbedRepository.probed(url, counter)
    repository.create_schema()
    settings = pipeline_settings(fake.base_url)
    source = ProbedSource(settings.slack, counter)
    report = run_pipeline(repository, settings, source=source)
    assert report.failed_channels == []
    assert report.events > 0, "the workspace must give the extraction something to do"
    # Every phase happens several times, so stopping at any occurrence is meaningful.
    assert all(counter.counts[p] >= 2 for p in PHASES), counter.counts
    return Reference(table_state(repository.engine), repository, counter.counts)


@pytest.fixture(scope="session")
def sqlite_reference(
    workspace_slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Reference]:
    path = tmp_path_factory.mktemp("reference") / "reference.db"
    reference = build_reference(f"sqlite:///{path}", workspace_slack)
    yield reference
    reference.repository.close()


@pytest.fixture(scope="session")
def postgres_reference(
    workspace_slack: FakeSlack, make_postgres_database: Callable[[], str]
) -> Iterator[Reference]:
    reference = build_reference(make_postgres_database(), workspace_slack)
    yield reference
    reference.repository.close()
