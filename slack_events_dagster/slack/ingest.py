"""Incremental and windowed ingestion of Slack messages into the repository.

Incremental run of one channel (``ingest_channel``):

1. Read the channel's watermark W (the newest ts whose messages are all stored).
   Without one, read the whole history.
2. Re-read history from ``W - thread_horizon`` (default 30 days) to now. Messages in the
   lookback window ``[W - lookback, now]`` (default 7 days) are upserted: that catches
   new messages, edits, and deletions (a stored top-level ts in the window that Slack no
   longer returns is marked deleted). Messages older than the lookback are *only* used
   to see thread parents: each parent carries ``latest_reply``, and the source drops
   the others unparsed (``thread_parents_before``), so the horizon costs calls but
   little CPU.
3. Threads whose ``latest_reply`` differs from the stored one (including threads that
   newly started on an old message) get one ``conversations.replies`` read; every other
   thread, however old, costs nothing. Stored replies missing from a re-read thread are
   marked deleted (one query per re-read thread, skipped when the channel had nothing
   stored before the run: then every stored reply came from this run's reads).

Why the horizon: Slack's history API has no "threads with new replies" query, and a
reply to an old parent does not appear in history. dlt's and Airbyte's Slack sources
either miss replies to parents older than their window or poll every thread in the
window. Reading the parents' ``latest_reply`` from history costs one history page per
``page_size`` messages of the horizon (``slack.page_size`` is 1000 by default: one to a
few calls per channel; a channel with 180 messages a day takes 6 for 30 days) and no
per-thread calls. An incremental run therefore makes one history call per channel plus
one per further 1000 messages of the horizon, plus one replies call per changed thread.
Replies to parents older than the horizon are not seen; set
``slack.thread_horizon_days`` to trade calls for reach.

Writes go page by page through ``repository.upsert_messages``. A thread's replies are
written before the history page holding its parent (see ``slack.source``), so a run that
dies half-way re-reads the thread next time. Slack pages history newest first, so the
range is complete only after the last page: the watermark is passed with that last
page's upsert, in its transaction, and only ever moves forward. A failed page leaves it
where it was; everything already written stays written and is idempotent on re-run.

``ingest_window`` reads a fixed date range (partitions, backfills) with the largest
page size Slack allows and moves no watermark.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from slack_events_dagster.domain.models import (
    IngestionOutcome,
    IngestionState,
    SlackChannel,
    SlackMessage,
    datetime_to_ts,
    ts_sort_key,
    ts_to_datetime,
)
from slack_events_dagster.slack.errors import (
    ChannelSkipped,
    SlackAuthError,
    SlackSourceError,
    redact,
)
from slack_events_dagster.slack.source import MessagePage, MessageSource, in_window
from slack_events_dagster.storage.base import MessageStore, RepositoryError

log = logging.getLogger(__name__)

# Beyond any real Slack ts: "no upper bound" for repository range queries.
_END_OF_TIME = "9999999999.999999"
MAX_PAGE_SIZE = 1000


@dataclass
class IngestionReport:
    """What one channel's ingestion did."""

    channel_id: str
    channel_name: str
    source: str
    outcome: IngestionOutcome = IngestionOutcome.OK
    fetched: int = 0
    new: int = 0
    # Stored messages that changed: edits, new reply counts, reactions.
    edited: int = 0
    deleted: int = 0
    pages: int = 0
    threads_refreshed: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    watermark_before: str | None = None
    watermark_after: str | None = None
    error: str | None = None

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())

    def state(self, now: datetime) -> IngestionState:
        return IngestionState(
            channel_id=self.channel_id,
            source=self.source,
            last_run_at=now,
            outcome=self.outcome,
            fetched=self.fetched,
            new=self.new,
            edited=self.edited,
            deleted=self.deleted,
            api_calls=self.api_calls,
            last_error=self.error,
        )


