"""Pipeline benchmark: a whole-history backfill through Dagster, as an operator runs it.

A generated workspace (default 20 channels x 90 days x 200 messages = 360,000, 10 %
thread replies, about 6 % candidates) is served by the fake Slack server (rate limits
off) and every candidate goes to the fake OpenAI server (100 ms per call,
``llm.provider: openai``, ``llm.concurrency`` 16 unless ``--llm-concurrency`` says
otherwise; the product's default is 4); both run in child processes so their JSON and
HTTP work does not compete with the pipeline for this process's GIL. The backfill is
submitted as the UI's backfill dialog does (GraphQL ``launchPartitionBackfill`` with
every partition name of the five assets) and completed by the backfill daemon's own
loop (``execute_backfill_iteration``), with runs launched synchronously in this
process and steps in process (``bench/pipeline_location.py``). Each backend runs in a fresh
child process: app tables and the Dagster instance both on SQLite
(``KeptSqliteStorage``), or both on PostgreSQL (the deployment's
``PooledPostgresStorage``); ``--dagster-storage plain`` takes Dagster's own storage
classes instead, which open a connection per statement.

Figures: wall time (from the GraphQL mutation until the backfill completes; server
start, workspace generation and code-server start-up are reported apart), runs
launched, messages stored per second, LLM calls (and the least time they can take:
calls x latency / ``llm.concurrency``), and the Dagster overhead.

How the overhead is measured: the benchmark wraps our own code in this process with
``time.perf_counter`` accumulators: every ``steps.*`` function the assets call
(ingest, score, extract and merge, digest, calendar) and the asset checks' queries
(``watermark_sanity``, ``channel_freshness``, ``event_checks``). Runs execute
synchronously and their steps one after another in this process, so these intervals
never overlap and their sum is the time spent in our code. Overhead is
``(wall - our code) / wall``: the daemon's planning, run creation, the GraphQL
launch, event-log writes for every materialization and check (one per partition),
resource set-up and step orchestration. As a cross-check the benchmark also reports
the time outside Dagster's own step durations (``STEP_SUCCESS`` events), which
counts a step's event logging as step time and so gives a lower bound.

    .venv/bin/python -m bench.pipeline                           # full size, both backends
    .venv/bin/python -m bench.pipeline --shape sparse            # a sparse year (bench/sparse.py)
    .venv/bin/python -m bench.pipeline --days 5 --channels 3 --per-day 50 --json
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from slack_events_dagster.dagster_storage import EVENT_BATCH_SIZE
from slack_events_dagster.testing.fake_openai import FakeOpenAIServer
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack
from slack_events_dagster.testing.workspace_gen import DEFAULT_END, generate_workspace

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCATION_MODULE = "bench.pipeline_location"
REPO_ROOT = Path(__file__).resolve().parents[1]
# Run as a script (python bench/pipeline.py), the report imports its sibling module.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
INGEST_ASSETS = ("raw_slack_messages", "event_candidates", "events")
DIGEST_ASSETS = ("daily_digest", "events_calendar")
LLM_KEY = "sk-bench-key"
# The Dagster instance's storage classes (``slack_events_dagster.dagster_storage``);
# the PostgreSQL one is what deploy/dagster.yaml configures.
POOLED_STORAGE = "slack_events_dagster.dagster_storage.PooledPostgresStorage"
KEPT_SQLITE_STORAGE = "slack_events_dagster.dagster_storage.KeptSqliteStorage"
# Calls in flight per run. The product's default (4) suits a small account; OpenAI-
# compatible endpoints take far more (OpenAI's tier 1 allows 500 requests a minute for
# gpt-4o-mini: at about 1 s per call, that alone is 8 in flight), and a backfill is
# where they matter. The report says which value was used.
DEFAULT_LLM_CONCURRENCY = 16
TARGETS = {"wall_seconds": 600.0, "runs": 60, "dagster_overhead": 0.25}

LAUNCH_BACKFILL = """
mutation($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
  }
}
"""


# -- fake servers in child processes ---------------------------------------------------


def _serve_slack(conn: Connection, workspace_options: dict[str, Any]) -> None:
    started = time.perf_counter()
    workspace = generate_workspace(**workspace_options)
    fake = FakeSlack.from_workspace(workspace, rate_limits=False)
    conn.send((fake.start(), workspace.message_count(), time.perf_counter() - started))
    del workspace  # the fake keeps its own copy
    while True:
        command = conn.recv()
        if command == "calls":
            conn.send(dict(sorted(fake.calls.items())))
        else:
            fake.stop()
            conn.send(None)
            return


def _serve_llm(conn: Connection, latency_s: float) -> None:
    server = FakeOpenAIServer(latency_s=latency_s, require_api_key=LLM_KEY).start()
    conn.send(server.base_url)
    while True:
        command = conn.recv()
        if command == "counts":
            conn.send(
                {
                    "completions": server.completion_requests,
                    "max_in_flight": server.max_in_flight,
                    "prompt_tokens": server.prompt_tokens,
                    "completion_tokens": server.completion_tokens,
                }
            )
        else:
            server.stop()
            conn.send(None)
            return


@contextmanager
def _child(target: Callable[..., None], *args: Any) -> Iterator[tuple[Connection, Any]]:
    """A server in a spawned child process: (pipe, its first message)."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args), daemon=True)
    process.start()
    try:
        yield parent, parent.recv()
        parent.send("stop")
        parent.recv()
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


