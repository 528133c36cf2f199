"""`slack-events listen` killed twice mid-stream: 1,000 messages, replies, edits and
deletions pushed by the fake Slack over Socket Mode (slack_sdk's own client in a real
process), SIGKILL while envelopes are in flight, restarted. In the end the store holds
what the fake holds, once each, and no watermark was ever ahead of the data (checked
all along, not only at the end). On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import text

from slack_events_dagster.domain.models import ts_sort_key
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_APP_TOKEN, DEFAULT_TOKEN, FakeSlack
from slack_events_dagster.testing.workspace_gen import generate_workspace
from slack_events_dagster_tests.helpers.pushed import (
    fake_view,
    stored_view,
    wait_for,
    watermark_promises_missing,
)

pytestmark = pytest.mark.reliability

CHANNELS = ["C00000001", "C00000002", "C00000003"]
OPERATIONS = 1000
# The listener is SIGKILLed after these operations, and started again after these.
KILLS = {300: 400, 650: 750}
# Operations posted at once just before each kill: envelopes in flight when it dies.
BURST = 30


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    workspace = generate_workspace(channels=3, days=2, per_day=20, seed=5)
    server = FakeSlack.from_workspace(workspace)
    with server.serve():
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_url")
        return
    url = f"sqlite:///{tmp_path / 'listener.db'}"
    repository = SqlRepository.from_url(url)
    repository.create_schema()
    repository.close()
    yield url


def _config(folder: Path, fake: FakeSlack, database_url: str) -> Path:
    settings = {
        "database": {"url": database_url},
        "slack": {
            "source": "api",
            "base_url": fake.base_url,
            "token": DEFAULT_TOKEN,
            "app_token": DEFAULT_APP_TOKEN,
            "workspace_url": "https://fake-workspace.slack.com/",
            "max_retries": 5,
            "retry_backoff_s": 0.05,
            "timeout_s": 10,
        },
    }
    config = folder / "settings.yaml"
    config.write_text(json.dumps(settings), encoding="utf-8")  # JSON is YAML
    return config


def _start(folder: Path, config: Path, log: IO[bytes]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_EVENTS_", "DAGSTER_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "slack_events_dagster.cli", "--config", str(config), "listen"],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


class _WatermarkWatch(threading.Thread):
    """Checks every channel's watermark against the data while the test runs."""

    def __init__(self, repository: SqlRepository, fake: FakeSlack) -> None:
        super().__init__(name="watermark-watch", daemon=True)
        self.repository = repository
        self.fake = fake
        self.stop = threading.Event()
        self.checks = 0
        self.violations: list[str] = []

    def run(self) -> None:
        while not self.stop.wait(0.1):
            for channel_id in CHANNELS:
                missing = watermark_promises_missing(self.repository, self.fake, channel_id)
                if missing:
                    self.violations.append(f"{channel_id}: {missing[:5]}")
            self.checks += 1


def _operate(fake: FakeSlack, rng: random.Random, mine: dict[str, list[str]], n: int) -> str:
    """One change to the workspace: a message, a reply, an edit or a deletion."""
    channel = rng.choice(CHANNELS)
    ours = mine[channel]
    roll = rng.random()
    if roll < 0.2 and ours:
        parent = rng.choice(ours[-20:])
        if fake.message(channel, parent).get("thread_ts") in (None, parent):
            ours.append(fake.add_reply(channel, parent, f"reply {n}: moved to {n % 28 + 1} May"))
            return "reply"
    if roll < 0.35 and ours:
        fake.edit_message(channel, rng.choice(ours), f"edit {n}: release {n} on Friday")
        return "edit"
    if roll < 0.45 and ours:
        victim = ours.pop(rng.randrange(len(ours)))
        fake.delete_message(channel, victim)
        # A deleted reply is gone; a deleted parent with replies stays as a tombstone.
        return "delete"
    ours.append(fake.add_message(channel, f"message {n}: deploy {n} at 14:00"))
    return "message"


