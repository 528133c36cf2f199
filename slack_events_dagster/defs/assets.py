"""The assets users see: raw messages -> candidates -> events -> digest and calendar.

Each asset is a thin wrapper over ``slack_events_dagster.steps``: it turns its
partitions into channel day-ranges, calls the step, and returns metadata and
the asset checks that state the invariants users care about. The per-channel
assets take whole ranges per run (``BackfillPolicy.single_run``), so a backfill
of 90 days x 20 channels is a handful of runs, not 1,800.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from slack_events_dagster import steps
from slack_events_dagster.defs.automation import PUSHED_RUN_TAG
from slack_events_dagster.defs.partitions import DAY, ChannelDays, Partitions, group_channel_days
from slack_events_dagster.defs.polling import run_budget_metadata
from slack_events_dagster.domain.listing import event_rows
from slack_events_dagster.domain.models import (
    Event,
    IngestionOutcome,
    SlackChannel,
    SourceRef,
    ts_to_datetime,
)
from slack_events_dagster.domain.safety import find_unsafe_mentions
from slack_events_dagster.llm.base import Extractor
from slack_events_dagster.publish import files
from slack_events_dagster.settings import Settings
from slack_events_dagster.slack.ingest import IngestionReport
from slack_events_dagster.slack.poster import SlackPoster
from slack_events_dagster.slack.source import MessageSource
from slack_events_dagster.storage.base import Repository
from slack_events_dagster.storage.engine import url_from_settings

RANGED = dg.BackfillPolicy.single_run()
WARN, ERROR = dg.AssetCheckSeverity.WARN, dg.AssetCheckSeverity.ERROR


def channel_ranges(context: dg.AssetExecutionContext) -> list[ChannelDays]:
    """The channel day-ranges this run covers (one key, or a ranged backfill's keys)."""
    partitions = context.assets_def.partitions_def
    assert isinstance(partitions, dg.MultiPartitionsDefinition)
    return group_channel_days(context.partition_keys, partitions)


def day_range(context: dg.AssetExecutionContext) -> list[date]:
    return sorted(date.fromisoformat(key) for key in context.partition_keys)


def _channels(repository: Repository, wanted: Iterable[ChannelDays]) -> dict[str, SlackChannel]:
    known = {c.id: c for c in repository.get_channels(include_archived=True)}
    missing = sorted({r.channel_id for r in wanted} - set(known))
    if missing:
        raise dg.Failure(
            f"channels {', '.join(missing)} are not registered; the channel discovery sensor "
            "(or `slack-events run`) registers them from the source first"
        )
    return known


def _now() -> datetime:
    return datetime.now(UTC)


def _table(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [str(cell).replace("|", "\\|").replace("\n", " ") for cell in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- raw_slack_messages --------------------------------------------------------------


def raw_slack_messages(
    context: dg.AssetExecutionContext,
    settings: dg.ResourceParam[Settings],
    repository: dg.ResourceParam[Repository],
    source: dg.ResourceParam[MessageSource],
) -> Iterable[dg.MaterializeResult | dg.AssetCheckResult]:
    """Every message of a Slack channel on a day, as Slack sent it: thread replies, edits
    and deletions included. Read from the Slack Web API (or an export) into the app
    database. Each channel remembers how far it was read (its watermark), so a run only
    fetches what is new. Partitioned by day and channel."""
    repo = repository
    ranges = channel_ranges(context)
    channels = _channels(repo, ranges)
    now = _now()
    # The Socket Mode listener stored these messages already (the watermark sensor says
    # so with the tag): nothing to read from Slack, the run goes on to the events.
    pushed = context.run.tags.get(PUSHED_RUN_TAG) == "true"
    reports: list[tuple[ChannelDays, IngestionReport]] = []
    for channel_days in ranges:
        if pushed:
            channel = channels[channel_days.channel_id]
            watermark = repo.get_watermark(channel.id)
            reports.append(
                (
                    channel_days,
                    IngestionReport(
                        channel.id,
                        channel.name,
                        "push",
                        watermark_before=watermark,
                        watermark_after=watermark,
                    ),
                )
            )
            continue
        report = steps.ingest_days(
            source,
            repo,
            settings,
            channels[channel_days.channel_id],
            channel_days.first_day,
            channel_days.last_day,
            now=now,
        )
        context.log.info(
            "%s: fetched %d, new %d, edited %d, deleted %d (%s)",
            channel_days.label,
            report.fetched,
            report.new,
            report.edited,
            report.deleted,
            report.outcome.value,
        )
        reports.append((channel_days, report))
    failed = [r for _, r in reports if r.outcome is IngestionOutcome.FAILED]
    if failed:
        raise dg.Failure(
            "ingestion failed for " + "; ".join(f"#{r.channel_name}: {r.error}" for r in failed)
        )
    calls: dict[str, int] = {}
    for _, report in reports:
        for method, count in report.calls.items():
            calls[method] = calls.get(method, 0) + count
    yield dg.MaterializeResult(
        metadata={
            "fetched": sum(r.fetched for _, r in reports),
            "new": sum(r.new for _, r in reports),
            "edited": sum(r.edited for _, r in reports),
            "deleted": sum(r.deleted for _, r in reports),
            "pushed": pushed,
            "skipped_channels": [
                r.channel_name for _, r in reports if r.outcome is IngestionOutcome.SKIPPED
            ],
            "slack_api_calls": sum(calls.values()),
            "slack_api_calls_by_method": dg.MetadataValue.json(calls),
            **run_budget_metadata(source, repo, settings),
            "watermark_before": dg.MetadataValue.json(
                {r.channel_id: r.watermark_before for _, r in reports}
            ),
            "watermark_after": dg.MetadataValue.json(
                {r.channel_id: r.watermark_after for _, r in reports}
            ),
            "preview": dg.MetadataValue.md(
                _table(
                    ["channel", "days", "fetched", "new", "edited", "deleted", "outcome"],
                    [
                        (
                            f"#{r.channel_name}",
                            d.label.split(" ", 1)[1],
                            r.fetched,
                            r.new,
                            r.edited,
                            r.deleted,
                            r.outcome.value,
                        )
                        for d, r in reports
                    ],
                )
            ),
        }
    )
    yield watermark_sanity(repo, [d.channel_id for d in ranges], now)
    yield channel_freshness(repo, source.live, settings.pipeline.freshness_hours, now)


def watermark_sanity(
    repo: Repository, channel_ids: Iterable[str], now: datetime
) -> dg.AssetCheckResult:
    """A watermark ahead of the stored data would make the next run skip messages."""
    problems: list[str] = []
    watermarks = repo.get_watermarks()
    for channel_id in sorted(set(channel_ids)):
        mark = watermarks.get(channel_id)
        if mark is None:
            continue
        newest = repo.newest_message_ts(channel_id)
        if ts_to_datetime(mark) > now + timedelta(minutes=5):
            problems.append(f"{channel_id}: watermark {mark} is in the future")
        if newest is None or ts_to_datetime(mark) > ts_to_datetime(newest):
            problems.append(
                f"{channel_id}: watermark {mark} is ahead of the newest message {newest}"
            )
    return dg.AssetCheckResult(
        check_name="watermark_sanity",
        passed=not problems,
        severity=ERROR,
        description="; ".join(problems) or "every watermark is within the stored data",
        metadata={"problems": len(problems)},
    )


def channel_freshness(
    repo: Repository, live: bool, hours: float, now: datetime
) -> dg.AssetCheckResult:
    """A channel of a live source not read for longer than expected means the sensor
    stopped or a token broke."""
    stale: list[str] = []
    if live:
        limit = now - timedelta(hours=hours)
        for channel_id, state in repo.get_ingestion_states().items():
            if state.last_run_at < limit or state.outcome is not IngestionOutcome.OK:
                stale.append(
                    f"{channel_id} (last {state.last_run_at:%Y-%m-%d %H:%M}, {state.outcome.value})"
                )
    return dg.AssetCheckResult(
        check_name="channel_freshness",
        passed=not stale,
        severity=WARN,
        description=(f"not read successfully in {hours:g} h: " + ", ".join(stale))
        if stale
        else "every channel was read recently"
        if live
        else "exports are read on demand",
        metadata={"stale_channels": len(stale)},
    )


# -- event_candidates --------------------------------------------------------------


def event_candidates(
    context: dg.AssetExecutionContext,
    settings: dg.ResourceParam[Settings],
    repository: dg.ResourceParam[Repository],
) -> Iterable[dg.MaterializeResult | dg.AssetCheckResult]:
    """The messages that look like they announce or change an event (a release, an
    incident, a meeting, a deadline...), each with a score and its reasons (an event
    word, a date, a "now" phrase, a link). Only these go on to extraction, so everyday
    chatter never costs a model call."""
    repo = repository
    ranges = channel_ranges(context)
    channels = _channels(repo, ranges)
    messages = candidates = new = rescored = 0
    top: list[tuple[float, str, str]] = []
    for channel_days in ranges:
        channel = channels[channel_days.channel_id]
        report = steps.score_days(
            repo, settings, channel, channel_days.first_day, channel_days.last_day, now=_now()
        )
        messages += report.messages
        candidates += report.candidates
        new += report.counts.inserted
        rescored += report.counts.updated
        top.extend((score, f"#{channel.name}", text) for score, text in report.top)
    rate = candidates / messages if messages else 0.0
    limit = settings.pipeline.max_candidate_rate
    yield dg.MaterializeResult(
        metadata={
            "messages": messages,
            "candidates": candidates,
            "new": new,
            "rescored": rescored,
            "candidate_rate": rate,
            "preview": dg.MetadataValue.md(
                _table(
                    ["score", "channel", "message"],
                    [(f"{s:.2f}", c, t) for s, c, t in sorted(top, reverse=True)[:10]],
                )
            ),
        }
    )
    yield dg.AssetCheckResult(
        check_name="candidate_rate",
        passed=rate <= limit,
        severity=WARN,
        description=f"{candidates} of {messages} messages are candidates ({rate:.0%}; "
        f"expected at most {limit:.0%}: more means a noisy channel or a broken scorer)",
        metadata={"candidate_rate": rate},
    )


# -- events --------------------------------------------------------------------------


def events(
    context: dg.AssetExecutionContext,
    settings: dg.ResourceParam[Settings],
    repository: dg.ResourceParam[Repository],
    extractor: dg.ResourceParam[Extractor],
) -> Iterable[dg.MaterializeResult | dg.AssetCheckResult]:
    """The product's output: events (title, time, category, status, links), each with
    every message that announced, moved or cancelled it. The rule extractor (or an LLM)
    reads the candidates; new drafts are merged with the events already known, so one
    release announced in three channels is one event, and "moved to Thursday" in a
    thread moves it. A materialization lists the events of its channels and days."""
    repo, the_extractor = repository, extractor
    ranges = channel_ranges(context)
    channels = _channels(repo, ranges)
    total = steps.ExtractReport()
    for channel_days in ranges:
        total.add(
            steps.extract_days(
                repo,
                the_extractor,
                settings,
                channels[channel_days.channel_id],
                channel_days.first_day,
                channel_days.last_day,
                now=_now(),
            )
        )
    if total.budget_reached:
        context.log.warning(
            "daily LLM budget of $%.2f reached: %d candidates deferred to the next run",
            settings.llm.daily_budget_usd,
            total.deferred,
        )
    found = range_events(repo, settings, ranges)
    yield dg.MaterializeResult(
        metadata={
            "candidates": total.candidates,
            "events_new": total.new,
            "events_updated": total.updated,
            "events_merged": total.merged,
            "rescheduled": total.rescheduled,
            "cancelled": total.cancelled,
            "failed": total.failed,
            "deferred": total.deferred,
            "extractor": the_extractor.name,
            "llm_calls": total.llm_calls,
            "llm_cache_hits": total.cache_hits,
            "prompt_tokens": total.prompt_tokens,
            "completion_tokens": total.completion_tokens,
            "llm_cost_usd": round(total.cost_usd, 6),
            "events_in_range": len(found),
            "events": dg.MetadataValue.md(
                events_table(found, timezone=settings.digest.timezone, channels=channels)
            ),
        }
    )
    yield from event_checks(repo, settings, total)


def range_events(
    repo: Repository, settings: Settings, ranges: Iterable[ChannelDays]
) -> list[Event]:
    """The events found in these channels and days: those with a source among their
    candidates (whatever day the events themselves fall on)."""
    keys: list[SourceRef] = []
    for channel_days in ranges:
        start, end = steps.day_bounds(
            channel_days.first_day, channel_days.last_day, settings.pipeline.timezone
        )
        candidates = repo.get_candidates(channel_id=channel_days.channel_id, start=start, end=end)
        keys.extend(SourceRef(channel_id=c.channel_id, ts=c.ts) for c in candidates)
    return repo.get_events_for_sources(keys) if keys else []


# The events table in the UI shows this many rows and says how many there are.
EVENTS_TABLE_ROWS = 50


def events_table(
    items: Iterable[Event],
    *,
    timezone: str,
    channels: Mapping[str, SlackChannel],
    limit: int = EVENTS_TABLE_ROWS,
) -> str:
    """The events as a Markdown table (the first ``limit`` by day), under their count."""
    names = {channel_id: channel.name for channel_id, channel in channels.items()}
    rows = event_rows(items, timezone=timezone, channel_names=names)
    if not rows:
        return "_no events found in these channels and days_"
    shown = "" if len(rows) <= limit else f"; the first {limit} shown"
    table = _table(
        ["day", "time", "title", "category", "status", "channels", "sources", "links"],
        [
            (
                f"{row.day:%a %Y-%m-%d}",
                row.time,
                row.title,
                row.category.value,
                row.status.value,
                ", ".join(f"#{name}" for name in row.channels),
                row.sources,
                ", ".join(row.links),
            )
            for row in rows[:limit]
        ],
    )
    return f"**{len(rows)} events** (times in {timezone}{shown})\n\n{table}"


def event_checks(
    repo: Repository, settings: Settings, total: steps.ExtractReport
) -> Iterable[dg.AssetCheckResult]:
    duplicates, orphans = repo.event_integrity()
    yield dg.AssetCheckResult(
        check_name="events_are_unique_and_sourced",
        passed=not duplicates and not orphans,
        severity=ERROR,
        description=(
            f"{len(duplicates)} dedup keys shared, {len(orphans)} events without a stored source"
            f"{': ' + ', '.join((duplicates + orphans)[:10]) if duplicates or orphans else ''}"
        ),
        metadata={"duplicate_keys": len(duplicates), "unsourced_events": len(orphans)},
    )
    attempted = total.candidates - total.deferred
    rate = total.failed / attempted if attempted else 0.0
    yield dg.AssetCheckResult(
        check_name="llm_failure_rate",
        passed=rate <= settings.llm.max_failure_rate,
        severity=ERROR,
        description=f"{total.failed} of {attempted} candidates failed extraction ({rate:.0%}; "
        f"limit {settings.llm.max_failure_rate:.0%})",
        metadata={"failure_rate": rate},
    )
    now = _now()
    day_start = datetime.combine(now.date(), datetime.min.time(), UTC)
    spent = repo.llm_spend_usd(day_start, day_start + timedelta(days=1))
    budget = settings.llm.daily_budget_usd
    over = spent >= budget > 0 or (budget == 0 and spent > 0)
    near = budget > 0 and spent >= 0.8 * budget
    yield dg.AssetCheckResult(
        check_name="llm_daily_spend",
        passed=not near,
        severity=ERROR if over else WARN,
        description=f"LLM spend today ${spent:.4f} of a ${budget:.2f} budget"
        + (" (reached: further candidates wait)" if over else " (over 80 %)" if near else ""),
        metadata={"spent_usd": spent, "budget_usd": budget},
    )


# -- daily_digest and events_calendar --------------------------------------------------


def daily_digest(
    context: dg.AssetExecutionContext,
    settings: dg.ResourceParam[Settings],
    repository: dg.ResourceParam[Repository],
    poster: dg.ResourceParam[SlackPoster | None],
) -> Iterable[dg.MaterializeResult | dg.AssetCheckResult]:
    """The digest of a day as people read it: what is coming up in the next days, what
    changed and what is new. Shown here as Markdown, written to digest.output_dir, and
    posted to Slack (digest.channel) when digest.post is on; a re-run edits that post."""
    repo = repository
    the_poster = poster if settings.digest.post else None
    if settings.digest.post and (the_poster is None or not settings.digest.channel):
        raise dg.Failure("digest.post is on but slack.token or digest.channel is not set")
    unsafe: list[str] = []
    posted: dict[str, str | None] = {}
    last = None
    for digest in steps.build_daily_digests(repo, settings, day_range(context), now=_now()):
        found = find_unsafe_mentions(digest.slack_text) + find_unsafe_mentions(digest.slack_blocks)
        unsafe.extend(found)
        if the_poster is not None and settings.digest.channel and not found:
            posted[digest.day.isoformat()] = the_poster.post_digest(
                repo, digest, settings.digest.channel
            )
        last = digest
    assert last is not None  # a run always covers at least one day
    yield dg.MaterializeResult(
        metadata={
            "days": len(day_range(context)),
            "events": last.event_count,
            "posted": dg.MetadataValue.json(posted) if posted else "dry run (digest.post is false)",
            "digest": dg.MetadataValue.md(last.markdown),
            "file": dg.MetadataValue.path(files.digest_path(settings.digest, last.day)),
        }
    )
    yield dg.AssetCheckResult(
        check_name="digest_safety",
        passed=not unsafe,
        severity=ERROR,
        description="no broadcast mention or user ping leaks into the digest"
        if not unsafe
        else "unescaped mentions would ping people (not posted): "
        + ", ".join(sorted(set(unsafe))[:5]),
        metadata={"unsafe_mentions": len(unsafe)},
    )


def events_calendar(
    settings: dg.ResourceParam[Settings], repository: dg.ResourceParam[Repository]
) -> dg.MaterializeResult:
    """Every event as an iCalendar (.ics) file at digest.calendar_path: import it into a
    calendar app, or serve it and subscribe. A moved event updates its entry; a cancelled
    one is marked cancelled."""
    path, count = steps.write_calendar_feed(repository, settings)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(path),
            "events": count,
            "bytes": path.stat().st_size,
        }
    )


# Who answers for the assets (Dagster shows it on each, and can alert them).
OWNERS = ["team:slack-events"]

# What a failed check means and what to do, shown with the check in the UI.
CHECKS: dict[str, str] = {
    "watermark_sanity": (
        "A channel's watermark (how far it has been read) is ahead of its newest stored "
        "message or in the future, so reading today's news from it would skip messages. "
        "Usually a clock jump or messages lost from the app database. Check the host's "
        "clock, then re-run raw_slack_messages for the channel from its newest stored "
        "message on (past days are read whole, whatever the watermark)."
    ),
    "channel_freshness": (
        "A channel of the live Slack source has not been read successfully within "
        "pipeline.freshness_hours: the watermark sensor is off or failing, or the token lost "
        "access (invalid_auth, not_in_channel). See the sensor's ticks and the last run's "
        "log; docs/operations.md, Troubleshooting."
    ),
    "candidate_rate": (
        "More messages than pipeline.max_candidate_rate look like events: a noisy channel "
        "(a bot posting dates) or a scorer change. More candidates cost more LLM calls. "
        "Look at the preview; leave the channel out (slack.channels) or raise "
        "pipeline.candidate_threshold."
    ),
    "events_are_unique_and_sourced": (
        "Two events share a dedup key, or an event has no stored source message: the "
        "calendar would show duplicates or events nobody wrote. Blocks the digest. Re-run "
        "events for the partitions named in the result; report it if it persists."
    ),
    "llm_failure_rate": (
        "More candidates than llm.max_failure_rate got no usable answer from the model "
        "(errors, timeouts, answers that break the schema); they are marked failed and "
        "retried by the next run. Check the run's log, the endpoint (llm.base_url, "
        "llm.model) and the key."
    ),
    "llm_daily_spend": (
        "Today's LLM spend passed 80 % of llm.daily_budget_usd (WARN) or reached it "
        "(ERROR: further candidates wait for tomorrow, marked deferred). Raise the budget "
        "to go on today; re-running a day is cheap (answers are cached)."
    ),
    "digest_safety": (
        "The rendered digest would ping people (@channel, @here, a user or group mention) "
        "because text from a message was not escaped; it is not posted. Blocks the "
        "calendar. A bug in the digest's escaping: report it with the run's id."
    ),
}


def _check(name: str, asset: str, *, blocking: bool = False) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset, description=CHECKS[name], blocking=blocking)