# -- databases -----------------------------------------------------------------------


@contextmanager
def _postgres_database(admin_url: str) -> Iterator[str]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"bench_pipeline_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- timing our own code -------------------------------------------------------------


class CodeTimer:
    """Seconds spent inside our own functions, per function name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, owner: Any, name: str, *, generator: bool = False) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = original(*args, **kwargs)
                # A generator's work happens while it is consumed: do it here.
                return iter(list(result)) if generator else result
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.calls[name] += 1

        setattr(owner, name, timed)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def instrument() -> CodeTimer:
    """Wrap the steps and checks the assets call (they look them up at call time)."""
    from slack_events_dagster import steps
    from slack_events_dagster.defs import assets

    timer = CodeTimer()
    for name in (
        "register_channels",
        "ingest_days",
        "score_days",
        "extract_days",
        "build_daily_digests",
        "write_calendar_feed",
    ):
        timer.wrap(steps, name)
    timer.wrap(assets, "watermark_sanity")
    timer.wrap(assets, "channel_freshness")
    timer.wrap(assets, "event_checks", generator=True)
    return timer


# -- one backend -----------------------------------------------------------------------


def _settings_env(
    slack_url: str,
    llm_url: str,
    first_day: date,
    database_url: str,
    workdir: Path,
    llm_concurrency: int,
) -> dict[str, str]:
    """The product's settings as environment variables (read by the code location)."""
    out = workdir / "out"
    return {
        "SLACK_EVENTS_SLACK__SOURCE": "api",
        "SLACK_EVENTS_SLACK__BASE_URL": slack_url,
        "SLACK_EVENTS_SLACK__TOKEN": DEFAULT_TOKEN,
        "SLACK_EVENTS_SLACK__RETRY_BACKOFF_S": "0.05",
        "SLACK_EVENTS_LLM__PROVIDER": "openai",
        "SLACK_EVENTS_LLM__BASE_URL": llm_url,
        "SLACK_EVENTS_LLM__API_KEY": LLM_KEY,
        # The benchmark measures throughput: no candidate may wait for tomorrow's budget.
        "SLACK_EVENTS_LLM__DAILY_BUDGET_USD": "10000",
        "SLACK_EVENTS_LLM__CONCURRENCY": str(llm_concurrency),
        "SLACK_EVENTS_PIPELINE__START_DATE": first_day.isoformat(),
        "SLACK_EVENTS_DIGEST__OUTPUT_DIR": str(out),
        "SLACK_EVENTS_DIGEST__CALENDAR_PATH": str(out / "events.ics"),
        "SLACK_EVENTS_DATABASE__URL": database_url,
        # As the deployment's image and `slack-events run` set it.
        "DAGSTER_EVENT_BATCH_SIZE": EVENT_BATCH_SIZE,
    }


