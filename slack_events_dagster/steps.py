"""The pipeline's steps over a channel and a range of days, without Dagster.

Each step reads from and writes to the repository and calls the domain and the
adapters; the Dagster assets in ``defs/`` are thin wrappers that pick the range
from the partition and turn the returned report into metadata. Every step is
idempotent: running it again over the same data changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from slack_events_dagster.domain import calendar as ical
from slack_events_dagster.domain.candidates import build_candidates
from slack_events_dagster.domain.dedup.book import EventBook
from slack_events_dagster.domain.digest import (
    DigestContent,
    build_digest,
    digest_content_hash,
    render_markdown,
)
from slack_events_dagster.domain.models import (
    CandidateStatus,
    Digest,
    Event,
    EventCandidate,
    SlackChannel,
    SlackMessage,
    SourceRef,
    ts_to_datetime,
)
from slack_events_dagster.llm.base import ExtractionInput, ExtractionResult, Extractor
from slack_events_dagster.publish import files
from slack_events_dagster.settings import Settings
from slack_events_dagster.slack.blocks import render_slack_blocks, render_slack_text
from slack_events_dagster.slack.ingest import IngestionReport, ingest_channel, ingest_window
from slack_events_dagster.slack.source import MessageSource, permalink
from slack_events_dagster.storage.base import (
    CandidateOutcomeRecord,
    ChannelStore,
    MessageStore,
    Repository,
    UpsertCounts,
)

log = logging.getLogger(__name__)

# Candidates a run (re)tries: new ones, ones a crashed run left in progress, ones the
# budget deferred, and failures with attempts left.
RETRYABLE = (
    CandidateStatus.PENDING,
    CandidateStatus.IN_PROGRESS,
    CandidateStatus.DEFERRED,
    CandidateStatus.FAILED,
)
MAX_ATTEMPTS = 3


def day_bounds(first_day: date, last_day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants ``[start of first_day, end of last_day)`` in ``timezone``."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first_day, time(), zone).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(), zone).astimezone(UTC)
    return start, end


def days(first_day: date, last_day: date) -> Iterator[date]:
    day = first_day
    while day <= last_day:
        yield day
        day += timedelta(days=1)


# -- ingestion -------------------------------------------------------------------


def register_channels(source: MessageSource, repository: ChannelStore) -> list[SlackChannel]:
    """Store the channels (and users) the source has; returns the channels to ingest."""
    channels = source.list_channels()
    repository.upsert_channels(channels)
    repository.upsert_users(source.list_users())
    return channels


def ingest_days(
    source: MessageSource,
    repository: MessageStore,
    settings: Settings,
    channel: SlackChannel,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
) -> IngestionReport:
    """Messages of ``channel`` posted on the days, with their threads.

    Days before today are read as one window (as few calls as the API allows);
    a range reaching today continues incrementally from the channel's watermark
    with the lookback, which also catches edits, deletions and new replies.
    """
    zone = settings.pipeline.timezone
    today = now.astimezone(ZoneInfo(zone)).date()
    reports: list[IngestionReport] = []
    if first_day < today:
        start, end = day_bounds(first_day, min(last_day, today - timedelta(days=1)), zone)
        reports.append(ingest_window(source, repository, channel, start=start, end=end, now=now))
    if last_day >= today and source.live:
        reports.append(
            ingest_channel(
                source,
                repository,
                channel,
                now=now,
                lookback_days=settings.slack.lookback_days,
                thread_horizon_days=settings.slack.thread_horizon_days,
                page_size=settings.slack.page_size,
            )
        )
    elif last_day >= today:
        start, end = day_bounds(max(first_day, today), last_day, zone)
        reports.append(ingest_window(source, repository, channel, start=start, end=end, now=now))
    return _combine_reports(reports, channel, source.name)


def _combine_reports(
    reports: Sequence[IngestionReport], channel: SlackChannel, source: str
) -> IngestionReport:
    if len(reports) == 1:
        return reports[0]
    combined = IngestionReport(channel_id=channel.id, channel_name=channel.name, source=source)
    for report in reports:
        combined.fetched += report.fetched
        combined.new += report.new
        combined.edited += report.edited
        combined.deleted += report.deleted
        for method, count in report.calls.items():
            combined.calls[method] = combined.calls.get(method, 0) + count
        if report.outcome is not combined.outcome and combined.error is None:
            combined.outcome, combined.error = report.outcome, report.error
    combined.watermark_before = reports[0].watermark_before
    combined.watermark_after = reports[-1].watermark_after
    return combined


# -- candidates ------------------------------------------------------------------


@dataclass
class ScoreReport:
    messages: int = 0
    candidates: int = 0
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    top: list[tuple[float, str]] = field(default_factory=list)


def _with_parents(
    repository: Repository, messages: Sequence[SlackMessage]
) -> dict[tuple[str, str], SlackMessage]:
    """Thread parents of the replies among ``messages`` that are not among them."""
    present = {(m.channel_id, m.ts) for m in messages}
    missing = {
        (m.channel_id, m.thread_ts)
        for m in messages
        if m.is_reply and m.thread_ts and (m.channel_id, m.thread_ts) not in present
    }
    refs = [SourceRef(channel_id=c, ts=t) for c, t in sorted(missing) if t]
    return {(m.channel_id, m.ts): m for m in repository.get_messages_by_keys(refs)}


def score_days(
    repository: Repository,
    settings: Settings,
    channel: SlackChannel,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
) -> ScoreReport:
    start, end = day_bounds(first_day, last_day, settings.pipeline.timezone)
    messages = repository.get_messages(channel.id, start, end)
    candidates = build_candidates(
        messages,
        channel_names={channel.id: channel.name},
        channel_weights=settings.pipeline.channel_weights,
        threshold=settings.pipeline.candidate_threshold,
        parents=_with_parents(repository, messages),
        bot_channels=settings.pipeline.bot_channels,
        now=now,
    )
    counts = repository.upsert_candidates(candidates)
    by_ts = {m.ts: m for m in messages}
    top = sorted(((c.score, by_ts[c.ts].text[:80]) for c in candidates), reverse=True)[:5]
    return ScoreReport(len(messages), len(candidates), counts, top)


# -- extraction, dedup and merge ---------------------------------------------------


@dataclass
class ExtractReport:
    candidates: int = 0
    drafts: int = 0
    new: int = 0
    updated: int = 0
    merged: int = 0
    # Events found to be duplicates of another after a move, and folded into it.
    folded: int = 0
    rescheduled: int = 0
    cancelled: int = 0
    failed: int = 0
    deferred: int = 0
    no_event: int = 0
    llm_calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    budget_reached: bool = False
    events: list[Event] = field(default_factory=list)

    def add(self, other: ExtractReport) -> None:
        for name, value in vars(other).items():
            if name == "events":
                self.events.extend(other.events)
            elif name == "budget_reached":
                self.budget_reached = self.budget_reached or other.budget_reached
            else:
                setattr(self, name, getattr(self, name) + value)


# Days whose model calls overlap: their candidates are read (and marked in progress)
# together and go to the extractor as one call, one group per day, so the LLM's
# llm.concurrency calls in flight are not limited to one day's few batches. A window
# ends after this many days or once it holds this many candidates (memory stays
# bounded for years of backfill or a noisy channel).
EXTRACT_WINDOW_DAYS = 31
EXTRACT_WINDOW_CANDIDATES = 2000


def extract_days(
    repository: Repository,
    extractor: Extractor,
    settings: Settings,
    channel: SlackChannel,
    first_day: date,
    last_day: date,
    *,
    now: datetime,
) -> ExtractReport:
    """Extract and merge day by day, oldest first, so reschedules follow announcements.

    Each day's events are stamped with the end of that day (or ``now`` if earlier):
    a backfill of March records March as when events were seen and changed.

    The model calls of a window of days run concurrently (see
    :data:`EXTRACT_WINDOW_DAYS`), but every day is still its own extraction: its
    batches, prompt hashes and answers are those of extracting that day alone, and
    its merge and save happen under the events lock in day order.

    The channel's extraction lock is held throughout: a second run of the same
    partition waits, then finds the candidates done (no second bill). A run killed
    meanwhile releases it with its process, leaving its claims to be retried.
    """
    report = ExtractReport()
    with repository.extraction_lock(channel.id):
        # One read for the range: a day without candidates costs no query.
        by_day = _retryable_by_day(repository, settings, channel, first_day, last_day)
        names = mention_names(repository) if by_day else {}
        window: list[_DayWork] = []
        held = 0
        for day in sorted(by_day):
            work = _day_work(repository, settings, channel, day, now, names, by_day[day])
            if work is None:
                continue
            window.append(work)
            held += len(work.items)
            if len(window) >= EXTRACT_WINDOW_DAYS or held >= EXTRACT_WINDOW_CANDIDATES:
                report.add(_extract_window(repository, extractor, window))
                window, held = [], 0
        if window:
            report.add(_extract_window(repository, extractor, window))
    return report


@dataclass
class _DayWork:
    """One day's candidates, ready for the extractor, and the stamp of its events."""

    items: list[ExtractionInput]
    stamp: datetime


