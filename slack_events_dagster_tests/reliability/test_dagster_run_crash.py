"""SIGKILL the product's main job, `slack-events run`, while it runs; running it again
must leave every table as a run that was never interrupted did (run timestamps aside).

The child is the real command in its own process: settings from a config file, the
channels registered, one ranged Dagster run of ``ingest_job`` per channel and one of
``digest_job``, all recorded on a persistent instance in DAGSTER_HOME; real slack_sdk
and openai clients against the fake Slack (3 channels x 3 days, a digest channel the
digests are posted to) and the fake OpenAI server. It is killed (its whole process
group, SIGKILL) when its SQLite file shows it reached a seeded point of the run -
messages, watermarks, candidates, LLM calls, events or digests stored - or inside the
fake Slack's ``chat.postMessage`` of a digest (posted, not yet answered), or after a
seeded delay. Then the same command runs again to completion.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import text

from slack_events_dagster.domain.models import CandidateStatus, ts_sort_key
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster_tests.helpers.cli_run import (
    DIGEST_CHANNEL,
    RUN_CHANNELS,
    RUN_DAYS,
    RUN_IGNORED,
    RUN_KILL_KINDS,
    CliOutcome,
    CliSite,
    PostWatchingSlack,
    cli_site,
    kill_cli,
    run_cli,
    run_fakes,
    run_kill_point,
    run_workspace,
)
from slack_events_dagster_tests.helpers.partition_run import messages_in
from slack_events_dagster_tests.helpers.tables import assert_same_tables, table_state

pytestmark = pytest.mark.reliability

# Each kind of point once, extraction's twice; the seed picks the occurrence.
TRIALS = (*RUN_KILL_KINDS, "llm_calls", "events")
IN_PROGRESS_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture(scope="module")
def run_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the installations live: tmpfs when there is one. A SIGKILL leaves the page
    cache intact, so flushing to disk has no bearing on what it can lose; it only costs
    the Dagster instance's SQLite files an fsync per event (2 s of a 6 s run here)."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path_factory.mktemp("dagster_run_crash")
        return
    root = Path(tempfile.mkdtemp(prefix="dagster_run_crash_", dir=shm))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class RunReference:
    today: date
    slack: PostWatchingSlack
    llm_url: str
    site: CliSite
    outcome: CliOutcome
    state: dict[str, tuple[int, str]]


@pytest.fixture(scope="module")
def run_reference(run_root: Path) -> Iterator[RunReference]:
    """One uninterrupted `slack-events run` into its own database and instance."""
    today = _today()
    with run_fakes(today - timedelta(days=1)) as (slack, llm):
        site = cli_site(
            run_root / "reference",
            slack.base_url,
            llm.base_url,
            today - timedelta(days=RUN_DAYS),
        )
        outcome = run_cli(site)
        assert outcome.returncode == 0, outcome.output
        counts = outcome.counts
        # Every kind of kill point has something to hit.
        assert counts["messages"] > 100 and counts["watermarks"] == RUN_CHANNELS, counts
        assert counts["candidates"] >= 10 and counts["llm_calls"] >= 5, counts
        assert counts["events"] >= 5 and counts["digests"] == RUN_DAYS + 1, counts
        assert len(slack.posts_in(DIGEST_CHANNEL)) == counts["digests"]
        with SqlRepository.from_url(site.url) as repository:
            state = table_state(repository.engine, RUN_IGNORED)
        yield RunReference(today, slack, llm.base_url, site, outcome, state)


def _check_watermarks(repository: SqlRepository, truth_end: date) -> None:
    """No watermark ahead of its channel's stored messages (the next run would skip)."""
    truth = messages_in(run_workspace(truth_end))
    with repository.engine.connect() as conn:
        stored = {
            (c, ts) for c, ts in conn.execute(text("SELECT channel_id, ts FROM raw_slack_messages"))
        }
    assert stored <= set(truth), "only messages Slack has are stored"
    for channel_id, watermark in repository.get_watermarks().items():
        newest = repository.newest_message_ts(channel_id)
        assert newest is not None and ts_sort_key(watermark) <= ts_sort_key(newest), (
            f"watermark {watermark} of {channel_id} is ahead of its newest message {newest}"
        )
        missing = [
            ts
            for (channel, ts), raw in truth.items()
            if channel == channel_id
            and raw.get("thread_ts") in (None, ts)
            and ts_sort_key(ts) <= ts_sort_key(watermark)
            and (channel, ts) not in stored
        ]
        assert missing == [], f"watermark {watermark} of {channel_id} is ahead of its data"


