"""The main job behind ``slack-events run`` and ``slack-events demo``.

It registers the channels, then materializes every asset for the range through
Dagster, in-process: one ranged run of ``ingest_job`` per channel (all its days
at once, as a single-run backfill would), then one ranged run of ``digest_job``.
Runs are recorded on the instance of $DAGSTER_HOME when it is set, else on the
project-local one (``instance.py``), which ``slack-events ui`` shows. Each run is tagged with the
host and process executing it, so runs that a killed invocation left unfinished are
marked failed by the next one (see :func:`fail_orphaned_runs`).
"""

from __future__ import annotations

import os
import socket
import sys
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from tqdm import tqdm

from slack_events_dagster import steps
from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.defs.resources import message_source
from slack_events_dagster.domain.models import SlackChannel
from slack_events_dagster.instance import dagster_instance
from slack_events_dagster.settings import Settings
from slack_events_dagster.slack.errors import SlackSourceError
from slack_events_dagster.slack.source import MessageSource
from slack_events_dagster.storage.engine import redact_url, url_from_settings
from slack_events_dagster.storage.migrate import upgrade
from slack_events_dagster.storage.repository import SqlRepository

# The sample workspace covers 2026-03-02 .. 2026-03-22 in New York.
SAMPLE_START = date(2026, 3, 2)
SAMPLE_END = date(2026, 3, 22)
SAMPLE_TIMEZONE = "America/New_York"
SAMPLE_WORKSPACE_URL = "https://lumenlabs.slack.com/"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
# The CLI shows a progress bar and a summary; Dagster's own step log stays in the UI.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Which process executes a run of this command: a run still in progress whose process
# is gone was killed with it (SIGKILL, out of memory, a reboot).
CLI_HOST_TAG, CLI_PID_TAG = "slack_events/cli_host", "slack_events/cli_pid"
_UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


class PipelineError(RuntimeError):
    """The run could not start or finish; the message says which step and why."""


def demo_settings(settings: Settings, *, output_dir: str | Path = "output/demo") -> Settings:
    """The embedded default on the bundled sample: SQLite, rules, no posting."""
    out = Path(output_dir)
    return settings.model_copy(
        update={
            "database": settings.database.model_copy(
                update={"type": "sqlite", "path": out / "slack_events.db"}
            ),
            "slack": settings.slack.model_copy(
                update={
                    "source": "export",
                    "export_path": None,
                    "workspace_url": SAMPLE_WORKSPACE_URL,
                }
            ),
            "llm": settings.llm.model_copy(update={"provider": "rules"}),
            "pipeline": settings.pipeline.model_copy(
                update={
                    "start_date": SAMPLE_START,
                    "end_date": SAMPLE_END,
                    "timezone": SAMPLE_TIMEZONE,
                }
            ),
            "digest": settings.digest.model_copy(
                update={
                    "post": False,
                    "output_dir": out,
                    "calendar_path": out / "events.ics",
                    "timezone": SAMPLE_TIMEZONE,
                }
            ),
        }
    )


