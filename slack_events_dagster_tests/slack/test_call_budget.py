"""The Web API source under an app's limits: the fake Slack enforces them as Slack does
for an unlisted app, and the shared budget in the database keeps every process under
them (real processes, real slack_sdk, real SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_events_dagster.domain.budget import PACE_MARGIN
from slack_events_dagster.domain.models import SlackChannel
from slack_events_dagster.slack.budget import CallBudget
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack
from slack_events_dagster.testing.workspace_gen import generate_workspace
from slack_events_dagster_tests.helpers.paths import REPO_ROOT
from slack_events_dagster_tests.helpers.processes import stop_process
from slack_events_dagster_tests.helpers.slack_api import slack_settings, top_level_count

Serve = Callable[[FakeSlack], str]
CHANNEL = SlackChannel(id="C00000001", name="general")


class VirtualClock:
    """A clock the budget reads and its waits advance: no test waits for real time."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, tzinfo=UTC)
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_the_fake_caps_objects_per_call_like_an_unlisted_app(serve: Serve) -> None:
    workspace = generate_workspace(channels=1, days=1, per_day=40, thread_fraction=0.0, seed=3)
    fake = FakeSlack.from_workspace(workspace, object_cap=15)
    client = WebClient(base_url=serve(fake), token=DEFAULT_TOKEN)
    page = client.conversations_history(channel=CHANNEL.id, limit=1000)
    assert len(page["messages"]) == 15 and page["has_more"] is True


def test_unlisted_profile_paces_calls_and_asks_for_15(
    serve: Serve, sqlite_repository: SqlRepository
) -> None:
    workspace = generate_workspace(channels=1, days=2, per_day=40, thread_fraction=0.1, seed=5)
    fake = FakeSlack.from_workspace(workspace, object_cap=15)
    settings = slack_settings(serve(fake), app_profile="unlisted", page_size=1000)
    clock = VirtualClock()
    budget = CallBudget.from_settings(sqlite_repository, settings, clock=clock, sleep=clock.sleep)
    assert budget is not None
    source = WebApiSource(settings, budget=budget)
    pages = list(source.fetch(CHANNEL, None, None, {}))
    history = [m for p in pages if p.kind == "history" for m in p]
    assert len(history) == top_level_count(workspace, CHANNEL.id)
    assert all(len(p) <= 15 for p in pages)
    history_calls = source.calls["conversations.history"]
    assert history_calls == -(-len(history) // 15)
    # Each history call after the first waited for its minute (and a little more); the
    # replies calls drew from their own bucket.
    minute = 60 / PACE_MARGIN
    assert budget.waited["conversations.history"] == pytest.approx(
        (history_calls - 1) * minute, rel=1e-3
    )
    replies_calls = source.calls["conversations.replies"]
    assert replies_calls > 1
    assert clock.now - datetime(2026, 3, 2, 9, tzinfo=UTC) >= timedelta(
        seconds=(max(history_calls, replies_calls) - 1) * minute * 0.999
    )
    assert fake.calls == source.calls  # every call went through the budget; no 429


def test_internal_profile_is_unpaced(serve: Serve, sqlite_repository: SqlRepository) -> None:
    fake = FakeSlack.from_workspace(generate_workspace(channels=1, days=1, per_day=5))
    settings = slack_settings(serve(fake))
    assert CallBudget.from_settings(sqlite_repository, settings) is None


def _pollers(
    database_url: str, base_url: str, *, calls: int, per_minute: float, budget: bool
) -> list[int]:
    """Two real processes polling at once; the history calls each made."""
    command = [
        sys.executable,
        "-m",
        "slack_events_dagster_tests.helpers.budget_poller",
        "--database-url",
        database_url,
        "--base-url",
        base_url,
        "--channel",
        CHANNEL.id,
        "--calls",
        str(calls),
        "--calls-per-minute",
        str(per_minute),
    ] + ([] if budget else ["--no-budget"])
    processes = [
        subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line == "READY", process.stderr.read() if process.stderr else line
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        made = []
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            made.append(int(out.split()[-1]))
        return made
    finally:
        for process in processes:
            if process.poll() is None:
                stop_process(process)


# The fake allows 3 history calls in any 3 s (60 a minute); both processes share a budget
# of 48 a minute. The margin is for this test's scale only: at one call a second, a call
# that a loaded machine delivers 100 ms late lands in the next window (a real unlisted
# app's minute absorbs that within the budget's own 3 % margin).
WINDOW_S, WINDOW_CALLS, PER_MINUTE, CALLS = 3.0, 3, 48.0, 4


def _limited_fake() -> FakeSlack:
    workspace = generate_workspace(channels=1, days=1, per_day=20, seed=2)
    return FakeSlack.from_workspace(
        workspace,
        rate_limits=True,
        rate_limit_window_s=WINDOW_S,
        rate_limit_overrides={"conversations.history": WINDOW_CALLS},
        object_cap=15,
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_processes_share_the_budget_and_get_no_429(
    serve: Serve, backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "postgres":
        database_url = request.getfixturevalue("postgres_url")
    else:
        database_url = f"sqlite:///{tmp_path / 'budget.db'}"
        SqlRepository.from_url(database_url).create_schema()
    fake = _limited_fake()
    made = _pollers(database_url, serve(fake), calls=CALLS, per_minute=PER_MINUTE, budget=True)
    assert made == [CALLS, CALLS]
    assert fake.calls["conversations.history"] == 2 * CALLS
    assert fake.refused["conversations.history"] == 0


def test_without_the_shared_budget_two_processes_get_429s(serve: Serve, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'budget.db'}"
    SqlRepository.from_url(database_url).create_schema()
    fake = _limited_fake()
    made = _pollers(database_url, serve(fake), calls=CALLS, per_minute=PER_MINUTE, budget=False)
    assert made == [CALLS, CALLS]  # they got there by waiting out Retry-After
    assert fake.refused["conversations.history"] > 0
    assert fake.calls["conversations.history"] == 2 * CALLS + fake.refused["conversations.history"]


def test_the_fake_command_line_serves_an_unlisted_apps_limits() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "slack_events_dagster.testing.fake_slack",
            "--generate",
            "--channels=1",
            "--days=1",
            "--per-day=40",
            "--port=0",
            "--unlisted",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        base_url = line.split(" at ")[1].split(" ")[0]
        client = WebClient(base_url=base_url, token=DEFAULT_TOKEN, retry_handlers=[])
        page = client.conversations_history(channel=CHANNEL.id, limit=1000)
        assert len(page["messages"]) == 15
        with pytest.raises(SlackApiError) as refused:
            client.conversations_history(channel=CHANNEL.id, limit=1000)
        assert refused.value.response.status_code == 429
        assert int(refused.value.response.headers["Retry-After"]) > 1
    finally:
        stop_process(process)
