"""Stopping an ingest run at a chosen point: a repository and a source that call a probe
at named phases (inside the write transaction, just before commit; after a page
arrives), and the crash driver run in a child process that is SIGKILLed there or after
a delay."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.engine import create_db_engine
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster_tests.helpers.paths import REPO_ROOT

PHASES = ("fetch", "upsert", "watermark", "score", "extraction")
_OPERATION_PHASES = {
    "upsert_candidates": "score",
    "set_candidate_status": "extraction",
    "upsert_events": "extraction",
    "delete_events": "extraction",
}


Probe = Callable[[str], None]


class ProbedRepository(SqlRepository):
    """Calls ``probe(phase)`` inside each write transaction, just before it commits."""

    def __init__(self, engine: Engine, probe: Probe) -> None:
        super().__init__(engine)
        self.probe = probe
        self._writing_watermark = False

    @classmethod
    def probed(cls, url: str, probe: Probe) -> ProbedRepository:
        return cls(create_db_engine(url), probe)

    def upsert_messages(self, messages: Any, *, watermarks: dict[str, str] | None = None) -> Any:
        self._writing_watermark = bool(watermarks)
        try:
            return super().upsert_messages(messages, watermarks=watermarks)
        finally:
            self._writing_watermark = False

    @contextmanager
    def _transaction(self, operation: str) -> Iterator[Connection]:
        with super()._transaction(operation) as conn:
            yield conn
            if operation == "upsert_messages":
                self.probe("watermark" if self._writing_watermark else "upsert")
            elif operation in _OPERATION_PHASES:
                self.probe(_OPERATION_PHASES[operation])


class ProbedSource(WebApiSource):
    """A Web API source calling ``probe("fetch")`` after each page arrives."""

    def __init__(self, settings: SlackSettings, probe: Probe) -> None:
        super().__init__(settings)
        self.probe = probe

    def fetch(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for page in super().fetch(*args, **kwargs):
            self.probe("fetch")
            yield page


class PhaseCounter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = dict.fromkeys(PHASES, 0)

    def __call__(self, phase: str) -> None:
        self.counts[phase] += 1


@dataclass
class CrashOutcome:
    killed: bool
    # The phase and occurrence the child was stopped at, or "delay" / "finished".
    where: str
    output: str


def run_crash_child(
    database_url: str,
    base_url: str,
    *,
    stop_phase: str | None = None,
    stop_at: int = 0,
    kill_after_s: float | None = None,
    page_size: int = 40,
    channel_ids: set[str] | None = None,
    timeout_s: float = 60.0,
) -> CrashOutcome:
    """Run ``crash_driver`` in a child process and SIGKILL it at the chosen point.

    With ``stop_phase`` the child stops (sleeping, inside the transaction when the phase
    is a write) at that phase's ``stop_at``-th occurrence and is killed there; with
    ``kill_after_s`` it is killed that long after it reports it has started.
    """
    command = [
        sys.executable,
        "-m",
        "slack_events_dagster_tests.helpers.crash_driver",
        "--database-url",
        database_url,
        "--base-url",
        base_url,
        "--page-size",
        str(page_size),
    ]
    if stop_phase is not None:
        command += ["--stop-phase", stop_phase, "--stop-at", str(stop_at)]
    for channel_id in sorted(channel_ids or ()):
        command += ["--channel", channel_id]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=REPO_ROOT,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    kill_at: float | None = None
    where = "finished"
    try:
        while True:
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"crash driver did not reach its point: {lines[-5:]}")
            if kill_at is not None and now >= kill_at:
                where = f"delay {kill_after_s:.3f}s"
                break
            wait = 0.2 if kill_at is None else max(0.0, min(0.2, kill_at - now))
            ready, _, _ = select.select([child.stdout], [], [], wait)
            if not ready:
                continue
            line = child.stdout.readline()
            if not line:
                child.wait(timeout=30)  # the child finished before the kill
                break
            lines.append(line.rstrip())
            if line.startswith("STARTED") and kill_after_s is not None:
                kill_at = time.monotonic() + kill_after_s
            if line.startswith("STOPPED"):
                where = line.split(maxsplit=1)[1].strip()
                break
        killed = child.poll() is None
        if killed:
            child.kill()  # SIGKILL: no cleanup, no rollback, no atexit
        child.wait(timeout=10)
        return CrashOutcome(killed=killed, where=where, output="\n".join(lines))
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        child.stdout.close()