def mention_names(repository: Repository) -> dict[str, str]:
    """User and channel ids -> names, so that mentions read as names in titles."""
    names = {user.id: user.label for user in repository.get_users().values()}
    names.update({c.id: c.name for c in repository.get_channels(include_archived=True)})
    return names


def _retryable_by_day(
    repository: Repository,
    settings: Settings,
    channel: SlackChannel,
    first_day: date,
    last_day: date,
) -> dict[date, list[EventCandidate]]:
    """The channel's candidates to (re)try over the days, by day (in pipeline.timezone)."""
    zone = settings.pipeline.timezone
    start, end = day_bounds(first_day, last_day, zone)
    by_day: dict[date, list[EventCandidate]] = {}
    for c in repository.get_candidates(
        statuses=RETRYABLE, channel_id=channel.id, start=start, end=end
    ):
        if c.status is not CandidateStatus.FAILED or c.attempts < MAX_ATTEMPTS:
            day = ts_to_datetime(c.ts).astimezone(ZoneInfo(zone)).date()
            by_day.setdefault(day, []).append(c)
    return by_day


def _day_work(
    repository: Repository,
    settings: Settings,
    channel: SlackChannel,
    day: date,
    now: datetime,
    names: dict[str, str],
    candidates: list[EventCandidate] | None = None,
) -> _DayWork | None:
    """The day's candidates to (re)try, marked in progress; None when there are none.

    ``candidates`` are the day's from :func:`_retryable_by_day` (a range's one read);
    without them the day is read on its own."""
    if candidates is None:
        candidates = _retryable_by_day(repository, settings, channel, day, day).get(day, [])
    if not candidates:
        return None
    _, end = day_bounds(day, day, settings.pipeline.timezone)
    items, gone = _extraction_inputs(repository, settings, channel, candidates, names)
    if gone:
        repository.set_candidate_status(gone, CandidateStatus.NO_EVENT, error="message deleted")
    # A run that dies now leaves these in_progress; the next run of the day retries them.
    repository.set_candidate_status([i.key for i in items], CandidateStatus.IN_PROGRESS)
    return _DayWork(items=items, stamp=min(now, end))