def _max_ts(current: str | None, candidates: Sequence[str]) -> str | None:
    best = current
    for ts in candidates:
        if best is None or ts_sort_key(ts) > ts_sort_key(best):
            best = ts
    return best


class _Run:
    """The bookkeeping of one channel read: counts, seen keys, threads re-read."""

    def __init__(
        self, source: MessageSource, repository: MessageStore, channel: SlackChannel
    ) -> None:
        self.source = source
        self.repository = repository
        self.channel = channel
        self.report = IngestionReport(channel.id, channel.name, source.name)
        self.calls_before = Counter(source.calls)
        self.seen_history: set[str] = set()
        self.thread_replies: dict[str, set[str]] = {}
        self.complete_threads: set[str] = set()
        self.history_complete = False
        self.newest: str | None = None
        # Whether the channel had no stored message when the run began (set by the caller).
        self.started_empty = False

    def write(self, messages: list[SlackMessage], watermark: str | None) -> None:
        watermarks = {self.channel.id: watermark} if watermark is not None else None
        counts = self.repository.upsert_messages(messages, watermarks=watermarks)
        self.report.pages += 1
        self.report.new += counts.inserted
        self.report.edited += counts.updated

    def take_replies(self, page: MessagePage) -> list[SlackMessage]:
        thread_ts = page.thread_ts or ""
        self.thread_replies.setdefault(thread_ts, set()).update(m.ts for m in page)
        if page.last:
            self.complete_threads.add(thread_ts)
        self.report.fetched += len(page)
        return list(page)

    def mark_deletions(self, oldest_ts: str, latest_ts: str) -> None:
        """Mark what Slack no longer returns: top level in range, replies of re-read threads."""
        repository, channel_id = self.repository, self.channel.id
        if self.history_complete:
            stored = repository.get_message_ts_between(channel_id, oldest_ts, latest_ts)
            gone = sorted(stored - self.seen_history, key=ts_sort_key)
            if gone:
                self.report.deleted += repository.mark_messages_deleted(channel_id, gone)
        if self.started_empty:
            # Every stored reply was written by this run from the threads it read, so none
            # can be missing: a first backfill saves one query per thread (thousands).
            return
        for thread_ts in sorted(self.complete_threads):
            stored_replies = {
                m.ts
                for m in repository.get_thread_replies(channel_id, thread_ts)
                if not m.is_deleted
            }
            gone = sorted(stored_replies - self.thread_replies[thread_ts], key=ts_sort_key)
            if gone:
                self.report.deleted += repository.mark_messages_deleted(channel_id, gone)

    def finish(self, now: datetime, record: bool) -> IngestionReport:
        after = Counter(self.source.calls)
        after.subtract(self.calls_before)
        self.report.calls = {method: count for method, count in after.items() if count > 0}
        self.report.threads_refreshed = len(self.thread_replies)
        if record:
            self.repository.record_ingestion(self.report.state(now))
        return self.report


def _fail(run: _Run, exc: Exception) -> None:
    if isinstance(exc, ChannelSkipped):
        run.report.outcome = IngestionOutcome.SKIPPED
        log.warning("%s", exc)
    else:
        run.report.outcome = IngestionOutcome.FAILED
        log.error("ingesting #%s failed: %s", run.channel.name, redact(str(exc)))
    run.report.error = redact(str(exc))


@contextmanager
def _recording_failures(run: _Run, now: datetime, record: bool) -> Iterator[None]:
    """A refused token stops everything (recorded, then raised); any other source or
    database error is recorded on the channel's report and the run goes on."""
    try:
        yield
    except SlackAuthError as exc:
        _fail(run, exc)
        run.finish(now, record)
        raise
    except (SlackSourceError, RepositoryError) as exc:
        _fail(run, exc)