def _dagster_storage(backend: str, location: str, storage_class: str) -> dict[str, Any]:
    """The instance's storage: the product's classes that keep their connections (as
    deploy/dagster.yaml names on PostgreSQL), or with ``--dagster-storage plain`` Dagster's
    own, which opens a connection per statement, for comparison."""
    if backend == "sqlite":
        config: dict[str, Any] = {"base_dir": location}
        plain, kept = "sqlite", KEPT_SQLITE_STORAGE
    else:
        # SQLAlchemy 2.1 maps postgresql:// to psycopg 3, which dagster-postgres 0.29
        # cannot use (its NOTIFY takes a client-side parameter): name psycopg2.
        url = make_url(location).set(drivername="postgresql+psycopg2")
        config = {"postgres_url": url.render_as_string(hide_password=False)}
        plain, kept = "postgres", POOLED_STORAGE
    if storage_class == "plain":
        return {"storage": {plain: config}}
    module, _, name = kept.rpartition(".")
    return {"storage": {"custom": {"module": module, "class": name, "config": config}}}


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """The whole backfill on one backend; call in a fresh process (see ``main``)."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    first_day = DEFAULT_END - timedelta(days=args.days - 1)
    workspace_options = {
        "channels": args.channels,
        "days": args.days,
        "per_day": args.per_day,
        "thread_fraction": 0.1,
        "seed": args.seed,
        "end": DEFAULT_END,
    }
    with (
        _child(_serve_slack, workspace_options) as (slack, (slack_url, messages, gen_s)),
        _child(_serve_llm, args.llm_latency_ms / 1000) as (llm, llm_url),
        _app_database(backend, args, workdir) as app_url,
        _dagster_database(backend, args, workdir) as dagster_location,
    ):
        os.environ.update(
            _settings_env(slack_url, llm_url, first_day, app_url, workdir, args.llm_concurrency)
        )
        figures = _backfill(backend, args, app_url, dagster_location)
        slack.send("calls")
        slack_calls: dict[str, int] = slack.recv()
        llm.send("counts")
        llm_counts: dict[str, int] = llm.recv()
    wall = figures["wall_seconds"]
    return {
        "backend": backend,
        "channels": args.channels,
        "days": args.days,
        "messages_generated": messages,
        "generate_seconds": round(gen_s, 1),
        **figures,
        "messages_per_second": round(figures["messages_stored"] / wall, 1),
        "slack_api_calls": sum(slack_calls.values()),
        "llm_calls": llm_counts["completions"],
        "llm_max_in_flight": llm_counts["max_in_flight"],
        "llm_latency_ms": args.llm_latency_ms,
        # The least time the LLM calls can take at llm.concurrency calls in flight.
        "llm_floor_seconds": round(
            llm_counts["completions"] * args.llm_latency_ms / 1000 / figures["llm_concurrency"], 1
        ),
    }


@contextmanager
def _app_database(backend: str, args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'slack_events.db'}"
    else:
        with _postgres_database(args.postgres_url) as url:
            yield url


@contextmanager
def _dagster_database(backend: str, args: argparse.Namespace, workdir: Path) -> Iterator[str]:
    """Where the Dagster instance keeps its storage: a directory, or a PostgreSQL URL."""
    if backend == "sqlite":
        yield str(workdir / "dagster")
    else:
        with _postgres_database(args.postgres_url) as url:
            yield url


def _backfill(
    backend: str, args: argparse.Namespace, app_url: str, dagster_location: str
) -> dict[str, Any]:
    # Imported after the settings are in the environment: the partitions are built
    # from them when the package's definitions are imported.
    from dagster._core.events import DagsterEventType
    from dagster._core.execution.backfill import BulkActionStatus
    from dagster._core.execution.plan.objects import StepSuccessData
    from dagster._core.storage.dagster_run import DagsterRunStatus, RunsFilter
    from dagster._core.test_utils import create_test_daemon_workspace_context, instance_for_test
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.backfill import execute_backfill_iteration
    from dagster_graphql.test.utils import execute_dagster_graphql

    from slack_events_dagster import steps
    from slack_events_dagster.settings import load_settings
    from slack_events_dagster.slack.webapi import WebApiSource
    from slack_events_dagster.storage.repository import SqlRepository

    settings = load_settings()
    repository = SqlRepository.from_url(app_url)
    repository.create_schema()
    timer = instrument()
    # What the channel discovery sensor does before any backfill.
    channels = steps.register_channels(WebApiSource(settings.slack), repository)
    first_day = settings.pipeline.start_date
    day_keys = [(first_day + timedelta(days=n)).isoformat() for n in range(args.days)]
    storage = _dagster_storage(backend, dagster_location, args.dagster_storage)
    with instance_for_test(
        overrides=storage, synchronous_run_launcher=True, synchronous_run_coordinator=True
    ) as instance:
        instance.add_dynamic_partitions("channels", [c.id for c in channels])
        target = ModuleTarget(LOCATION_MODULE, "defs", str(REPO_ROOT), "bench")
        started = time.perf_counter()
        with create_test_daemon_workspace_context(target, instance) as context:
            load_s = time.perf_counter() - started
            timer.seconds.clear()
            names = [f"{c.id}|{day}" for c in channels for day in day_keys]
            params = {
                "assetSelection": [{"path": [a]} for a in INGEST_ASSETS + DIGEST_ASSETS],
                "partitionNames": names,
                "fromFailure": False,
                "tags": [],
            }
            started = time.perf_counter()
            answer = execute_dagster_graphql(
                context.create_request_context(), LAUNCH_BACKFILL, {"backfillParams": params}
            ).data["launchPartitionBackfill"]
            if answer["__typename"] != "LaunchBackfillSuccess":
                raise RuntimeError(f"launchPartitionBackfill failed: {answer}")
            backfill_id = answer["backfillId"]
            logger = logging.getLogger("bench.pipeline")
            ticks = 0
            while True:
                ticks += 1
                list(execute_backfill_iteration(context, logger))
                backfill = instance.get_backfill(backfill_id)
                if backfill is None or backfill.status is not BulkActionStatus.REQUESTED:
                    break
            wall = time.perf_counter() - started
        runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))
        step_seconds = 0.0
        for run in runs:
            for record in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_SUCCESS):
                event = record.dagster_event
                data = event.event_specific_data if event is not None else None
                if isinstance(data, StepSuccessData):
                    step_seconds += data.duration_ms / 1000
        failed = [r.run_id for r in runs if r.status is not DagsterRunStatus.SUCCESS]
        status = backfill.status.value if backfill is not None else "missing"
    messages_stored = repository.count_messages()
    figures = {
        "status": status,
        "dagster_storage": f"{backend} ({args.dagster_storage})",
        "llm_concurrency": settings.llm.concurrency,
        "llm_batch_size": settings.llm.batch_size,
        "failed_runs": len(failed),
        "wall_seconds": round(wall, 1),
        "code_location_load_seconds": round(load_s, 1),
        "daemon_ticks": ticks,
        "runs": len(runs),
        "messages_stored": messages_stored,
        "candidates": len(repository.get_candidates()),
        "events": repository.count_events(),
        "our_code_seconds": round(timer.total, 1),
        "our_code_by_function": {k: round(v, 1) for k, v in sorted(timer.seconds.items())},
        "dagster_overhead": round((wall - timer.total) / wall, 3),
        "step_seconds": round(step_seconds, 1),
        "outside_steps": round((wall - step_seconds) / wall, 3),
    }
    repository.close()
    return figures


# -- driver ------------------------------------------------------------------------------


def _report(result: dict[str, Any]) -> None:
    missed = [
        name
        for name, met in (
            ("wall time", result["wall_seconds"] <= TARGETS["wall_seconds"]),
            ("runs", result["runs"] <= TARGETS["runs"]),
            ("overhead", result["dagster_overhead"] < TARGETS["dagster_overhead"]),
        )
        if not met
    ]
    print(
        f"{result['backend']:8} {result['channels']} channels x {result['days']} days: "
        f"{result['messages_stored']:,} messages in {result['wall_seconds']:.1f} s "
        f"({result['messages_per_second']:,.0f}/s), {result['runs']} runs "
        f"({result['failed_runs']} failed, backfill {result['status']}), "
        f"{result['llm_calls']} LLM calls, {result['candidates']:,} candidates, "
        f"{result['events']:,} events; LLM floor {result['llm_floor_seconds']:.0f} s "
        f"(llm.concurrency {result['llm_concurrency']}, set by the benchmark; "
        f"the product's default is 4; at most {result['llm_max_in_flight']} were in flight)"
    )
    print(
        f"         our code {result['our_code_seconds']:.1f} s, Dagster overhead "
        f"{result['dagster_overhead']:.1%} (instance storage {result['dagster_storage']}; "
        f"outside step durations "
        f"{result['outside_steps']:.1%}); by function {result['our_code_by_function']}"
    )
    print(
        f"         setup apart: workspace generation {result['generate_seconds']} s, "
        f"code location load {result['code_location_load_seconds']} s; targets "
        f"{'missed: ' + ', '.join(missed) if missed else 'met'} "
        f"(<= {TARGETS['wall_seconds']:.0f} s, "
        f"<= {TARGETS['runs']} runs, overhead < {TARGETS['dagster_overhead']:.0%})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--shape",
        choices=("dense", "sparse"),
        default="dense",
        help="dense: a UI backfill of channels x days x per-day messages; sparse: "
        "`slack-events run` over a skewed year (bench/sparse.py)",
    )
    parser.add_argument("--channels", type=int, help="default 20 (dense), 50 (sparse)")
    parser.add_argument("--days", type=int, help="default 90 (dense), 365 (sparse)")
    parser.add_argument("--per-day", type=int, default=200, help="messages per channel and day")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--llm-latency-ms", type=float, default=100.0)
    parser.add_argument(
        "--llm-concurrency",
        type=int,
        default=DEFAULT_LLM_CONCURRENCY,
        help=f"llm.concurrency for the runs (default {DEFAULT_LLM_CONCURRENCY}; the product's 4)",
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument(
        "--dagster-storage",
        choices=("pooled", "plain"),
        default="pooled",
        help="the instance's storage: the product's (keeping connections) or Dagster's own",
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    parser.add_argument("--backend-only", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sparse = args.shape == "sparse"
    args.channels = args.channels or (50 if sparse else 20)
    args.days = args.days or (365 if sparse else 90)

    if args.backend_only:
        # Child mode: one backend, its figures as the last line of stdout.
        logging.basicConfig(level=logging.WARNING)
        if sparse:
            from bench.sparse import run_sparse

            print(json.dumps(run_sparse(args.backend_only, args)))
        else:
            print(json.dumps(run_backend(args.backend_only, args)))
        return 0

    results: list[dict[str, Any]] = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        # A fresh process per backend: Dagster caches the loaded code location per
        # process, and the settings (database, partitions) differ per backend.
        command = [sys.executable, "-m", "bench.pipeline", "--backend-only", backend]
        command += [f"--shape={args.shape}"]
        command += [f"--channels={args.channels}", f"--days={args.days}"]
        command += [f"--per-day={args.per_day}", f"--seed={args.seed}"]
        command += [
            f"--llm-latency-ms={args.llm_latency_ms}",
            f"--llm-concurrency={args.llm_concurrency}",
            f"--postgres-url={args.postgres_url}",
            f"--dagster-storage={args.dagster_storage}",
        ]
        # Dagster's run log (DEBUG, as for a backfill from the UI) goes to a file.
        log_path = Path(tempfile.gettempdir()) / f"bench-pipeline-{backend}.log"
        with log_path.open("w") as log:
            done = subprocess.run(
                command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True
            )
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            print(
                f"{backend}: the benchmark process failed (exit {done.returncode}); see {log_path}"
            )
            return 1
        result = json.loads(lines[-1])
        results.append(result)
        if sparse:
            from bench.sparse import report

            report(result)
        else:
            _report(result)
    if args.json:
        print(json.dumps({"benchmark": "pipeline", "results": results, "targets": TARGETS}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
