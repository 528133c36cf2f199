"""The sparse shape of ``bench/pipeline.py`` (``--shape sparse``): a real workspace's
history, as a new user runs it with the default ``slack-events run``.

50 channels x 365 days (``--channels``, ``--days``) with the skew of
``workspace_gen.sparse_counts``: a few busy channels, some team channels and many
quiet ones, most channel-days empty or under 5 messages, about 100,000 messages,
deterministic for ``--seed``. The workspace is written as a Slack export and read by
``pipeline.run`` (what ``slack-events run`` calls) with the default settings otherwise:
the rule extractor, no posting, the default Dagster instance (the project-local one of
``instance.py``, ``DAGSTER_HOME`` unset). The application database is a SQLite file or
a fresh PostgreSQL database; the instance is SQLite files either way, as by default.

Figures: wall time of ``pipeline.run``; messages/s and channel-days/s over it; our
code's time per step (the same ``perf_counter`` wrappers as the dense benchmark); the
time inside Dagster's runs (``execute_in_process``) and Dagster's share,
``(time in runs - our code) / wall``; the rest of the wall time (the command's own
work around the runs: reading the export's channel list, registering channels, the
summary's counts) is reported apart. And what the runs stored in the instance: events
per run by type.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from slack_events_dagster.testing.workspace_gen import (
    DEFAULT_END,
    generate_workspace,
    sparse_counts,
    write_export,
)

# Dagster's environment switches on how many events a ranged run writes: one planned
# event per asset instead of per partition, planned events stored one by one instead of
# in a batch (the default), the batch size of the event writes (instance.py sets it).
DAGSTER_SWITCHES = (
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS",
    "DAGSTER_EMIT_PLANNED_EVENTS_INDIVIDUALLY",
    "DAGSTER_EVENT_BATCH_SIZE",
)


def _timed_runs() -> dict[str, float]:
    """Wrap ``JobDefinition.execute_in_process``: seconds and count of the runs."""
    import dagster as dg

    figures = {"seconds": 0.0, "runs": 0}
    original = dg.JobDefinition.execute_in_process

    def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            figures["seconds"] += time.perf_counter() - started
            figures["runs"] += 1

    dg.JobDefinition.execute_in_process = timed  # type: ignore[method-assign]
    return figures


def _stored_events(settings: Any) -> dict[str, Any]:
    """Events the runs stored in the instance, by type, and per run."""
    from slack_events_dagster.instance import dagster_instance

    by_type: Counter[str] = Counter()
    runs = 0
    with dagster_instance(settings) as instance:
        for run in instance.get_runs():
            runs += 1
            for record in instance.all_logs(run.run_id):
                event = record.dagster_event
                by_type[event.event_type_value if event is not None else "log"] += 1
    total = sum(by_type.values())
    return {
        "events_stored": total,
        "events_per_run": round(total / runs, 1) if runs else 0,
        "events_by_type": dict(by_type.most_common()),
    }


def run_sparse(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """The sparse history on one backend; call in a fresh process (``bench/pipeline.py``)."""
    from bench.pipeline import _postgres_database, instrument
    from slack_events_dagster import pipeline
    from slack_events_dagster.settings import load_settings

    # The default instance: DAGSTER_HOME unset, so the project-local one.
    os.environ.pop("DAGSTER_HOME", None)
    workdir = Path(tempfile.mkdtemp(prefix="bench-sparse-"))
    started = time.perf_counter()
    counts = sparse_counts(args.channels, args.days, seed=args.seed, end=DEFAULT_END)
    workspace = generate_workspace(
        channels=args.channels,
        days=args.days,
        thread_fraction=0.1,
        seed=args.seed,
        end=DEFAULT_END,
        counts=counts,
    )
    export = write_export(workspace, workdir / "export")
    generated = workspace.message_count()
    del workspace
    gen_s = time.perf_counter() - started
    channel_days = args.channels * args.days
    active = sum(1 for row in counts for n in row if n)

    with ExitStack() as stack:
        database: dict[str, Any] = {"path": str(workdir / "data" / "slack_events.db")}
        if backend == "sqlite":
            database["type"] = "sqlite"
        else:
            database["url"] = stack.enter_context(_postgres_database(args.postgres_url))
        settings = load_settings(
            database=database,
            slack={"source": "export", "export_path": str(export)},
            pipeline={"timezone": "UTC"},
            digest={
                "post": False,
                "output_dir": str(workdir / "out"),
                "calendar_path": str(workdir / "out" / "events.ics"),
                "timezone": "UTC",
            },
        )
        timer = instrument()
        in_runs = _timed_runs()
        started = time.perf_counter()
        summary = pipeline.run(settings, quiet=True)
        wall = time.perf_counter() - started
        stored = _stored_events(settings)
    ours_in_runs = timer.total - timer.seconds.get("register_channels", 0.0)
    return {
        "shape": "sparse",
        "backend": backend,
        "channels": args.channels,
        "days": args.days,
        "channel_days": channel_days,
        "active_channel_days": active,
        "messages_generated": generated,
        "generate_seconds": round(gen_s, 1),
        "wall_seconds": round(wall, 1),
        "runs": summary.runs,
        "failed_runs": summary.failed_runs,
        "messages_stored": summary.messages,
        "candidates": summary.candidates,
        "events": summary.events,
        "messages_per_second": round(summary.messages / wall, 1),
        "channel_days_per_second": round(channel_days / wall, 1),
        "in_runs_seconds": round(in_runs["seconds"], 1),
        "our_code_seconds": round(timer.total, 1),
        "our_code_by_function": {k: round(v, 2) for k, v in sorted(timer.seconds.items())},
        "dagster_seconds": round(in_runs["seconds"] - ours_in_runs, 1),
        "dagster_share": round((in_runs["seconds"] - ours_in_runs) / wall, 3),
        "outside_runs_seconds": round(wall - in_runs["seconds"], 1),
        # Dagster's switches this run had (see DAGSTER_SWITCHES).
        "dagster_switches": {k: os.environ[k] for k in DAGSTER_SWITCHES if os.environ.get(k)},
        **stored,
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"{result['backend']:8} sparse {result['channels']} channels x {result['days']} days "
        f"({result['channel_days']:,} channel-days, {result['active_channel_days']:,} with "
        f"messages): {result['messages_stored']:,} messages in {result['wall_seconds']:.1f} s "
        f"({result['messages_per_second']:,.0f} messages/s, "
        f"{result['channel_days_per_second']:,.0f} channel-days/s), {result['runs']} runs "
        f"({result['failed_runs']} failed), {result['candidates']:,} candidates, "
        f"{result['events']:,} events"
    )
    print(
        f"         in Dagster's runs {result['in_runs_seconds']:.1f} s, of which our code "
        f"{result['our_code_seconds']:.1f} s; Dagster {result['dagster_seconds']:.1f} s = "
        f"{result['dagster_share']:.1%} of wall; outside the runs "
        f"{result['outside_runs_seconds']:.1f} s; by function {result['our_code_by_function']}"
    )
    print(
        f"         instance events stored {result['events_stored']:,} "
        f"({result['events_per_run']:,} per run): {result['events_by_type']}; "
        f"generation apart {result['generate_seconds']} s; switches {result['dagster_switches']}"
    )