def ingest_channel(
    source: MessageSource,
    repository: MessageStore,
    channel: SlackChannel,
    *,
    now: datetime | None = None,
    lookback_days: float = 7,
    thread_horizon_days: float = 30,
    page_size: int | None = None,
    record: bool = True,
) -> IngestionReport:
    """Bring one channel up to date from its watermark (see the module docstring).

    Returns a report; a skipped or failed channel is reported, not raised, except
    SlackAuthError, which stops the whole run (no other channel would fare better).
    """
    now = now or datetime.now(UTC)
    run = _Run(source, repository, channel)
    report = run.report
    watermark = repository.get_watermark(channel.id)
    report.watermark_before = report.watermark_after = watermark
    if watermark is None:
        window_start: str | None = None
        horizon_start: str | None = None
    else:
        moment = ts_to_datetime(watermark)
        window_start = datetime_to_ts(moment - timedelta(days=lookback_days))
        horizon_start = datetime_to_ts(
            moment - timedelta(days=max(thread_horizon_days, lookback_days))
        )
    # Messages posted after this instant may be missing from the re-read without being
    # deleted (a concurrent writer): deletion checks stop here. Wall clock on purpose.
    started_ts = datetime_to_ts(datetime.now(UTC))
    if not channel.is_member and source.needs_membership:
        _fail(run, ChannelSkipped(channel.id, "not_in_channel", f"#{channel.name}"))
        return run.finish(now, record)
    with _recording_failures(run, now, record):
        run.started_empty = repository.newest_message_ts(channel.id) is None
        known = repository.get_thread_latest_replies(channel.id, horizon_start or "0")
        pending: list[SlackMessage] = []
        pages = source.fetch(
            channel,
            horizon_start,
            None,
            known,
            page_size=page_size,
            # Before the lookback only changed thread parents matter (see below).
            thread_parents_before=window_start,
        )
        for page in pages:
            if page.kind == "replies":
                # Replies are written together with their parent's history page (next).
                pending.extend(run.take_replies(page))
                continue
            run.seen_history.update(m.ts for m in page)
            run.newest = _max_ts(run.newest, [m.ts for m in page])
            in_lookback = [
                m
                for m in page
                if window_start is None
                or in_window(m.ts, window_start, None)
                or m.ts in run.thread_replies
            ]
            report.fetched += len(in_lookback)
            watermark_now: str | None = None
            if page.last:
                run.history_complete = True
                watermark_now = _max_ts(watermark, [run.newest] if run.newest else [])
            pending.extend(in_lookback)
            run.write(pending, watermark_now)
            pending = []
            if watermark_now is not None:
                report.watermark_after = watermark_now
        if pending:  # a source that ended on replies pages: write them anyway
            run.write(pending, None)
        run.mark_deletions(window_start or "0", started_ts)
    return run.finish(now, record)


def ingest_window(
    source: MessageSource,
    repository: MessageStore,
    channel: SlackChannel,
    *,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    record: bool = True,
) -> IngestionReport:
    """Read the messages posted in ``[start, end)`` (and the threads that changed among
    them) in as few calls as Slack allows. Watermarks are not moved: a window says
    nothing about the days before it."""
    now = now or datetime.now(UTC)
    run = _Run(source, repository, channel)
    oldest_ts = datetime_to_ts(start)
    latest_ts = datetime_to_ts(end - timedelta(microseconds=1))
    run.report.watermark_before = run.report.watermark_after = repository.get_watermark(channel.id)
    with _recording_failures(run, now, record):
        run.started_empty = repository.newest_message_ts(channel.id) is None
        known = repository.get_thread_latest_replies(channel.id, oldest_ts)
        pending: list[SlackMessage] = []
        pages = source.fetch(channel, oldest_ts, latest_ts, known, page_size=MAX_PAGE_SIZE)
        for page in pages:
            if page.kind == "replies":
                pending.extend(run.take_replies(page))
                continue
            run.seen_history.update(m.ts for m in page)
            run.report.fetched += len(page)
            run.history_complete = run.history_complete or page.last
            pending.extend(page)
            run.write(pending, None)
            pending = []
        if pending:
            run.write(pending, None)
        run.mark_deletions(oldest_ts, latest_ts)
    return run.finish(now, record)