def asset_kinds(settings: Settings) -> tuple[str, set[str]]:
    """The database kind of every asset ("sqlite" or "postgres") and the extractor's
    kinds ("openai" when a model extracts events), so the asset graph reads at a glance."""
    backend = url_from_settings(settings.database).get_backend_name()
    database = "postgres" if backend.startswith("postgres") else "sqlite"
    return database, set() if settings.llm.provider == "rules" else {"openai"}


def _asset(
    compute: Any, partitions: dg.PartitionsDefinition[str], **options: Any
) -> dg.AssetsDefinition:
    return dg.asset(
        partitions_def=partitions,
        backfill_policy=RANGED,
        group_name="slack_events",
        description=" ".join(compute.__doc__.split()),
        owners=OWNERS,
        **options,
    )(compute)


def build_assets(partitions: Partitions, settings: Settings) -> list[dg.AssetsDefinition]:
    """The five assets over the root's partitions (their functions are above)."""
    by_day = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name=DAY)
    channel_days, daily = partitions.channel_days, partitions.daily
    database, extractor = asset_kinds(settings)
    posted = {"slack"} if settings.digest.post else set()
    return [
        _asset(
            raw_slack_messages,
            channel_days,
            kinds={"slack", database},
            check_specs=[
                _check("watermark_sanity", "raw_slack_messages"),
                _check("channel_freshness", "raw_slack_messages"),
            ],
        ),
        _asset(
            event_candidates,
            channel_days,
            deps=["raw_slack_messages"],
            kinds={database},
            check_specs=[_check("candidate_rate", "event_candidates")],
        ),
        _asset(
            events,
            channel_days,
            deps=["event_candidates"],
            kinds={database, *extractor},
            check_specs=[
                _check("events_are_unique_and_sourced", "events", blocking=True),
                _check("llm_failure_rate", "events"),
                _check("llm_daily_spend", "events"),
            ],
        ),
        _asset(
            daily_digest,
            daily,
            deps=[dg.AssetDep("events", partition_mapping=by_day)],
            kinds={database, *posted},
            check_specs=[_check("digest_safety", "daily_digest", blocking=True)],
        ),
        _asset(events_calendar, daily, deps=["daily_digest"], kinds={database}),
    ]
