"""Jobs, the daily digest schedule, and the sensors: channel discovery, watermark, alerts.

Downstream assets follow upstream ones because they run in the same job: the
watermark sensor requests ``ingest_job`` (messages -> candidates -> events) for
the partitions that changed, and the schedule requests ``digest_job`` (digest
and calendar) for the day. No declarative automation (and so no extra daemon
evaluation) is needed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from slack_events_dagster.defs.partitions import CHANNELS_PARTITION
from slack_events_dagster.defs.polling import mark_polled, may_ask_now, plan_tick
from slack_events_dagster.domain.models import ts_sort_key
from slack_events_dagster.settings import Settings
from slack_events_dagster.slack.errors import redact
from slack_events_dagster.slack.poster import SlackPoster
from slack_events_dagster.slack.source import MessageSource
from slack_events_dagster.storage.base import Repository

DagsterEventType = dg.DagsterEventType

# Runs that may call the LLM carry this tag; the deployment's run queue limits how many
# run at once (deploy/dagster.yaml, tag_concurrency_limits).
LLM_RUN_TAG = "slack_events/llm"
# Runs for messages the Socket Mode listener already stored: raw_slack_messages reads
# nothing from Slack in them (defs/assets.py).
PUSHED_RUN_TAG = "slack_events/pushed"
# A row's updated_at is taken before its transaction commits: each tick looks this far
# behind its cursor too, and run keys make the rows seen twice harmless.
_PUSH_OVERLAP = timedelta(minutes=2)
# The first tick with Socket Mode looks back this far.
_PUSH_FIRST_LOOK = timedelta(hours=1)


def ingest_job(settings: Settings) -> dg.UnresolvedAssetJobDefinition:
    """Messages, candidates and events for channel days. Its runs carry ``LLM_RUN_TAG``
    when the extractor calls a model (the run queue limits those); with the rule
    extractor they call none, and say so."""
    return dg.define_asset_job(
        "ingest_job",
        selection=["raw_slack_messages", "event_candidates", "events"],
        description="Messages, candidates and events for channel days.",
        tags={LLM_RUN_TAG: "true"} if settings.llm.provider != "rules" else {},
    )


digest_job = dg.define_asset_job(
    "digest_job",
    selection=["daily_digest", "events_calendar"],
    description="The day's digest and the calendar feed.",
)


def _today(timezone: str) -> str:
    return datetime.now(UTC).astimezone(ZoneInfo(timezone)).date().isoformat()


def digest_schedule(settings: Settings) -> dg.ScheduleDefinition:
    """The digest of each day at digest.time in digest.timezone.

    Stopped at first when the days end (pipeline.end_date: a fixed history such as the
    sample), since no day after it is a partition; it then skips such days if started."""
    zone = settings.digest.timezone
    last_day = settings.pipeline.end_date

    @dg.schedule(
        name="daily_digest_schedule",
        job=digest_job,
        cron_schedule=f"{settings.digest.time.minute} {settings.digest.time.hour} * * *",
        execution_timezone=zone,
        default_status=dg.DefaultScheduleStatus.RUNNING
        if last_day is None
        else dg.DefaultScheduleStatus.STOPPED,
        description="Builds (and posts, when enabled) the digest at digest.time in "
        "digest.timezone.",
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        moment = context.scheduled_execution_time or datetime.now(UTC)
        day = moment.astimezone(ZoneInfo(zone)).date()
        if last_day is not None and day > last_day:
            return dg.SkipReason(f"{day} is after pipeline.end_date {last_day}: the days end there")
        return dg.RunRequest(run_key=f"digest:{day}", partition_key=day.isoformat())

    return schedule


@dg.sensor(
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds new channels as partitions; archived or removed ones stop being polled.",
)
def channel_discovery_sensor(
    context: dg.SensorEvaluationContext,
    repository: dg.ResourceParam[Repository],
    source: dg.ResourceParam[MessageSource],
) -> dg.SensorResult | dg.SkipReason:
    repo = repository
    if problem := repo.prepare_schema():
        return dg.SkipReason(problem)
    listed = source.list_channels()
    repo.upsert_channels(listed)
    listed_ids = {c.id for c in listed}
    for channel in repo.get_channels():
        if channel.id not in listed_ids:
            # Gone from the source (archived, left, deleted): keep its data, stop polling.
            repo.upsert_channels([channel.model_copy(update={"is_archived": True})])
    known = set(context.instance.get_dynamic_partitions(CHANNELS_PARTITION))
    new = sorted(listed_ids - known)
    return dg.SensorResult(
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(CHANNELS_PARTITION, new)]
        if new
        else [],
        skip_reason=None if new else dg.SkipReason(f"{len(listed_ids)} channels, none new"),
    )


def watermark_sensor(settings: Settings) -> dg.SensorDefinition:
    """Polls at pipeline.sensor_interval_s; today is the pipeline zone's today.

    With Socket Mode (``slack.app_token`` set, ``slack.source: api``) the listener stores
    messages as they arrive, and the sensor asks the database instead of Slack: the
    partitions (day x channel) whose messages were written since its last tick get a run
    that reads nothing from Slack (``PUSHED_RUN_TAG``), every
    ``pipeline.push_sensor_interval_s``. Without it, one cheap history call per channel."""
    pushed = settings.slack.source == "api" and bool(settings.slack.app_token.get_secret_value())

    @dg.sensor(
        name="watermark_sensor",
        job_name="ingest_job",
        minimum_interval_seconds=settings.pipeline.push_sensor_interval_s
        if pushed
        else settings.pipeline.sensor_interval_s,
        # Polling costs Slack calls, so it waits to be turned on; reading the database
        # costs none, so with Socket Mode it runs from the start.
        default_status=dg.DefaultSensorStatus.RUNNING if pushed else dg.DefaultSensorStatus.STOPPED,
        description="Runs the channel days whose messages the Socket Mode listener stored "
        "(no Slack call)"
        if pushed
        else "Asks Slack cheaply (one call per channel) for news since each watermark.",
    )
    def sensor(
        context: dg.SensorEvaluationContext,
        repository: dg.ResourceParam[Repository],
        source: dg.ResourceParam[MessageSource],
    ) -> dg.SensorResult | dg.SkipReason:
        if problem := repository.prepare_schema():
            return dg.SkipReason(problem)
        if pushed:
            return _pushed_since_cursor(context, repository, settings)
        return _news_since_watermarks(context, repository, source, settings)

    return sensor


def _pushed_since_cursor(
    context: dg.SensorEvaluationContext, repo: Repository, settings: Settings
) -> dg.SensorResult:
    """Runs for the day x channel partitions whose stored messages changed since the last
    tick (the listener's writes, its gap fills too), within slack.lookback_days."""
    now = datetime.now(UTC)
    state: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    since = (
        datetime.fromisoformat(state["changed_after"])
        if "changed_after" in state
        else now - _PUSH_FIRST_LOOK
    )
    zone = ZoneInfo(settings.pipeline.timezone)
    first_day = settings.pipeline.start_date
    partitions = set(context.instance.get_dynamic_partitions(CHANNELS_PARTITION))
    posted_since = now - timedelta(days=settings.slack.lookback_days)
    requests: list[dg.RunRequest] = []
    for channel in repo.get_channels():
        if channel.id not in partitions:
            continue
        newest_change: dict[str, datetime] = {}
        for posted_at, updated_at in repo.changed_message_times(
            channel.id, posted_since, since - _PUSH_OVERLAP
        ):
            day = posted_at.astimezone(zone).date()
            if day < first_day:
                continue
            key = day.isoformat()
            newest_change[key] = max(updated_at, newest_change.get(key, updated_at))
        for day_key, changed in sorted(newest_change.items()):
            # Same partition, same newest write: the same run key, so Dagster runs it once.
            requests.append(
                dg.RunRequest(
                    run_key=f"pushed:{channel.id}:{day_key}:{changed.isoformat()}",
                    partition_key=dg.MultiPartitionKey({"day": day_key, "channel": channel.id}),
                    tags={PUSHED_RUN_TAG: "true"},
                )
            )
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps({"changed_after": now.isoformat()}),
        skip_reason=None if requests else dg.SkipReason("no pushed message since the last tick"),
    )