def test_listener_killed_twice_mid_stream_loses_and_duplicates_nothing(
    fake: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, fake, database_url)
    reader = SqlRepository.from_url(database_url)
    watch = _WatermarkWatch(reader, fake)
    rng = random.Random(18)
    mine: dict[str, list[str]] = {c: [] for c in CHANNELS}
    kinds: dict[str, int] = {}
    kills = 0
    in_flight: list[int] = []
    with (tmp_path / "listener.log").open("wb") as log:
        process = _start(tmp_path, config, log)
        try:
            wait_for(lambda: fake.socket_counts["connections"] >= 1, 90, "the first connection")
            watch.start()
            restart_at: int | None = None
            acked_at_start = 0
            for n in range(OPERATIONS):
                if n + BURST in KILLS:
                    # Kill a listener at work: connected, its gap filled, storing what
                    # waited; then a burst it cannot have acknowledged when it dies.
                    wait_for(
                        lambda: fake.socket_counts["connections"] >= kills + 1,
                        90,
                        "the listener to connect",
                    )
                    wait_for(
                        lambda: fake.socket_counts["acked"] >= acked_at_start + 20,
                        90,
                        "the listener to acknowledge envelopes",
                    )
                if n in KILLS:
                    in_flight.append(fake.unacked)
                    _kill(process)
                    kills += 1
                    restart_at = KILLS[n]
                if n == restart_at:
                    acked_at_start = fake.socket_counts["acked"]
                    process = _start(tmp_path, config, log)
                    restart_at = None
                kind = _operate(fake, rng, mine, n)
                kinds[kind] = kinds.get(kind, 0) + 1
                if not any(0 <= k - n <= BURST for k in KILLS):
                    time.sleep(0.003)

            def caught_up() -> bool:
                if fake.unacked:
                    return False
                return all(stored_view(reader, c)[0] == fake_view(fake, c)[0] for c in CHANNELS)

            wait_for(caught_up, 120, "the store to hold what the fake holds")
        finally:
            watch.stop.set()
            watch.join(30)
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
    output = (tmp_path / "listener.log").read_text(encoding="utf-8", errors="replace")
    assert kills == 2 and fake.socket_counts["connections"] >= 3, output[-3000:]
    assert output.count("Socket Mode connected") >= 3, output[-3000:]
    # Each kill left envelopes unacknowledged: they came again after the restart.
    assert all(n > 0 for n in in_flight) and fake.socket_counts["redelivered"] > 0
    assert "Traceback" not in output, output[-3000:]
    assert DEFAULT_APP_TOKEN not in output and DEFAULT_TOKEN not in output
    assert watch.checks > 10 and watch.violations == [], watch.violations[:5]

    for channel_id in CHANNELS:
        held, tombstones = fake_view(fake, channel_id)
        stored, deleted = stored_view(reader, channel_id)
        assert stored == held, channel_id
        assert tombstones <= deleted
        assert watermark_promises_missing(reader, fake, channel_id) == []
        # The watermark caught up with the channel's newest message.
        newest = max((ts for ts, v in held.items() if v[1] in (None, ts)), key=ts_sort_key)
        watermark = reader.get_watermark(channel_id)
        assert watermark is not None and ts_sort_key(watermark) >= ts_sort_key(newest)
    with reader.engine.connect() as conn:
        rows, keys = conn.execute(
            text("SELECT count(*), count(DISTINCT channel_id || ':' || ts) FROM raw_slack_messages")
        ).one()
    assert rows == keys
    reader.close()
    # Envelopes in flight when the listener died came again; storing them changed nothing.
    figures = {
        "operations": kinds,
        "socket": dict(fake.socket_counts),
        "calls": dict(fake.calls),
        "watermark_checks": watch.checks,
        "stored_rows": rows,
        "unacked_at_kills": in_flight,
    }
    print(json.dumps(figures, sort_keys=True))
