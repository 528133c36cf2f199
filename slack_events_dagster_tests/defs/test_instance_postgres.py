"""The pipeline on a Dagster instance stored in PostgreSQL (dagster-postgres), as deployed.

Run, event-log and schedule storage live in their own fresh database; the app's
tables in another. The test reads the run records back through a second instance
object and straight from the ``runs`` table, so they are really in PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.test_utils import instance_for_test
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from slack_events_dagster import steps
from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.settings import SAMPLE_WORKSPACE
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
CHANNELS = ("C0VLNVAD8VE", "C0Q3BGHK7PB", "C0HKM3VJAU8")
FIRST, LAST = date(2026, 3, 9), date(2026, 3, 11)
TIMEZONE = "America/New_York"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack.from_export(SAMPLE_WORKSPACE, team_domain="lumenlabs")
    with fake.serve():
        yield fake


@pytest.fixture
def dagster_postgres_url(make_postgres_database: Callable[[], str]) -> str:
    """A fresh database for the Dagster instance's own storage, through psycopg2.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, whose server-side
    parameters break dagster-postgres 0.29's ``NOTIFY run_events, %(notify_id)s``
    ("syntax error at or near $1"). A deployment's dagster.yaml must name the
    driver too: ``postgres_url: postgresql+psycopg2://...`` or, with
    ``postgres_db``, ``scheme: postgresql+psycopg2``.
    """
    url = make_url(make_postgres_database()).set(drivername="postgresql+psycopg2")
    return url.render_as_string(hide_password=False)


def test_pipeline_runs_on_a_postgres_instance(
    dagster_postgres_url: str,
    postgres_repository: SqlRepository,
    fake_slack: FakeSlack,
    tmp_path: Path,
) -> None:
    output = tmp_path / "out"
    defs = build_definitions(
        overrides={
            "slack": {"source": "api", "base_url": fake_slack.base_url, "max_retries": 2},
            "pipeline": {"timezone": TIMEZONE, "candidate_threshold": 0.5},
            "digest": {
                "output_dir": str(output),
                "calendar_path": str(output / "events.ics"),
                "timezone": TIMEZONE,
            },
        },
        database_url=postgres_repository.engine.url.render_as_string(hide_password=False),
        slack_token=DEFAULT_TOKEN,
    )
    resources: dict[str, Any] = dict(defs.resources or {})
    registered = steps.register_channels(resources["slack"].get(), postgres_repository)
    assert set(CHANNELS) <= {c.id for c in registered}

    storage = {"storage": {"postgres": {"postgres_url": dagster_postgres_url}}}
    with instance_for_test(overrides=storage) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        instance.add_dynamic_partitions("channels", list(CHANNELS))

        def run(job_name: str, start: str, end: str) -> dg.ExecuteInProcessResult:
            return defs.resolve_job_def(job_name).execute_in_process(
                instance=instance,
                resources=resources,
                tags={RANGE_START: start, RANGE_END: end},
                raise_on_error=False,
            )

        results = [run("ingest_job", f"{c}|{FIRST}", f"{c}|{LAST}") for c in CHANNELS]
        results.append(run("digest_job", FIRST.isoformat(), LAST.isoformat()))
        assert all(result.success for result in results)
        run_ids = {result.run_id for result in results}

    # A second instance on the same database sees the runs and what they materialized.
    with instance_for_test(overrides=storage) as reopened:
        stored = reopened.get_runs()
        assert {r.run_id for r in stored} == run_ids
        assert all(r.status is DagsterRunStatus.SUCCESS for r in stored)
        days = {d.isoformat() for d in steps.days(FIRST, LAST)}
        expected = {f"{c}|{d}" for c in CHANNELS for d in days}
        for asset in ("raw_slack_messages", "event_candidates", "events"):
            assert reopened.get_materialized_partitions(dg.AssetKey(asset)) == expected, asset
        assert reopened.get_materialized_partitions(dg.AssetKey("daily_digest")) == days
        assert reopened.get_dynamic_partitions("channels") == list(CHANNELS)

    engine = create_engine(dagster_postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM runs")).scalar_one() == len(run_ids)
            checks = conn.execute(text("SELECT count(*) FROM asset_check_executions"))
            assert checks.scalar_one() > 0
    finally:
        engine.dispose()

    start, end = steps.day_bounds(FIRST, LAST, TIMEZONE)
    for channel in CHANNELS:
        assert postgres_repository.get_messages(channel, start, end), channel
    assert postgres_repository.get_candidates(start=start, end=end)
    assert postgres_repository.count_events() > 0
    for day in steps.days(FIRST, LAST):
        assert postgres_repository.get_digest(day) is not None, day
    assert (output / "events.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")