def _news_since_watermarks(
    context: dg.SensorEvaluationContext,
    repo: Repository,
    source: MessageSource,
    settings: Settings,
) -> dg.SensorResult:
    cursor: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
    watermarks = repo.get_watermarks()
    partitions = set(context.instance.get_dynamic_partitions(CHANNELS_PARTITION))
    today = _today(settings.pipeline.timezone)
    requests: list[dg.RunRequest] = []
    # Under a paced budget only the channels the planner chooses are asked, most urgent
    # first; unpaced, every channel.
    plan = plan_tick(repo, settings, sorted(partitions), cursor, datetime.now(UTC))
    listed = {channel.id: channel for channel in repo.get_channels()}
    asked: list[str] = []
    for channel in (listed[c] for c in plan.poll if c in listed):
        if not may_ask_now(source):
            break  # the budget is spent for now: the rest wait for the next tick
        newest = source.newest_ts(channel)
        asked.append(channel.id)
        seen = cursor.get(channel.id) or watermarks.get(channel.id)
        if newest is None or (seen is not None and ts_sort_key(newest) <= ts_sort_key(seen)):
            continue
        # The run key makes a repeated tick (same newest message) harmless.
        requests.append(
            dg.RunRequest(
                run_key=f"{channel.id}:{newest}",
                partition_key=dg.MultiPartitionKey({"day": today, "channel": channel.id}),
            )
        )
        cursor[channel.id] = newest
    mark_polled(cursor, asked, datetime.now(UTC))
    context.log.info("polling: %s", plan.summary())
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(cursor, sort_keys=True),
        skip_reason=None if requests else dg.SkipReason(f"no channel has news; {plan.summary()}"),
    )


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts every failed asset check and failed run once to digest.alert_channel.",
)
def alert_sensor(
    context: dg.SensorEvaluationContext,
    settings: dg.ResourceParam[Settings],
    poster: dg.ResourceParam[SlackPoster | None],
) -> dg.SensorResult | dg.SkipReason:
    channel = settings.digest.alert_channel
    the_poster = poster
    if not channel or the_poster is None:
        return dg.SkipReason("digest.alert_channel or slack.token is not set")
    state: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
    instance = context.instance
    if not context.cursor:
        # First tick: start from now, not from everything that ever failed.
        latest = instance.get_event_records(
            dg.EventRecordsFilter(DagsterEventType.ASSET_CHECK_EVALUATION), limit=1
        )
        runs = instance.fetch_run_status_changes(DagsterEventType.RUN_FAILURE, limit=1)
        state = {"event": latest[0].storage_id if latest else 0, "runs": runs.cursor}
        return dg.SensorResult(cursor=json.dumps(state), skip_reason="alerting from now on")

    alerts: list[str] = []
    checks = instance.get_event_records(
        dg.EventRecordsFilter(DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=state["event"]),
        limit=200,
        ascending=True,
    )
    for record in checks:
        state["event"] = record.storage_id
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if not isinstance(evaluation, dg.AssetCheckEvaluation) or evaluation.passed:
            continue
        partition = evaluation.partition or record.partition_key or "-"
        alerts.append(
            f":rotating_light: *{evaluation.severity.value}* check `{evaluation.check_name}` "
            f"failed on `{evaluation.asset_key.to_user_string()}` partition `{partition}`: "
            f"{evaluation.description or ''}"
        )
    runs = instance.fetch_run_status_changes(
        DagsterEventType.RUN_FAILURE, limit=100, cursor=state["runs"], ascending=True
    )
    for run_record in runs.records:
        run_id = run_record.run_id
        message = (
            run_record.event_log_entry.dagster_event.message
            if run_record.event_log_entry.dagster_event
            else ""
        )
        alerts.append(f":x: run `{run_id[:8]}` failed: {redact(message or 'see the Dagster UI')}")
    state["runs"] = runs.cursor or state["runs"]
    for text in alerts:
        the_poster.post_alert(channel, text[:3000])
    return dg.SensorResult(
        cursor=json.dumps(state),
        skip_reason=None if alerts else dg.SkipReason("nothing failed"),
    )


def build_jobs(settings: Settings) -> list[dg.UnresolvedAssetJobDefinition]:
    return [ingest_job(settings), digest_job]


def build_automation(
    settings: Settings,
) -> tuple[list[dg.ScheduleDefinition], list[dg.SensorDefinition]]:
    """The schedule and the sensors, timed by the settings."""
    return [digest_schedule(settings)], [
        channel_discovery_sensor,
        watermark_sensor(settings),
        alert_sensor,
    ]
