"""What tests and benchmarks do with the stores that production never does.

Production writes events only through ``save_extraction``, advances watermarks only
inside a message batch, ingests channel by channel from the assets and builds digests by
range. Tests want the single steps (an event written alone, a watermark moved, a whole
workspace ingested in one call): they live here, built on the ports, so the product's
ports carry only what production calls.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from slack_events_dagster import steps
from slack_events_dagster.domain.models import Digest, Event, IngestionOutcome
from slack_events_dagster.settings import Settings
from slack_events_dagster.slack.errors import SlackAuthError, SlackSourceError
from slack_events_dagster.slack.ingest import IngestionReport, ingest_channel
from slack_events_dagster.slack.source import MessageSource
from slack_events_dagster.storage.base import Repository, UpsertCounts
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import llm_calls

log = logging.getLogger(__name__)


def upsert_events(repository: Repository, events: Iterable[Event]) -> UpsertCounts:
    """Write ``events`` alone, as an extraction that deletes nothing would."""
    batch = list(events)
    return repository.save_extraction(batch, [], []) if batch else UpsertCounts()


def get_event(repository: Repository, event_id: str) -> Event | None:
    found = repository.get_events_by_ids([event_id])
    return found[0] if found else None


def get_event_by_dedup_key(repository: Repository, dedup_key: str) -> Event | None:
    return next((e for e in repository.get_events() if e.dedup_key == dedup_key), None)


def delete_events(repository: Repository, event_ids: Sequence[str]) -> int:
    """Delete ``event_ids`` as an extraction does; returns how many were stored."""
    stored = len(repository.get_events_by_ids(event_ids))
    repository.save_extraction([], event_ids, [])
    return stored


def advance_watermark(repository: SqlRepository, channel_id: str, ts: str) -> bool:
    """Move a watermark forward by the message writer's own statement (never back)."""
    with repository._transaction("advance_watermark") as conn:
        return repository._advance_watermark(conn, channel_id, ts, datetime.now(UTC))


def llm_call_counts(repository: SqlRepository, start: datetime, end: datetime) -> dict[str, int]:
    """LLM calls recorded in [start, end), by status."""
    c = llm_calls
    query = (
        select(c.c.status, func.count())
        .where(c.c.created_at >= start, c.c.created_at < end)
        .group_by(c.c.status)
    )
    with repository.engine.connect() as conn:
        return {status: int(count) for status, count in conn.execute(query)}


def build_daily_digest(
    repository: Repository, settings: Settings, day: date, *, now: datetime
) -> Digest:
    """Render and store the digest of one day (production builds ranges)."""
    (digest,) = steps.build_daily_digests(repository, settings, [day], now=now)
    return digest


@dataclass
class WorkspaceReport:
    """Every channel's report plus the workspace-level counts."""

    channels: list[IngestionReport] = field(default_factory=list)
    channels_listed: int = 0
    users: int = 0
    calls: dict[str, int] = field(default_factory=dict)

    def total(self, attribute: str) -> int:
        return sum(int(getattr(report, attribute)) for report in self.channels)

    @property
    def failed(self) -> list[IngestionReport]:
        return [r for r in self.channels if r.outcome is IngestionOutcome.FAILED]

    @property
    def skipped(self) -> list[IngestionReport]:
        return [r for r in self.channels if r.outcome is IngestionOutcome.SKIPPED]


def ingest_workspace(
    source: MessageSource,
    repository: Repository,
    *,
    now: datetime | None = None,
    lookback_days: float = 7,
    thread_horizon_days: float = 30,
    page_size: int | None = None,
    only_channels: Sequence[str] | None = None,
    on_channel: Callable[[IngestionReport], None] | None = None,
) -> WorkspaceReport:
    """List and store channels and users, then ingest every channel incrementally.

    A channel that cannot be read is skipped with a warning; a refused token stops the
    run with SlackAuthError (watermarks of unread channels stay where they were).
    """
    now = now or datetime.now(UTC)
    before = Counter(source.calls)
    report = WorkspaceReport()
    channels = source.list_channels()
    report.channels_listed = len(channels)
    repository.upsert_channels(channels)
    try:
        users = source.list_users()
    except SlackAuthError:
        raise
    except SlackSourceError as exc:
        # Names make digests readable but are not needed to ingest messages.
        log.warning("could not list users, mentions will show ids: %s", exc)
        users = []
    repository.upsert_users(users)
    report.users = len(users)
    wanted = set(only_channels or ())
    for channel in channels:
        if wanted and channel.id not in wanted and channel.name not in wanted:
            continue
        channel_report = ingest_channel(
            source,
            repository,
            channel,
            now=now,
            lookback_days=lookback_days,
            thread_horizon_days=thread_horizon_days,
            page_size=page_size,
        )
        report.channels.append(channel_report)
        if on_channel is not None:
            on_channel(channel_report)
    after = Counter(source.calls)
    after.subtract(before)
    report.calls = {method: count for method, count in after.items() if count > 0}
    return report