@dataclass
class RunSummary:
    first_day: date
    last_day: date
    channels: int
    runs: int
    messages: int
    candidates: int
    events: int
    failed_runs: int
    digest_markdown: str | None
    calendar_path: Path


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def fail_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the runs an earlier ``slack-events run`` on this host left unfinished
    when its process died; returns their ids.

    Nothing else ends them on an instance without run monitoring (``dagster dev``'s):
    they would stay STARTED for good, shown as running, holding a slot of a run queue's
    ``slack_events/llm`` limit, and the alert sensor (which reports failed runs) would
    never hear of them. Their data needs nothing: every step is idempotent and this
    command redoes their work.
    """
    host, failed = socket.gethostname(), []
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=_UNFINISHED, tags={CLI_HOST_TAG: host}))
    for run in runs:
        pid = int(run.tags.get(CLI_PID_TAG) or 0)
        if pid and pid != os.getpid() and not _process_alive(pid):
            instance.report_run_failed(
                run,
                f"slack-events run (pid {pid} on {host}) died before this run finished; "
                "the next slack-events run redoes its work",
            )
            failed.append(run.run_id)
    return failed


@dataclass(frozen=True)
class DayRange:
    """The days a run covers, and why these (printed before the run starts)."""

    first: date
    last: date
    why: str

    def __str__(self) -> str:
        return f"days {self.first} .. {self.last} ({self.why})"


def choose_range(
    source: MessageSource,
    channels: list[SlackChannel],
    settings: Settings,
    *,
    start: date | None = None,
    end: date | None = None,
) -> DayRange:
    """``--from``/``--to`` when given; else the days a fixed history (an export) holds,
    else pipeline.start_date to today in pipeline.timezone."""
    zone = settings.pipeline.timezone
    today = datetime.now(UTC).astimezone(ZoneInfo(zone)).date()
    spans = [span for c in channels if (span := source.days(c)) is not None]
    if spans:
        default_first, default_last = min(s[0] for s in spans), max(s[1] for s in spans)
        first_why, last_why = "the export's first day", "the export's last day"
        both_why = "the days the export holds"
    else:
        default_first, default_last = settings.pipeline.start_date, today
        first_why, last_why = "pipeline.start_date", f"today in {zone}"
        both_why = f"{first_why} .. {last_why}"
    if start is None and end is None:
        why = both_why
    else:
        why = f"{'--from' if start else first_why} .. {'--to' if end else last_why}"
    return DayRange(start or default_first, end or default_last, why)


def run_pipeline(
    settings: Settings,
    *,
    start: date | None = None,
    end: date | None = None,
    channels: list[str] | None = None,
    quiet: bool = False,
) -> int:
    summary = run(settings, start=start, end=end, channels=channels, quiet=quiet)
    print("\n" + summary_line(summary))
    if summary.digest_markdown:
        print("\n" + summary.digest_markdown)
    return 1 if summary.failed_runs else 0


def summary_line(summary: RunSummary) -> str:
    return (
        f"{summary.first_day} .. {summary.last_day}: {summary.channels} channels, "
        f"{summary.runs} runs ({summary.failed_runs} failed), {summary.messages} messages, "
        f"{summary.candidates} candidates, {summary.events} events; "
        f"calendar {summary.calendar_path}"
    )


def run(
    settings: Settings,
    *,
    start: date | None = None,
    end: date | None = None,
    channels: list[str] | None = None,
    quiet: bool = False,
) -> RunSummary:
    url = url_from_settings(settings.database)
    upgrade(url)
    source = message_source(settings.slack)
    try:
        listed = source.list_channels()
    except SlackSourceError as exc:
        raise PipelineError(f"could not list channels: {exc}") from None
    if channels:
        listed = [c for c in listed if c.id in channels or c.name in channels]
        if not listed:
            raise PipelineError(f"none of the channels {', '.join(channels)} is in the source")
    days = choose_range(source, listed, settings, start=start, end=end)
    first, last = days.first, days.last
    if last < first:
        raise PipelineError(f"--to {last} is before --from {first}")
    if first < settings.pipeline.start_date:
        if start is not None and source.live:
            raise PipelineError(
                f"--from {first} is before pipeline.start_date {settings.pipeline.start_date}; "
                "lower pipeline.start_date to backfill that far"
            )
        # A fixed history (an export) defines the partitions: start them at its first day.
        settings = settings.model_copy(
            update={"pipeline": settings.pipeline.model_copy(update={"start_date": first})}
        )
    if not quiet:
        print(days)
    if settings.pipeline.end_date is not None and last > settings.pipeline.end_date:
        # The partitions end on pipeline.end_date: stretch them to the range asked for.
        settings = settings.model_copy(
            update={"pipeline": settings.pipeline.model_copy(update={"end_date": last})}
        )
    # The same settings build the code location this process runs.
    defs = build_definitions(settings)
    with (
        closing(SqlRepository.from_settings(settings.database)) as repository,
        dagster_instance(settings) as instance,
    ):
        return _run(settings, defs, instance, source, repository, listed, first, last, quiet=quiet)


def _run(
    settings: Settings,
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    source: MessageSource,
    repository: SqlRepository,
    listed: list[SlackChannel],
    first: date,
    last: date,
    *,
    quiet: bool,
) -> RunSummary:
    url = url_from_settings(settings.database)
    listed_ids = {c.id for c in listed}
    wanted = [c for c in steps.register_channels(source, repository) if c.id in listed_ids]

    orphans = fail_orphaned_runs(instance)
    if orphans:
        print(f"marked {len(orphans)} runs of a killed slack-events run failed", file=sys.stderr)
    instance.add_dynamic_partitions("channels", [c.id for c in wanted])
    owner = {CLI_HOST_TAG: socket.gethostname(), CLI_PID_TAG: str(os.getpid())}
    ingest = defs.resolve_job_def("ingest_job")
    digest = defs.resolve_job_def("digest_job")
    failed = runs = 0
    bar = tqdm(wanted, desc="channels", unit="channel", disable=quiet, file=sys.stderr)
    for channel in bar:
        bar.set_postfix_str(f"#{channel.name}")
        result = ingest.execute_in_process(
            instance=instance,
            tags={
                RANGE_START: f"{channel.id}|{first}",
                RANGE_END: f"{channel.id}|{last}",
                **owner,
            },
            run_config=QUIET_RUN_CONFIG,
            raise_on_error=False,
        )
        runs += 1
        failed += 0 if result.success else 1
    result = digest.execute_in_process(
        instance=instance,
        tags={RANGE_START: first.isoformat(), RANGE_END: last.isoformat(), **owner},
        run_config=QUIET_RUN_CONFIG,
        raise_on_error=False,
    )
    runs += 1
    failed += 0 if result.success else 1
    last_digest = repository.get_digest(last)
    start_at, end_at = steps.day_bounds(first, last, settings.pipeline.timezone)
    summary = RunSummary(
        first_day=first,
        last_day=last,
        channels=len(wanted),
        runs=runs,
        messages=sum(
            repository.count_messages(c.id, start_at, end_at, include_deleted=False) for c in wanted
        ),
        candidates=len(repository.get_candidates(start=start_at, end=end_at)),
        events=repository.count_events(),
        failed_runs=failed,
        digest_markdown=last_digest.markdown if last_digest else None,
        calendar_path=Path(settings.digest.calendar_path),
    )
    print(f"database {redact_url(url.render_as_string(hide_password=False))}", file=sys.stderr)
    return summary
