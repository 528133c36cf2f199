"""What an ingest run of every channel does, without Dagster, over a generated workspace
served by the fake Slack, with a fixed ``now`` so two runs are comparable; and the
comparison of a database with an uninterrupted run's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from slack_events_dagster import steps
from slack_events_dagster.domain.models import SlackMessage
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.settings import Settings, load_settings
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.workspace_gen import GeneratedWorkspace, generate_workspace
from slack_events_dagster_tests.helpers.tables import assert_same_tables

WORKSPACE_END = date(2024, 3, 29)
WORKSPACE_DAYS = 4
FIRST_DAY = WORKSPACE_END - timedelta(days=WORKSPACE_DAYS - 1)
# After the workspace's last day: ingestion is incremental (moves watermarks) and every
# event stamp is deterministic.
NOW = datetime(2024, 3, 30, 12, tzinfo=UTC)
TOKEN = "xoxb-reliability-token"


def crash_workspace(seed: int = 7, channels: int = 3, per_day: int = 40) -> GeneratedWorkspace:
    """A few hundred messages with threads, edits and announcements the rules pick up."""
    return generate_workspace(
        channels=channels,
        days=WORKSPACE_DAYS,
        per_day=per_day,
        thread_fraction=0.25,
        seed=seed,
        end=WORKSPACE_END,
    )


def pipeline_settings(base_url: str, *, token: str = TOKEN, page_size: int = 40) -> Settings:
    return load_settings(
        slack={
            "source": "api",
            "base_url": base_url,
            "token": token,
            "page_size": page_size,
            "max_retries": 3,
            "retry_backoff_s": 0.01,
            "timeout_s": 10,
            "workspace_url": "https://fake-workspace.slack.com/",
        },
        pipeline={"timezone": "UTC", "start_date": FIRST_DAY, "candidate_threshold": 0.4},
    )


@dataclass
class PipelineReport:
    ingested: int = 0
    failed_channels: list[str] = field(default_factory=list)
    candidates: int = 0
    events: int = 0
    api_calls: int = 0


def run_pipeline(
    repository: SqlRepository,
    settings: Settings,
    *,
    channel_ids: set[str] | None = None,
    source: WebApiSource | None = None,
    now: datetime = NOW,
) -> PipelineReport:
    """What an ingest run of every channel does: ingest (incremental), score, extract."""
    source = source or WebApiSource(settings.slack)
    report = PipelineReport()
    channels = steps.register_channels(source, repository)
    if channel_ids is not None:
        channels = [c for c in channels if c.id in channel_ids]
    extractor = RuleExtractor()
    today = now.date()
    for channel in channels:
        ingested = steps.ingest_days(source, repository, settings, channel, today, today, now=now)
        report.ingested += ingested.new
        report.api_calls += ingested.api_calls
        if ingested.error is not None:
            # Stop like a failed run. Merging is independent of channel order except
            # for the rare cases in domain/test_merge_order.py (strict xfail), so the
            # re-run still sees the order of the uninterrupted run it is compared with.
            report.failed_channels.append(f"{channel.id}: {ingested.error}")
            break
        scored = steps.score_days(repository, settings, channel, FIRST_DAY, WORKSPACE_END, now=now)
        report.candidates += scored.candidates
        extracted = steps.extract_days(
            repository, extractor, settings, channel, FIRST_DAY, WORKSPACE_END, now=now
        )
        report.events += extracted.new
    return report


@dataclass
class Reference:
    state: dict[str, tuple[int, str]]
    repository: SqlRepository
    phase_counts: dict[str, int]


def assert_converged(repository: SqlRepository, reference: Reference, where: str = "") -> None:
    """Every table equals the reference's (run timestamps aside)."""
    assert_same_tables(
        repository.engine, reference.repository.engine, where, expected=reference.state
    )


def messages_in(workspace: GeneratedWorkspace) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (channel_id, raw["ts"]): raw
        for channel_id, items in workspace.messages.items()
        for raw in items
    }


def stored_messages(repository: SqlRepository) -> list[SlackMessage]:
    found: list[SlackMessage] = []
    for channel in repository.get_channels(include_archived=True):
        found.extend(
            repository.get_messages(
                channel.id, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            )
        )
    return found
