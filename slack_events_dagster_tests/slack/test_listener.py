"""The Socket Mode listener: slack_sdk's own Socket Mode client against the fake Slack,
storing into a real SQLite file through the repository the poller uses."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from slack_events_dagster.settings import DatabaseSettings, SlackSettings
from slack_events_dagster.slack.listener import ListenerConfigError, SocketModeListener
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_APP_TOKEN, DEFAULT_TOKEN, FakeSlack
from slack_events_dagster.testing.workspace_gen import generate_workspace
from slack_events_dagster_tests.helpers.pushed import (
    fake_view,
    running,
    stored_view,
    wait_for,
    watermark_promises_missing,
)
from slack_events_dagster_tests.helpers.slack_api import slack_settings

CHANNELS = ["C00000001", "C00000002"]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    workspace = generate_workspace(channels=2, days=3, per_day=15, seed=7)
    server = FakeSlack.from_workspace(workspace)
    with server.serve():
        yield server


def _settings(fake: FakeSlack, **overrides: object) -> SlackSettings:
    values: dict[str, object] = {
        "app_token": DEFAULT_APP_TOKEN,
        "workspace_url": "https://fake-workspace.slack.com/",
    }
    return slack_settings(fake.base_url, **{**values, **overrides})


def _assert_same(fake: FakeSlack, repository: SqlRepository) -> None:
    for channel_id in CHANNELS:
        held, tombstones = fake_view(fake, channel_id)
        stored, deleted = stored_view(repository, channel_id)
        assert stored == held, channel_id
        assert tombstones <= deleted, channel_id


def test_pushed_messages_are_stored_without_history_calls(
    fake: FakeSlack, sqlite_repository: SqlRepository
) -> None:
    listener = SocketModeListener(_settings(fake), sqlite_repository)
    with running(listener):
        wait_for(lambda: listener.contiguous_channels() == set(CHANNELS), what="the first fill")
        fake.reset_counts()
        channel = CHANNELS[0]
        announced = fake.add_message(channel, "Release 4.2 ships Friday 14:00 UTC")
        reply = fake.add_reply(channel, announced, "moved to Monday 10:00")
        fake.edit_message(channel, announced, "Release 4.2 ships Monday 10:00 UTC")
        gone = fake.add_message(channel, "typo, ignore")
        fake.delete_message(channel, gone)
        last = fake.add_message(CHANNELS[1], "all-hands Thursday 16:00")
        wait_for(lambda: fake.unacked == 0, what="every envelope acknowledged")
    assert fake.calls["conversations.history"] == 0
    assert fake.calls["conversations.replies"] == 0
    _assert_same(fake, sqlite_repository)
    # New messages of a contiguous channel moved its watermark with them.
    assert sqlite_repository.get_watermark(channel) == gone
    assert sqlite_repository.get_watermark(CHANNELS[1]) == last
    assert reply in {m.ts for m in sqlite_repository.get_thread_replies(channel, announced)}
    for channel_id in CHANNELS:
        assert watermark_promises_missing(sqlite_repository, fake, channel_id) == []


def test_a_gap_while_down_is_filled_from_the_watermark(
    fake: FakeSlack, sqlite_repository: SqlRepository
) -> None:
    settings = _settings(fake)
    with running(SocketModeListener(settings, sqlite_repository)) as _:
        wait_for(lambda: fake.socket_counts["connections"] == 1)
        first = fake.add_message(CHANNELS[0], "before the outage")
        wait_for(lambda: fake.unacked == 0)
    # Down for long: Slack's retries ran out, these events are lost.
    fake.socket_drop_while_disconnected = True
    missed = [fake.add_message(CHANNELS[0], f"while down {n}") for n in range(5)]
    fake.edit_message(CHANNELS[0], first, "before the outage (edited while down)")
    fake.delete_message(CHANNELS[0], missed[2])
    assert fake.socket_counts["dropped"] == 7
    listener = SocketModeListener(settings, sqlite_repository)
    with running(listener):
        wait_for(lambda: listener.contiguous_channels() == set(CHANNELS), what="the gap fill")
        after = fake.add_message(CHANNELS[0], "after the restart")
        wait_for(lambda: fake.unacked == 0)
    _assert_same(fake, sqlite_repository)
    assert sqlite_repository.get_watermark(CHANNELS[0]) == after
    assert watermark_promises_missing(sqlite_repository, fake, CHANNELS[0]) == []
    assert missed[2] not in {m.ts for m in sqlite_repository.get_messages(CHANNELS[0])}


def test_without_an_app_token_the_listener_says_which_setting(
    fake: FakeSlack, sqlite_repository: SqlRepository
) -> None:
    with pytest.raises(ListenerConfigError, match=r"slack\.app_token is empty"):
        SocketModeListener(_settings(fake, app_token=""), sqlite_repository)


def test_a_refused_app_token_stops_the_listener_with_the_fix(
    fake: FakeSlack, sqlite_repository: SqlRepository
) -> None:
    wrong = "xapp-1-A0-not-a-real-token-f00d"
    listener = SocketModeListener(_settings(fake, app_token=wrong), sqlite_repository)
    with pytest.raises(ListenerConfigError) as refused, running(listener):
        pass
    message = str(refused.value)
    assert "slack.app_token (invalid_auth)" in message
    assert "connections:write" in message
    assert "not-a-real-token" not in message


def test_tokens_stay_out_of_the_logs_even_at_debug(
    fake: FakeSlack, sqlite_repository: SqlRepository, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    listener = SocketModeListener(_settings(fake), sqlite_repository)
    with running(listener):
        wait_for(lambda: listener.contiguous_channels() == set(CHANNELS))
        fake.add_message(CHANNELS[0], "a pushed message")
        wait_for(lambda: fake.unacked == 0)
    assert "a pushed message" in caplog.text  # debug logging was on
    assert DEFAULT_APP_TOKEN not in caplog.text
    assert DEFAULT_TOKEN not in caplog.text


def test_slacks_refresh_disconnect_mid_stream_loses_nothing(
    fake: FakeSlack, sqlite_repository: SqlRepository
) -> None:
    listener = SocketModeListener(_settings(fake), sqlite_repository)
    with running(listener):
        wait_for(lambda: listener.contiguous_channels() == set(CHANNELS))
        for n in range(60):
            fake.add_message(CHANNELS[n % 2], f"before the refresh {n}")
        # Slack asks for a new connection every few hours ("refresh_requested").
        fake.disconnect_sockets()
        for n in range(60):
            fake.add_message(CHANNELS[n % 2], f"after the refresh {n}")
        wait_for(lambda: fake.socket_counts["connections"] == 2, what="the new connection")
        wait_for(lambda: fake.unacked == 0 and listener.contiguous_channels() == set(CHANNELS))
    assert listener.counts.events["hello"] == 2
    _assert_same(fake, sqlite_repository)
    for channel_id in CHANNELS:
        assert watermark_promises_missing(sqlite_repository, fake, channel_id) == []


def test_a_write_that_fails_is_not_acknowledged_and_comes_again(
    fake: FakeSlack, tmp_path: Path
) -> None:
    database = DatabaseSettings(path=tmp_path / "locked.db", sqlite_busy_timeout_s=0.2)
    repository = SqlRepository.from_settings(database)
    repository.create_schema()
    fake.socket_ack_timeout_s = 1.0
    listener = SocketModeListener(_settings(fake), repository)
    try:
        with running(listener):
            wait_for(lambda: listener.contiguous_channels() == set(CHANNELS))
            # Another writer holds SQLite's write lock past the listener's busy timeout.
            blocker = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
            blocker.execute("BEGIN IMMEDIATE")
            ts = fake.add_message(CHANNELS[0], "stored only after the lock is gone")
            wait_for(lambda: fake.socket_counts["sent"] >= 1)
            time.sleep(0.6)
            assert fake.unacked == 1  # the write failed: no ack
            assert CHANNELS[0] not in listener.contiguous_channels()
            blocker.execute("ROLLBACK")
            blocker.close()
            wait_for(lambda: fake.unacked == 0, what="the redelivery stored")
            wait_for(lambda: listener.contiguous_channels() == set(CHANNELS), what="a refill")
        assert fake.socket_counts["redelivered"] >= 1
        assert ts in {m.ts for m in repository.get_messages(CHANNELS[0])}
        _assert_same(fake, repository)
        assert watermark_promises_missing(repository, fake, CHANNELS[0]) == []
    finally:
        repository.close()


def test_the_bot_needs_only_read_scopes_and_the_app_token_connections_write(
    sqlite_repository: SqlRepository,
) -> None:
    workspace = generate_workspace(channels=2, days=1, per_day=5, seed=3)
    server = FakeSlack.from_workspace(
        workspace,
        tokens={
            DEFAULT_TOKEN: {"channels:history", "channels:read"},
            DEFAULT_APP_TOKEN: {"connections:write"},
        },
    )
    with server.serve():
        listener = SocketModeListener(_settings(server), sqlite_repository)
        with running(listener):
            wait_for(lambda: listener.contiguous_channels() == set(CHANNELS))
            server.add_message(CHANNELS[1], "pushed with least privilege")
            wait_for(lambda: server.unacked == 0)
        _assert_same(server, sqlite_repository)