def _extract_window(
    repository: Repository, extractor: Extractor, window: Sequence[_DayWork]
) -> ExtractReport:
    """Extract the days of ``window`` at once, then merge them one by one, in order.

    The model calls come first, outside the events lock (other runs merge meanwhile);
    then the lock is taken once for the window's merges, so the stored events read for
    one day serve the next days too (:class:`EventBook`).
    """
    report = ExtractReport()
    # Every call is recorded as it completes: a failure here loses no answer, and the
    # days wait in progress for the next run, which finds the answers in the cache.
    with closing(extractor.extract_groups([work.items for work in window])) as results:
        answered = list(results)
    with repository.events_lock():
        book = EventBook(repository)
        for work, result in zip(window, answered, strict=True):
            report.add(_merge_day(book, repository, work, result))
    return report


def _merge_day(
    book: EventBook, repository: Repository, work: _DayWork, result: ExtractionResult
) -> ExtractReport:
    """Merge and save one day's drafts; the caller holds the events lock."""
    report = ExtractReport(candidates=len(work.items))
    day = book.merge(result.drafts, now=work.stamp)
    merge, to_write = day.merge, day.to_write
    report.folded = len(day.dropped)
    # One transaction: a crash leaves the day as it was (candidates in_progress,
    # retried by the next run) or done, never events written but not folded or recorded.
    repository.save_extraction(to_write, day.dropped, _outcomes(work.items, result, report))
    book.saved(day)
    report.drafts = len(result.drafts)
    report.new, report.updated, report.merged = merge.new, merge.updated, merge.merged
    report.rescheduled, report.cancelled = merge.rescheduled, merge.cancelled
    report.llm_calls, report.cache_hits = result.llm_calls, result.cache_hits
    report.prompt_tokens, report.completion_tokens = result.prompt_tokens, result.completion_tokens
    report.cost_usd, report.budget_reached = result.cost_usd, result.budget_reached
    # What was written: an event superseded (folded into another) is not shown.
    report.events = list(to_write)
    return report


