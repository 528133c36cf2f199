"""What was tried and what survived: one table of injected faults and their cost.

Every row compares the database after the faulty run (and the normal re-runs an operator
would do) with a run that saw no fault, table by table and row by row (run timestamps
aside): rows lost, rows duplicated and rows with wrong content must all be zero. The
extra API calls and time are what the fault cost.

    .venv/bin/python -m bench.faults                    # SQLite, 20 SIGKILL trials
    .venv/bin/python -m bench.faults --postgres postgresql://postgres@127.0.0.1/postgres

The ``slack-events run`` row kills the real command (full Dagster runs on a DAGSTER_HOME
instance, the OpenAI extractor on the fake server, the digest posted to the fake Slack)
at seeded points, 8 trials by default (``--dagster-trials``).

``--postgres`` adds SIGKILL trials, a server restart (pg_ctlcluster, as root) and
concurrent runs on PostgreSQL; it creates and drops its own databases.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from slack_events_dagster import steps
from slack_events_dagster.domain.models import CandidateStatus
from slack_events_dagster.llm.base import ExtractionInput
from slack_events_dagster.llm.openai_extractor import OpenAIExtractor
from slack_events_dagster.settings import LLMSettings
from slack_events_dagster.slack.errors import SlackSourceError
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import TABLES_IN_DEPENDENCY_ORDER
from slack_events_dagster.testing.fake_openai import FakeOpenAIServer
from slack_events_dagster.testing.fake_slack import FakeSlack, FaultPlan
from slack_events_dagster_tests.helpers.cli_run import (
    DIGEST_CHANNEL,
    RUN_DAYS,
    RUN_IGNORED,
    RUN_KILL_KINDS,
    cli_site,
    kill_cli,
    run_cli,
    run_fakes,
    run_kill_point,
)
from slack_events_dagster_tests.helpers.crash_points import (
    PHASES,
    PhaseCounter,
    ProbedRepository,
    ProbedSource,
    run_crash_child,
)
from slack_events_dagster_tests.helpers.partition_run import (
    TOKEN,
    crash_workspace,
    pipeline_settings,
    run_pipeline,
)
from slack_events_dagster_tests.helpers.tables import table_rows

SCOPES = ["channels:history", "channels:read", "users:read"]


@dataclass
class Row:
    fault: str
    trials: int
    lost: int = 0
    duplicated: int = 0
    wrong: int = 0
    extra_calls: int = 0
    extra_s: float = 0.0
    note: str = ""


def compare(
    url: str, reference_url: str, also_ignore: tuple[str, ...] = ()
) -> tuple[int, int, int]:
    """(rows lost, rows duplicated, rows wrong) of ``url`` against the reference."""
    lost = duplicated = wrong = 0
    ours, theirs = create_engine(url), create_engine(reference_url)
    try:
        with ours.connect() as a, theirs.connect() as b:
            for table in TABLES_IN_DEPENDENCY_ORDER:
                keys = [c.name for c in table.primary_key.columns]
                columns = [
                    c.name
                    for c in table.columns
                    if c.name not in ("ingested_at", "updated_at", "created_at", "last_run_at")
                ]
                # "column" is ignored in every table, "table.column" in its table only.
                ignore = frozenset(c if "." in c else f"{table.name}.{c}" for c in also_ignore)
                columns = [c for c in columns if f"{table.name}.{c}" not in ignore]
                positions = [columns.index(k) for k in keys if k in columns]
                mine = table_rows(a, table.name, ignore)
                expected = table_rows(b, table.name, ignore)
                by_key = {tuple(r[i] for i in positions): r for r in expected}
                seen: dict[tuple[Any, ...], int] = {}
                for row in mine:
                    key = tuple(row[i] for i in positions)
                    seen[key] = seen.get(key, 0) + 1
                    if key not in by_key or by_key[key] != row:
                        wrong += 1
                duplicated += sum(n - 1 for n in seen.values())
                lost += sum(1 for key in by_key if key not in seen)
    finally:
        ours.dispose()
        theirs.dispose()
    return lost, duplicated, wrong


class Databases:
    """Fresh SQLite files or PostgreSQL databases, all removed at the end."""

    def __init__(self, postgres: str | None, folder: Path) -> None:
        self.postgres = (
            make_url(postgres).set(drivername="postgresql+psycopg") if postgres else None
        )
        self.folder = folder
        self.created: list[str] = []

    def new(self, kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{self.folder / f'{uuid.uuid4().hex[:8]}.db'}"
        assert self.postgres is not None
        name = f"bench_faults_{uuid.uuid4().hex[:10]}"
        admin = create_engine(self.postgres, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return self.postgres.set(database=name).render_as_string(hide_password=False)

    def fresh(self, kind: str) -> str:
        url = self.new(kind)
        repository = SqlRepository.from_url(url)
        repository.create_schema()
        repository.close()
        return url

    def drop_all(self) -> None:
        if self.postgres is None or not self.created:
            return
        admin = create_engine(self.postgres, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def served(faults: FaultPlan | None = None) -> Iterator[FakeSlack]:
    fake = FakeSlack.from_workspace(crash_workspace(), tokens={TOKEN: SCOPES}, faults=faults)
    with fake.serve():
        yield fake


def timed_run(
    url: str, fake: FakeSlack, channel_ids: set[str] | None = None
) -> tuple[int, float, Any]:
    calls_before = sum(fake.calls.values())
    started = time.perf_counter()
    repository = SqlRepository.from_url(url)
    try:
        report = run_pipeline(repository, pipeline_settings(fake.base_url), channel_ids=channel_ids)
    finally:
        repository.close()
    return sum(fake.calls.values()) - calls_before, time.perf_counter() - started, report


def sigkill_rows(dbs: Databases, kind: str, trials: int, reference: str) -> Row:
    row = Row(f"SIGKILL mid-run ({kind}), re-run", trials)
    with served() as fake:
        counter = PhaseCounter()
        probe_url = dbs.fresh(kind)
        repository = ProbedRepository.probed(probe_url, counter)
        settings = pipeline_settings(fake.base_url)
        run_pipeline(repository, settings, source=ProbedSource(settings.slack, counter))
        repository.close()
        base_calls, base_s, _ = timed_run(dbs.fresh(kind), fake)
        rng = random.Random(2024)
        wheres = []
        for trial in range(trials):
            url = dbs.fresh(kind)
            phase = PHASES[trial % len(PHASES)] if trial < trials * 3 // 4 else "delay"
            started = time.perf_counter()
            calls_before = sum(fake.calls.values())
            if phase == "delay":
                outcome = run_crash_child(url, fake.base_url, kill_after_s=rng.uniform(0, 2.0))
            else:
                at = rng.randint(1, counter.counts[phase])
                outcome = run_crash_child(url, fake.base_url, stop_phase=phase, stop_at=at)
            timed_run(url, fake)
            row.extra_calls += sum(fake.calls.values()) - calls_before - base_calls
            row.extra_s += time.perf_counter() - started - base_s
            wheres.append(outcome.where.split("#")[0].split(" ")[0])
            lost, duplicated, wrong = compare(url, reference)
            row.lost, row.duplicated, row.wrong = (
                row.lost + lost,
                row.duplicated + duplicated,
                row.wrong + wrong,
            )
        row.note = ", ".join(f"{w} {wheres.count(w)}" for w in sorted(set(wheres)))
    return row


def slack_fault_row(dbs: Databases, rate: float, reference: str, base: tuple[int, float]) -> Row:
    plan = FaultPlan(rate=rate, seed=7, kinds=("429", "500", "502", "503", "ratelimited"))
    row = Row(f"Slack API faults {rate:.0%} (429/5xx/ratelimited)", 1)
    with served(plan) as fake:
        url = dbs.fresh("sqlite")
        calls, seconds, runs = 0, 0.0, 0
        while runs < 30:  # the operator's (or sensor's) re-run until one succeeds
            runs += 1
            before, started = sum(fake.calls.values()), time.perf_counter()
            try:
                _, _, report = timed_run(url, fake)
                done = not report.failed_channels
            except SlackSourceError:  # the whole run failed clearly (e.g. users.list)
                done = False
            calls += sum(fake.calls.values()) - before
            seconds += time.perf_counter() - started
            if done:
                break
        reruns = runs - 1
        row.lost, row.duplicated, row.wrong = compare(url, reference)
        row.extra_calls, row.extra_s = calls - base[0], seconds - base[1]
        row.note = f"{sum(fake.faults_injected.values())} faults, {reruns} re-runs"
    return row


def llm_fault_row(rate: float, folder: Path, baseline: dict[str, Any] | None) -> tuple[Row, Any]:
    """The OpenAI extractor on every candidate of the workspace, with faults, re-run
    until nothing is retryable (as the next scheduled runs would)."""
    row = Row(f"LLM faults {rate:.0%} (429/500/bad JSON/HTML body)", 1)
    with served() as fake:
        url = f"sqlite:///{folder / f'llm{rate}.db'}"
        repository = SqlRepository.from_url(url)
        repository.create_schema()
        settings = pipeline_settings(fake.base_url)
        run_pipeline(repository, settings)  # rules first: the candidates
        with repository.engine.begin() as conn:  # every candidate fresh for the LLM
            conn.execute(text("UPDATE event_candidates SET status = 'pending', attempts = 0"))
        faults = ("rate_limit", "server_error", "invalid_json", "broken_body", "empty_answer")
        with FakeOpenAIServer(fault_rate=rate, faults=faults, seed=3, retry_after_s=0) as llm:
            llm_settings = LLMSettings(
                provider="openai",
                base_url=llm.base_url,
                api_key="sk-bench-faults",
                max_retries=2,
                timeout_s=10,
                batch_size=8,
            )
            started = time.perf_counter()
            for _ in range(steps.MAX_ATTEMPTS):
                with OpenAIExtractor(llm_settings, repository) as extractor:
                    items = _inputs(repository, settings)
                    if not items:
                        break
                    extraction = extractor.extract(items)
                    outcomes = steps._outcomes(items, extraction, steps.ExtractReport())
                    repository.save_extraction([], [], outcomes)
            seconds = time.perf_counter() - started
            result = {(c.channel_id, c.ts): c.status for c in repository.get_candidates()}
            requests = llm.completion_requests
        repository.close()
    if baseline is not None:
        row.lost = sum(1 for k, v in baseline["status"].items() if result.get(k) != v)
        row.extra_calls = requests - baseline["requests"]
        row.extra_s = seconds - baseline["seconds"]
    row.note = f"{requests} requests"
    return row, {"status": result, "requests": requests, "seconds": seconds}


def _inputs(repository: SqlRepository, settings: Any) -> list[ExtractionInput]:
    items: list[ExtractionInput] = []
    for channel in repository.get_channels():
        candidates = [
            c
            for c in repository.get_candidates(statuses=steps.RETRYABLE, channel_id=channel.id)
            if c.status is not CandidateStatus.FAILED or c.attempts < steps.MAX_ATTEMPTS
        ]
        names = steps.mention_names(repository)
        found, _ = steps._extraction_inputs(repository, settings, channel, candidates, names)
        items.extend(found)
    return items


PARTITION = {"C00000002"}


def concurrent_row(dbs: Databases, kind: str, runs: int) -> Row:
    row = Row(f"{runs} runs of one channel's partitions at once ({kind})", 1)
    with served() as fake:
        reference = dbs.fresh(kind)
        base_calls, base_s, _ = timed_run(reference, fake, PARTITION)
        url = dbs.fresh(kind)
        errors: list[str] = []
        calls: list[int] = []

        def one() -> None:
            try:
                made, _, report = timed_run(url, fake, PARTITION)
                calls.append(made)
                errors.extend(report.failed_channels)
            except Exception as exc:
                errors.append(repr(exc))

        started = time.perf_counter()
        threads = [threading.Thread(target=one) for _ in range(runs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        row.extra_s = time.perf_counter() - started - base_s
        row.extra_calls = sum(calls) - base_calls
        # attempts included: runs of one channel take turns on its extraction lock.
        row.lost, row.duplicated, row.wrong = compare(url, reference)
        row.note = f"{len(errors)} failed runs; every candidate extracted once"
    return row


def restart_row(dbs: Databases, reference: str) -> Row:
    row = Row("PostgreSQL restarted inside a write, re-run", 1)
    with served() as fake:
        url = dbs.fresh("postgres")
        fired: list[str] = []

        def probe(phase: str) -> None:
            if phase == "upsert" and not fired:
                fired.append(phase)
                subprocess.run(
                    ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )

        repository = ProbedRepository.probed(url, probe)
        settings = pipeline_settings(fake.base_url)
        started = time.perf_counter()
        try:
            report = run_pipeline(repository, settings, source=ProbedSource(settings.slack, probe))
            row.note = f"failed cleanly: {len(report.failed_channels)} channel(s)"
        except Exception as exc:
            row.note = f"failed cleanly: {type(exc).__name__}"
        finally:
            repository.close()
        timed_run(url, fake)
        row.extra_s = time.perf_counter() - started
        row.lost, row.duplicated, row.wrong = compare(url, reference)
    return row


def dagster_run_row(trials: int, folder: Path) -> Row:
    """SIGKILL of `slack-events run` (see the reliability test test_dagster_run_crash)."""
    row = Row("SIGKILL of `slack-events run` (Dagster runs, LLM, digest posted), re-run", trials)
    today = datetime.now(UTC).date()
    first_day = today - timedelta(days=RUN_DAYS)
    with run_fakes(today - timedelta(days=1)) as (slack, llm):

        def calls() -> int:
            return sum(slack.calls.values()) + llm.completion_requests

        before = calls()
        reference_site = cli_site(folder / "cli-reference", slack.base_url, llm.base_url, first_day)
        reference = run_cli(reference_site)
        base_calls = calls() - before
        wheres: list[str] = []
        duplicate_posts = 0
        for trial in range(trials):
            site = cli_site(folder / f"cli-{trial}", slack.base_url, llm.base_url, first_day)
            kind = RUN_KILL_KINDS[trial % len(RUN_KILL_KINDS)]
            point = run_kill_point(kind, 2000 + trial, reference)
            before, posts = calls(), len(slack.posts_in(DIGEST_CHANNEL))
            crashed = kill_cli(site, point, slack=slack)
            rerun = run_cli(site)
            row.extra_calls += calls() - before - base_calls
            row.extra_s += crashed.seconds + rerun.seconds - reference.seconds
            duplicate_posts += (
                len(slack.posts_in(DIGEST_CHANNEL)) - posts - reference.counts["digests"]
            )
            wheres.append(kind if crashed.killed else "finished")
            if rerun.returncode != 0:
                row.wrong += 1  # counted as a wrong outcome; the output says why
                print(rerun.output[-2000:])
            lost, duplicated, wrong = compare(site.url, reference_site.url, tuple(RUN_IGNORED))
            row.lost, row.duplicated, row.wrong = (
                row.lost + lost,
                row.duplicated + duplicated,
                row.wrong + wrong,
            )
        kills = ", ".join(f"{w} {wheres.count(w)}" for w in sorted(set(wheres)))
        row.note = f"{kills}; digests posted twice: {duplicate_posts}; Slack and LLM calls counted"
    return row


def reference_for(dbs: Databases, kind: str) -> tuple[str, int, float]:
    with served() as fake:
        url = dbs.fresh(kind)
        calls, seconds, _ = timed_run(url, fake)
    return url, calls, seconds


def render(rows: list[Row]) -> str:
    lines = [
        "| fault | trials | rows lost | rows duplicated | wrong rows | extra API calls | "
        "extra time (s) | notes |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.fault} | {r.trials} | {r.lost} | {r.duplicated} | {r.wrong} | "
            f"{r.extra_calls} | {r.extra_s:.1f} | {r.note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="SIGKILL trials on SQLite")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (adds its rows)")
    parser.add_argument("--postgres-trials", type=int, default=4)
    parser.add_argument(
        "--dagster-trials", type=int, default=8, help="SIGKILL trials of `slack-events run`"
    )
    args = parser.parse_args(argv)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        dbs = Databases(args.postgres, Path(folder))
        try:
            reference, base_calls, base_s = reference_for(dbs, "sqlite")
            rows.append(sigkill_rows(dbs, "sqlite", args.trials, reference))
            for rate in (0.0, 0.05, 0.2, 0.5):
                rows.append(slack_fault_row(dbs, rate, reference, (base_calls, base_s)))
            baseline: dict[str, Any] | None = None
            for rate in (0.0, 0.05, 0.2, 0.5):
                row, measured = llm_fault_row(rate, Path(folder), baseline)
                baseline = baseline or measured
                rows.append(row)
            rows.append(concurrent_row(dbs, "sqlite", 4))
            if args.dagster_trials:
                rows.append(dagster_run_row(args.dagster_trials, Path(folder)))
            if args.postgres:
                pg_reference, _, _ = reference_for(dbs, "postgres")
                rows.append(sigkill_rows(dbs, "postgres", args.postgres_trials, pg_reference))
                rows.append(concurrent_row(dbs, "postgres", 2))
                rows.append(restart_row(dbs, pg_reference))
        finally:
            dbs.drop_all()
    print(render(rows))
    print(
        "\nHostile inputs (slack_events_dagster_tests/reliability/test_hostile_input.py): "
        "see docs/reliability.md; each is a test with one stated outcome."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
