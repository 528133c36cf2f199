"""A backfill submitted the way the Dagster UI does, completed by the daemon's loop.

The UI's backfill dialog sends GraphQL ``launchPartitionBackfill`` with every
selected partition name; the daemon's backfill iteration then launches the runs.
Here the code location is ``backfill_location`` (the product's definitions with the
fake Slack server and a SQLite app database), loaded by a real code server, and runs
execute synchronously in this process, so the test sees exactly which runs Dagster
launched for a backfill of 4 days x 3 channels: one ranged run per channel (not 12).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
from dagster._core.test_utils import create_test_daemon_workspace_context, instance_for_test
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster_graphql.test.utils import execute_dagster_graphql

from slack_events_dagster import steps
from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.steps import day_bounds
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack
from slack_events_dagster_tests.helpers import backfill_location

LOCATION_MODULE = "slack_events_dagster_tests.helpers.backfill_location"
REPO_ROOT = Path(__file__).resolve().parents[2]
CHANNELS = ("C0VLNVAD8VE", "C0Q3BGHK7PB", "C0HKM3VJAU8")  # engineering, releases, ops
FIRST, DAYS = date(2026, 3, 9), 4
DAY_KEYS = [(FIRST + timedelta(days=n)).isoformat() for n in range(DAYS)]
INGEST_ASSETS = ("raw_slack_messages", "event_candidates", "events")
DIGEST_ASSETS = ("daily_digest", "events_calendar")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

LAUNCH_BACKFILL = """
mutation($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
    ... on PartitionSetNotFoundError { message }
    ... on UnauthorizedError { message }
  }
}
"""


@pytest.fixture
def workspace(
    sqlite_repository: SqlRepository,
    fake_slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[dg.DagsterInstance, WorkspaceProcessContext]]:
    """A test instance with the sample's channels as partitions and the code location."""
    database_url = sqlite_repository.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv(backfill_location.DATABASE_URL_VAR, database_url)
    monkeypatch.setenv(backfill_location.SLACK_URL_VAR, fake_slack.base_url)
    monkeypatch.setenv(backfill_location.OUTPUT_DIR_VAR, str(tmp_path / "out"))
    # The run launcher imports the location in this process: drop the copy imported
    # above (built before the variables were set) so it is built from them.
    monkeypatch.delitem(sys.modules, LOCATION_MODULE)
    source = WebApiSource(
        SlackSettings(source="api", base_url=fake_slack.base_url, token=DEFAULT_TOKEN)
    )
    steps.register_channels(source, sqlite_repository)
    with instance_for_test(
        synchronous_run_launcher=True, synchronous_run_coordinator=True
    ) as instance:
        instance.add_dynamic_partitions("channels", list(CHANNELS))
        target = ModuleTarget(
            module_name=LOCATION_MODULE,
            attribute="defs",
            working_directory=str(REPO_ROOT),
            location_name="backfill_test",
        )
        with create_test_daemon_workspace_context(target, instance) as context:
            yield instance, context


def launch_backfill(
    context: WorkspaceProcessContext, assets: tuple[str, ...], partition_names: list[str]
) -> str:
    """What the UI's "Materialize selected" → backfill dialog sends."""
    params: dict[str, Any] = {
        "assetSelection": [{"path": [name]} for name in assets],
        "partitionNames": partition_names,
        "fromFailure": False,
        "tags": [],
    }
    result = execute_dagster_graphql(
        context.create_request_context(), LAUNCH_BACKFILL, {"backfillParams": params}
    )
    assert result.errors is None, result.errors
    answer = result.data["launchPartitionBackfill"]
    assert answer["__typename"] == "LaunchBackfillSuccess", answer
    return str(answer["backfillId"])


def run_daemon_until_done(
    instance: dg.DagsterInstance, context: WorkspaceProcessContext, backfill_id: str
) -> BulkActionStatus:
    """The backfill daemon's loop, ticked until the backfill leaves REQUESTED."""
    logger = logging.getLogger("backfill-test")
    for _ in range(20):
        list(execute_backfill_iteration(context, logger))
        backfill = instance.get_backfill(backfill_id)
        assert backfill is not None
        if backfill.status is not BulkActionStatus.REQUESTED:
            return backfill.status
    raise AssertionError(f"backfill {backfill_id} still requested after 20 daemon ticks")


def test_ui_backfill_runs_in_ranges_and_fills_the_app_tables(
    workspace: tuple[dg.DagsterInstance, WorkspaceProcessContext],
    sqlite_repository: SqlRepository,
) -> None:
    instance, context = workspace
    # Multi-partition keys name the dimensions in sorted order: channel|day.
    names = [f"{channel}|{day}" for channel in CHANNELS for day in DAY_KEYS]
    backfill_id = launch_backfill(context, INGEST_ASSETS, names)

    assert run_daemon_until_done(instance, context, backfill_id) is (
        BulkActionStatus.COMPLETED_SUCCESS
    )
    runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))
    # With more days than channels Dagster ranges each channel's days into one run.
    assert len(runs) == len(CHANNELS), [r.tags for r in runs]
    assert all(run.status is DagsterRunStatus.SUCCESS for run in runs)
    ranges = sorted((run.tags[RANGE_START], run.tags[RANGE_END]) for run in runs)
    assert ranges == sorted(
        (f"{channel}|{DAY_KEYS[0]}", f"{channel}|{DAY_KEYS[-1]}") for channel in CHANNELS
    )
    for run in runs:
        assert {key.to_user_string() for key in run.asset_selection or []} == set(INGEST_ASSETS)
    for asset in INGEST_ASSETS:
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(names), asset

    start, end = day_bounds(FIRST, FIRST + timedelta(days=DAYS - 1), "America/New_York")
    for channel in CHANNELS:
        assert sqlite_repository.get_messages(channel, start, end), channel
    assert sqlite_repository.get_candidates(start=start, end=end)
    assert sqlite_repository.count_events() > 0
    duplicates, orphans = sqlite_repository.event_integrity()
    assert duplicates == [] and orphans == []

    # The digest assets are daily: a backfill of the four days is a single run.
    digest_id = launch_backfill(context, DIGEST_ASSETS, DAY_KEYS)
    assert run_daemon_until_done(instance, context, digest_id) is (
        BulkActionStatus.COMPLETED_SUCCESS
    )
    [digest_run] = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": digest_id}))
    assert (digest_run.tags[RANGE_START], digest_run.tags[RANGE_END]) == (DAY_KEYS[0], DAY_KEYS[-1])
    assert instance.get_materialized_partitions(dg.AssetKey("daily_digest")) == set(DAY_KEYS)
    for day in DAY_KEYS:
        assert sqlite_repository.get_digest(date.fromisoformat(day)) is not None, day