def _extraction_inputs(
    repository: Repository,
    settings: Settings,
    channel: SlackChannel,
    candidates: Sequence[EventCandidate],
    names: dict[str, str],
) -> tuple[list[ExtractionInput], list[SourceRef]]:
    refs = [SourceRef(channel_id=c.channel_id, ts=c.ts) for c in candidates]
    parent_refs = [
        SourceRef(channel_id=c.channel_id, ts=c.parent_ts) for c in candidates if c.parent_ts
    ]
    found = {(m.channel_id, m.ts): m for m in repository.get_messages_by_keys(refs + parent_refs)}
    items: list[ExtractionInput] = []
    gone: list[SourceRef] = []
    for candidate, ref in zip(candidates, refs, strict=True):
        message = found.get((ref.channel_id, ref.ts))
        if message is None or message.is_deleted:
            gone.append(ref)
            continue
        parent = found.get((candidate.channel_id, candidate.parent_ts or ""))
        items.append(
            ExtractionInput(
                candidate=candidate,
                message=message,
                channel_name=channel.name,
                timezone=settings.pipeline.timezone,
                thread_parent=parent,
                names=names,
            )
        )
    return items, gone


def _outcomes(
    items: Sequence[ExtractionInput], result: ExtractionResult, report: ExtractReport
) -> list[CandidateOutcomeRecord]:
    records: list[CandidateOutcomeRecord] = []
    for item in items:
        outcome = result.outcomes.get((item.key.channel_id, item.key.ts))
        status = outcome.status if outcome else CandidateStatus.EXTRACTED
        if status is CandidateStatus.FAILED:
            report.failed += 1
        elif status is CandidateStatus.DEFERRED:
            report.deferred += 1
        elif status is CandidateStatus.NO_EVENT:
            report.no_event += 1
        error, raw = (outcome.error, outcome.raw_answer) if outcome else (None, None)
        records.append((item.key, status, error, raw))
    return records


# -- digest and calendar -------------------------------------------------------------


