"""The fake Slack's Socket Mode speaks to slack_sdk's own Socket Mode client as Slack does:
``apps.connections.open``, ``hello``, ``events_api`` envelopes, acks and redelivery."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from slack_events_dagster.testing.fake_slack import DEFAULT_APP_TOKEN, DEFAULT_TOKEN, FakeSlack
from slack_events_dagster.testing.workspace_gen import generate_workspace

C1 = "C00000001"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    workspace = generate_workspace(channels=2, days=2, per_day=10, thread_fraction=0.0, seed=1)
    server = FakeSlack.from_workspace(workspace)
    with server.serve():
        yield server


class _Recorder:
    """Envelopes received; acknowledges them unless told not to."""

    def __init__(self, *, ack: bool = True) -> None:
        self.ack = ack
        self.requests: list[SocketModeRequest] = []
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def on_request(self, client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        with self.lock:
            self.requests.append(request)
        if self.ack:
            client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

    def on_message(self, client: BaseSocketModeClient, message: dict[str, Any], raw: Any) -> None:
        with self.lock:
            self.messages.append(message)


def _connect(fake: FakeSlack, recorder: _Recorder) -> SocketModeClient:
    client = SocketModeClient(
        app_token=DEFAULT_APP_TOKEN,
        web_client=WebClient(base_url=fake.base_url),
        concurrency=1,
        auto_reconnect_enabled=False,
    )
    client.socket_mode_request_listeners.append(recorder.on_request)
    client.message_listeners.append(recorder.on_message)
    client.connect()
    return client


def _wait(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_connections_open_needs_an_app_level_token(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.base_url, retry_handlers=[])
    with pytest.raises(SlackApiError) as refused:
        client.apps_connections_open(app_token=DEFAULT_TOKEN)
    assert refused.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as unknown:
        client.apps_connections_open(app_token="xapp-1-unknown")
    assert unknown.value.response["error"] == "invalid_auth"
    url = client.apps_connections_open(app_token=DEFAULT_APP_TOKEN)["url"]
    assert url.startswith("ws://127.0.0.1:") and "ticket=" in url


def test_hello_then_message_events_in_slacks_shapes(fake: FakeSlack) -> None:
    recorder = _Recorder()
    client = _connect(fake, recorder)
    try:
        _wait(lambda: any(m.get("type") == "hello" for m in recorder.messages))
        parent = fake.add_message(C1, "Release 4.2 on Friday")
        reply = fake.add_reply(C1, parent, "moved to Monday")
        fake.edit_message(C1, parent, "Release 4.2 on Monday")
        fake.delete_message(C1, reply)
        _wait(lambda: fake.unacked == 0 and len(recorder.requests) == 6)
    finally:
        client.close()
    events = [r.payload["event"] for r in recorder.requests]
    assert all(r.type == "events_api" and r.retry_attempt == 0 for r in recorder.requests)
    assert all(r.payload["type"] == "event_callback" for r in recorder.requests)
    assert [e.get("subtype") for e in events] == [
        None,  # the announcement
        None,  # the reply
        "message_changed",  # its parent's thread metadata
        "message_changed",  # the edit
        "message_deleted",  # the reply deleted
        "message_changed",  # its parent's thread metadata
    ]
    assert events[0]["ts"] == parent and events[0]["channel"] == C1
    assert events[1]["thread_ts"] == parent
    assert events[2]["message"]["reply_count"] == 1
    assert events[3]["message"]["text"] == "Release 4.2 on Monday"
    assert events[3]["previous_message"]["text"] == "Release 4.2 on Friday"
    assert events[4]["deleted_ts"] == reply
    assert "reply_count" not in events[5]["message"]
    assert fake.socket_counts["acked"] == 6


def test_unacknowledged_envelopes_are_sent_again_on_the_next_connection(fake: FakeSlack) -> None:
    silent = _Recorder(ack=False)
    first = _connect(fake, silent)
    try:
        _wait(lambda: fake.socket_counts["connections"] == 1)
        posted = [fake.add_message(C1, f"message {n}") for n in range(3)]
        _wait(lambda: len(silent.requests) == 3)
    finally:
        first.close()
    _wait(lambda: not fake._sockets)
    assert fake.unacked == 3
    recorder = _Recorder()
    second = _connect(fake, recorder)
    try:
        _wait(lambda: fake.unacked == 0)
    finally:
        second.close()
    assert [r.payload["event"]["ts"] for r in recorder.requests] == posted
    assert all(r.retry_attempt == 1 and r.retry_reason == "timeout" for r in recorder.requests)
    assert {r.envelope_id for r in recorder.requests} == {r.envelope_id for r in silent.requests}


def test_a_late_ack_means_a_redelivery_and_retries_run_out(fake: FakeSlack) -> None:
    fake.socket_ack_timeout_s = 0.1
    fake.socket_max_retries = 2
    silent = _Recorder(ack=False)
    client = _connect(fake, silent)
    try:
        _wait(lambda: fake.socket_counts["connections"] == 1)
        fake.add_message(C1, "nobody acknowledges me")
        _wait(lambda: fake.socket_counts["dropped"] == 1)
    finally:
        client.close()
    assert [r.retry_attempt for r in silent.requests] == [0, 1, 2]
    assert fake.unacked == 0


def test_changes_while_disconnected_can_be_dropped(fake: FakeSlack) -> None:
    fake.socket_drop_while_disconnected = True
    fake.enable_events()
    ts = fake.add_message(C1, "posted while the app was down")
    assert fake.socket_counts["dropped"] == 1 and fake.unacked == 0
    # ... but the history holds it: polling finds it.
    history = WebClient(base_url=fake.base_url, token=DEFAULT_TOKEN).conversations_history(
        channel=C1, limit=1
    )
    assert history["messages"][0]["ts"] == ts


def test_no_events_before_an_app_connects(fake: FakeSlack) -> None:
    fake.add_message(C1, "nobody listens")
    assert fake.unacked == 0 and not fake.socket_counts
