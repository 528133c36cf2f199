"""SIGKILL a pipeline run at seeded points; a normal re-run must converge to the state of
a run that was never interrupted (every table, hashed without run timestamps).

The child (``crash_driver``) ingests a generated workspace from the fake Slack server in
this process, then scores and extracts with the rules. It is killed either at a chosen
phase occurrence (fetch: a page arrived, not yet written; upsert / watermark / score /
extraction: inside the write transaction, before commit) or after a random delay.
20 trials on SQLite files, 4 on PostgreSQL.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from slack_events_dagster.domain.models import CandidateStatus, ts_sort_key
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import FakeSlack
from slack_events_dagster_tests.helpers.crash_points import PHASES, run_crash_child
from slack_events_dagster_tests.helpers.partition_run import (
    Reference,
    assert_converged,
    crash_workspace,
    messages_in,
    pipeline_settings,
    run_pipeline,
)

pytestmark = pytest.mark.reliability

SQLITE_TRIALS = 20
POSTGRES_TRIALS = (("upsert", 0), ("watermark", 1), ("extraction", 2), ("delay", 3))


def _check_crashed_state(repository: SqlRepository, fake: FakeSlack) -> None:
    """What must hold right after the kill, before any re-run."""
    truth = messages_in(crash_workspace())
    with repository.engine.connect() as conn:
        rows = conn.execute(text("SELECT channel_id, ts FROM raw_slack_messages")).all()
    stored = {(channel, ts) for channel, ts in rows}
    assert stored <= set(truth), "only messages Slack has are stored"
    for channel_id, watermark in repository.get_watermarks().items():
        # The watermark says "everything up to here is stored": history must agree.
        top_level = [
            ts
            for (channel, ts), raw in truth.items()
            if channel == channel_id
            and raw.get("thread_ts") in (None, ts)
            and ts_sort_key(ts) <= ts_sort_key(watermark)
        ]
        missing = [ts for ts in top_level if (channel_id, ts) not in stored]
        assert missing == [], f"watermark {watermark} of {channel_id} is ahead of its data"
    duplicates, _ = repository.event_integrity()
    assert duplicates == []


def _trial(url: str, fake: FakeSlack, reference: Reference, seed: int, mode: str) -> str:
    rng = random.Random(seed)
    setup = SqlRepository.from_url(url)
    setup.create_schema()
    setup.close()
    if mode == "delay":
        outcome = run_crash_child(url, fake.base_url, kill_after_s=rng.uniform(0.0, 2.5))
    else:
        occurrence = rng.randint(1, reference.phase_counts[mode])
        outcome = run_crash_child(url, fake.base_url, stop_phase=mode, stop_at=occurrence)
        assert outcome.killed, outcome.output
    repository = SqlRepository.from_url(url)
    try:
        _check_crashed_state(repository, fake)
        report = run_pipeline(repository, pipeline_settings(fake.base_url))
        assert report.failed_channels == []
        assert_converged(repository, reference, f"after a kill at {outcome.where}")
        in_progress = repository.get_candidates(statuses=[CandidateStatus.IN_PROGRESS])
        assert in_progress == []
    finally:
        repository.close()
    return outcome.where


def _sqlite_mode(trial: int) -> str:
    # 3 trials per phase (15) and 5 random delays.
    return PHASES[trial % len(PHASES)] if trial < 15 else "delay"


@pytest.mark.parametrize("trial", range(SQLITE_TRIALS))
def test_sigkill_then_rerun_converges_on_sqlite(
    trial: int, workspace_slack: FakeSlack, sqlite_reference: Reference, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    _trial(url, workspace_slack, sqlite_reference, seed=1000 + trial, mode=_sqlite_mode(trial))


@pytest.mark.postgres
@pytest.mark.parametrize(("mode", "seed"), POSTGRES_TRIALS)
def test_sigkill_then_rerun_converges_on_postgres(
    mode: str,
    seed: int,
    workspace_slack: FakeSlack,
    postgres_reference: Reference,
    make_postgres_database: Callable[[], str],
) -> None:
    _trial(make_postgres_database(), workspace_slack, postgres_reference, seed=seed, mode=mode)
