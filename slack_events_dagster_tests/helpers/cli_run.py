"""`slack-events run` (full Dagster runs on a persistent instance, the OpenAI extractor on
the fake server, the digest posted to the fake Slack) in a child process, SIGKILLed when
its database shows a given progress, inside a digest post, or after a delay.

The product's main job as a user starts it: a config file, a persistent Dagster
instance in DAGSTER_HOME, the fake Slack (with a digest channel, not ingested) and the
fake OpenAI server. The workspace ends yesterday and the run's default range ends
today, so the last day goes through the incremental path and moves watermarks."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from slack_events_dagster.testing.fake_openai import FakeOpenAIServer
from slack_events_dagster.testing.fake_slack import FakeSlack
from slack_events_dagster.testing.workspace_gen import GeneratedWorkspace, generate_workspace

RUN_CHANNELS, RUN_DAYS = 3, 3
RUN_TOKEN = "xoxb-dagster-run-token"
RUN_LLM_KEY = "sk-dagster-run-key"
DIGEST_CHANNEL = "C0DIGESTS1"
RUN_SCOPES = ["channels:history", "channels:read", "users:read", "chat:write"]
# Progress the parent reads from the child's SQLite file (one count each), in the order
# a run reaches them for the first time.
RUN_PROGRESS: dict[str, str] = {
    "messages": "SELECT count(*) FROM raw_slack_messages",
    "watermarks": "SELECT count(*) FROM channel_watermarks",
    "candidates": "SELECT count(*) FROM event_candidates",
    "llm_calls": "SELECT count(*) FROM llm_calls",
    "events": "SELECT count(*) FROM events",
    "digests": "SELECT count(*) FROM digests",
    "in_progress": "SELECT count(*) FROM event_candidates WHERE status = 'in_progress'",
}


# Columns that differ between two runs for reasons other than the data: how long a model
# call took, and the ts Slack gave the posted digest (a new message per run).
RUN_IGNORED = frozenset({"llm_calls.latency_ms", "digests.posted_ts", "digests.posted_at"})


def run_workspace(end: date, seed: int = 11) -> GeneratedWorkspace:
    return generate_workspace(
        channels=RUN_CHANNELS,
        days=RUN_DAYS,
        per_day=60,
        thread_fraction=0.25,
        seed=seed,
        end=end,
    )


class PostWatchingSlack(FakeSlack):
    """The fake Slack calling ``on_post(body)`` after ``chat.postMessage`` stored the
    message and before it answers: a client killed there never learns the ts."""

    on_post: Callable[[dict[str, Any]], None] | None = None

    def _api_chat_postMessage(
        self, params: dict[str, Any], scopes: frozenset[str]
    ) -> dict[str, Any]:
        body = super()._api_chat_postMessage(params, scopes)
        if self.on_post is not None:
            self.on_post(body)
        return body

    def posts_in(self, channel_id: str) -> list[dict[str, Any]]:
        return [p for p in self.posted if p["channel"] == channel_id]


@contextmanager
def run_fakes(end: date) -> Iterator[tuple[PostWatchingSlack, FakeOpenAIServer]]:
    """The fake Slack serving :func:`run_workspace` plus a digest channel, and the fake
    OpenAI server (a little latency, so extraction takes a moment a kill can hit)."""
    workspace = run_workspace(end)
    fake = PostWatchingSlack(tokens={RUN_TOKEN: RUN_SCOPES})
    fake.load(workspace.channels, workspace.users, workspace.messages.items())
    fake.add_channel(
        {"id": DIGEST_CHANNEL, "name": "digests", "created": 0, "members": [], "is_archived": False}
    )
    with fake.serve(), FakeOpenAIServer(latency_s=0.05, require_api_key=RUN_LLM_KEY) as llm:
        yield fake, llm


@dataclass
class CliSite:
    """One installation: config file, SQLite database, DAGSTER_HOME and output folder."""

    folder: Path
    config: Path
    database: Path
    dagster_home: Path

    @property
    def url(self) -> str:
        return f"sqlite:///{self.database}"


def cli_site(folder: Path, slack_url: str, llm_url: str, first_day: date) -> CliSite:
    """Write the config of a `slack-events run` over the run workspace into ``folder``.

    Secrets are in the file, as a user may write them; the digest is posted to the
    digest channel, which is not ingested.
    """
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    out = folder / "out"
    settings = {
        "database": {"type": "sqlite", "path": str(folder / "app.db")},
        "slack": {
            "source": "api",
            "base_url": slack_url,
            "token": RUN_TOKEN,
            "page_size": 40,
            "max_retries": 3,
            "retry_backoff_s": 0.01,
            "timeout_s": 10,
            "workspace_url": "https://fake-workspace.slack.com/",
            "exclude_channels": ["digests"],
        },
        "llm": {"provider": "openai", "base_url": llm_url, "api_key": RUN_LLM_KEY, "batch_size": 2},
        "pipeline": {
            "start_date": first_day.isoformat(),
            "timezone": "UTC",
            "candidate_threshold": 0.4,
        },
        "digest": {
            "post": True,
            "channel": DIGEST_CHANNEL,
            # Today's digest is as of min(digest.time, now): at midnight, two runs a
            # minute apart render the same digest ("changed since" names the moment).
            "time": "00:00",
            "output_dir": str(out),
            "calendar_path": str(out / "events.ics"),
        },
    }
    config = folder / "settings.yaml"
    config.write_text(json.dumps(settings, indent=2), encoding="utf-8")  # JSON is YAML
    return CliSite(folder, config, folder / "app.db", home)


def _cli_popen(site: CliSite, log: Any) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_EVENTS_", "DAGSTER_"))}
    env.update({"DAGSTER_HOME": str(site.dagster_home), "PYTHONUNBUFFERED": "1"})
    return subprocess.Popen(
        [sys.executable, "-m", "slack_events_dagster.cli", "--config", str(site.config), "run"],
        cwd=site.folder,  # no stray config.yaml or .env from the repository
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, killed as a whole
    )


@dataclass
class CliOutcome:
    returncode: int | None
    output: str
    seconds: float
    killed: bool = False
    # What the kill was waiting for ("messages>=180", "post#2", "delay 1.20s") or "finished".
    where: str = "finished"
    counts: dict[str, int] = field(default_factory=dict)


def run_cli(site: CliSite, timeout_s: float = 180.0) -> CliOutcome:
    """`slack-events run` to completion."""
    return kill_cli(site, None, timeout_s=timeout_s)


def progress(database: Path) -> dict[str, int]:
    """The child's progress counts; zeros before the schema exists."""
    counts = dict.fromkeys(RUN_PROGRESS, 0)
    if not database.exists():
        return counts
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
        try:
            for name, query in RUN_PROGRESS.items():
                counts[name] = int(conn.execute(query).fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:  # not migrated yet
        pass
    return counts


@dataclass(frozen=True)
class KillPoint:
    """Where to SIGKILL the child: when ``progress()[what]`` reaches ``at``; on the
    ``at``-th digest post (what="post": inside Slack's chat.postMessage, before the
    answer); or ``at`` seconds after it started (what="delay")."""

    what: str
    at: float

    def __str__(self) -> str:
        if self.what == "delay":
            return f"delay {self.at:.2f}s"
        if self.what == "post":
            return f"post#{int(self.at)}"
        return f"{self.what}>={int(self.at)}"


# The kinds of kill points, in the order a run reaches them.
RUN_KILL_KINDS = (
    "delay",
    "messages",
    "watermarks",
    "candidates",
    "llm_calls",
    "events",
    "digests",
    "post",
)


def run_kill_point(kind: str, seed: int, reference: CliOutcome) -> KillPoint:
    """A seeded point of ``kind`` within what the uninterrupted ``reference`` run did."""
    rng = random.Random(seed)
    if kind == "delay":
        return KillPoint("delay", rng.uniform(0.0, reference.seconds))
    if kind == "post":
        return KillPoint("post", rng.randint(1, reference.counts["digests"]))
    return KillPoint(kind, rng.randint(1, reference.counts[kind]))


def _reached(point: KillPoint, site: CliSite, elapsed: float) -> bool:
    if point.what == "delay":
        return elapsed >= point.at
    if point.what == "post":
        return False  # the fake Slack's on_post kills
    return progress(site.database)[point.what] >= point.at


def kill_cli(
    site: CliSite,
    point: KillPoint | None,
    *,
    slack: PostWatchingSlack | None = None,
    timeout_s: float = 180.0,
    poll_s: float = 0.01,
) -> CliOutcome:
    """Run `slack-events run` in a child process and SIGKILL it (with its process group)
    at ``point``; without one, let it finish."""
    log_path = site.folder / f"cli-{time.monotonic_ns()}.log"
    started = time.monotonic()
    killed = threading.Event()
    with log_path.open("wb") as log:
        child = _cli_popen(site, log)

        def kill() -> None:
            if child.poll() is None:
                killed.set()
                os.killpg(child.pid, signal.SIGKILL)  # no cleanup, no rollback, no atexit

        posts = 0

        def on_post(body: dict[str, Any]) -> None:
            nonlocal posts
            if body.get("channel") != DIGEST_CHANNEL:
                return
            posts += 1
            if point is not None and point.what == "post" and posts == point.at:
                kill()

        if slack is not None:
            slack.on_post = on_post
        try:
            deadline = started + timeout_s
            while child.poll() is None:
                now = time.monotonic()
                if now > deadline:
                    raise TimeoutError(f"slack-events run did not finish in {timeout_s}s")
                if point is not None and _reached(point, site, now - started):
                    kill()
                time.sleep(poll_s)
        finally:
            if slack is not None:
                slack.on_post = None
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
    return CliOutcome(
        returncode=child.returncode,
        output=log_path.read_text(encoding="utf-8", errors="replace"),
        seconds=time.monotonic() - started,
        killed=killed.is_set(),
        where=str(point) if killed.is_set() and point is not None else "finished",
        counts=progress(site.database),
    )