def _runs(site: CliSite) -> dict[str, dg.DagsterRunStatus]:
    """The runs on the site's instance (DAGSTER_HOME) and their status."""
    instance = dg.DagsterInstance.from_config(str(site.dagster_home))
    try:
        return {run.run_id: run.status for run in instance.get_runs()}
    finally:
        instance.dispose()


@pytest.mark.parametrize("trial", range(len(TRIALS)))
def test_sigkill_of_slack_events_run_then_rerun_converges(
    trial: int, run_reference: RunReference, run_root: Path
) -> None:
    reference, slack = run_reference, run_reference.slack
    if _today() != reference.today:
        pytest.skip("the UTC day changed since the reference run: its default range moved")
    point = run_kill_point(TRIALS[trial], 2000 + trial, reference.outcome)
    site = cli_site(
        run_root / f"trial{trial}",
        slack.base_url,
        reference.llm_url,
        reference.today - timedelta(days=RUN_DAYS),
    )
    posts_before = len(slack.posts_in(DIGEST_CHANNEL))

    crashed = kill_cli(site, point, slack=slack)
    if point.what != "delay":
        assert crashed.killed, f"the run ended before {point}: {crashed.output[-2000:]}"
    with SqlRepository.from_url(site.url) as repository:
        _check_watermarks(repository, reference.today - timedelta(days=1))
        duplicates, _ = repository.event_integrity()
        assert duplicates == []
    # The killed process's run stays STARTED: nothing but the next invocation ends it.
    stuck = [run_id for run_id, status in _runs(site).items() if status in IN_PROGRESS_STATUSES]

    rerun = run_cli(site)
    assert rerun.returncode == 0, rerun.output[-4000:]
    if _today() != reference.today:
        pytest.skip("the UTC day changed during the trial: its default range moved")
    with (
        SqlRepository.from_url(site.url) as repository,
        SqlRepository.from_url(reference.site.url) as expected,
    ):
        assert_same_tables(
            repository.engine,
            expected.engine,
            f"after a kill at {crashed.where} ({crashed.counts})",
            ignore=RUN_IGNORED,
            expected=reference.state,
        )
        assert repository.get_candidates(statuses=[CandidateStatus.IN_PROGRESS]) == []
        _check_watermarks(repository, reference.today - timedelta(days=1))
        # Each day's digest is stored once and posted once, across the kill and the re-run.
        digests = [
            repository.get_digest(reference.today - timedelta(days=n)) for n in range(RUN_DAYS + 1)
        ]
        posts = slack.posts_in(DIGEST_CHANNEL)[posts_before:]
        assert all(d is not None and d.channel_id == DIGEST_CHANNEL for d in digests)
        assert len(posts) == len(digests), (
            f"{len(posts)} digest posts for {len(digests)} days after a kill at {crashed.where}"
        )
        assert {d.posted_ts for d in digests if d is not None} == {p["ts"] for p in posts}
    runs = _runs(site)
    assert [r for r, status in runs.items() if status in IN_PROGRESS_STATUSES] == []
    assert all(runs[run_id] is dg.DagsterRunStatus.FAILURE for run_id in stuck)
    print(
        f"trial {trial}: killed at {crashed.where} after {crashed.seconds:.1f}s, "
        f"progress {crashed.counts}, {len(stuck)} run(s) left STARTED then marked failed, "
        f"re-run {rerun.seconds:.1f}s"
    )