def permalinks_for(
    repository: Repository, settings: Settings, events: Sequence[Event]
) -> dict[tuple[str, str], str]:
    """Each source message's permalink: stored, or built from the workspace URL."""
    refs = list({(s.channel_id, s.ts): s for e in events for s in e.sources}.values())
    links: dict[tuple[str, str], str] = {}
    stored = repository.get_message_links(refs)
    base = settings.slack.workspace_url
    for ref in refs:
        link, thread = stored.get((ref.channel_id, ref.ts), (None, None))
        if link:
            links[(ref.channel_id, ref.ts)] = link
        elif base:
            links[(ref.channel_id, ref.ts)] = permalink(base, ref.channel_id, ref.ts, thread)
    return links


def digest_moment(day: date, settings: Settings) -> datetime:
    """When the digest of ``day`` is due: the schedule's local time that day."""
    zone = ZoneInfo(settings.digest.timezone)
    return datetime.combine(day, settings.digest.time, zone).astimezone(UTC)


# How far back a digest looks for events still running (a conference, a freeze).
DIGEST_LOOKBACK = timedelta(days=31)


def build_daily_digests(
    repository: Repository, settings: Settings, days: Sequence[date], *, now: datetime
) -> list[Digest]:
    """Render and store the digest of each of ``days``, in order.

    A day's digest shows the events that start from ``DIGEST_LOOKBACK`` before it to
    ``digest.lookahead_days`` after it, and those updated since the previous day's
    digest. A backfill's range reads them, their links and the channel names once for
    all its days (they overlap by weeks) instead of once a day; what each day shows
    is chosen from them as its own queries would choose.
    """
    if not days:
        return []
    lookahead = timedelta(days=settings.digest.lookahead_days)
    moments = {day: min(digest_moment(day, settings), now) for day in days}
    earliest_previous = min(moments.values()) - timedelta(days=1)
    shown = {
        e.event_id: e
        for e in repository.get_events(
            start_date=min(days) - DIGEST_LOOKBACK, end_date=max(days) + lookahead
        )
    }
    shown.update({e.event_id: e for e in repository.get_events_updated_since(earliest_previous)})
    permalinks = permalinks_for(repository, settings, list(shown.values()))
    channel_names = {c.id: c.name for c in repository.get_channels(include_archived=True)}
    digests = []
    for day in days:
        previous = moments[day] - timedelta(days=1)
        chosen = [
            e
            for e in shown.values()
            if day - DIGEST_LOOKBACK <= e.start_date <= day + lookahead
            or (e.updated_at is not None and e.updated_at >= previous)
        ]
        cost = None
        if settings.llm.provider != "rules":
            start, end = day_bounds(day, day, settings.digest.timezone)
            cost = repository.llm_spend_usd(start, end)
        content = build_digest(
            day,
            chosen,
            timezone=settings.digest.timezone,
            lookahead_days=settings.digest.lookahead_days,
            previous_digest_at=previous,
            permalinks=permalinks,
            channel_names=channel_names,
            llm_cost_usd=cost,
            now=moments[day],
        )
        digests.append(_store_digest(repository, settings, content, now))
    return digests


def _store_digest(
    repository: Repository, settings: Settings, content: DigestContent, now: datetime
) -> Digest:
    """Store a rendered digest unless it is unchanged (the previous post's ts is kept)."""
    day = content.day
    digest = Digest(
        day=day,
        markdown=render_markdown(content),
        slack_text=render_slack_text(content),
        slack_blocks=render_slack_blocks(content),
        event_count=content.event_count,
        content_hash=digest_content_hash(content),
        created_at=now,
    )
    stored = repository.get_digest(day)
    if stored is None or stored.content_hash != digest.content_hash:
        repository.save_digest(digest)
    files.write_digest(settings.digest, day, digest.markdown)
    return repository.get_digest(day) or digest


def write_calendar_feed(repository: Repository, settings: Settings) -> tuple[Path, int]:
    """The iCalendar feed of every event, written atomically to ``digest.calendar_path``."""
    events = repository.get_events()
    data = ical.build_calendar(
        events,
        calendar_name=settings.digest.calendar_name,
        permalinks=permalinks_for(repository, settings, events),
    )
    return files.write_calendar(settings.digest, data), len(events)
