"""The fake Slack server speaks the Web API as slack_sdk expects it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack, FaultPlan
from slack_events_dagster.testing.workspace_gen import generate_workspace
from slack_events_dagster_tests.helpers.processes import stop_process

C1 = "C00000001"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    workspace = generate_workspace(channels=2, days=2, per_day=30, thread_fraction=0.0, seed=1)
    server = FakeSlack.from_workspace(
        workspace,
        tokens={
            DEFAULT_TOKEN: {"channels:history", "channels:read", "users:read", "chat:write"},
            "xoxb-no-scopes": set(),
        },
    )
    with server.serve():
        yield server


def _client(fake: FakeSlack, token: str = DEFAULT_TOKEN) -> WebClient:
    return WebClient(base_url=fake.base_url, token=token, retry_handlers=[])


def _history_ts(fake: FakeSlack) -> list[str]:
    return sorted(fake.channels[C1].history_ts)


def test_oldest_and_latest_are_exclusive_unless_inclusive(fake: FakeSlack) -> None:
    client = _client(fake)
    all_ts = _history_ts(fake)
    oldest, latest = all_ts[5], all_ts[15]
    exclusive = client.conversations_history(channel=C1, oldest=oldest, latest=latest)
    assert [m["ts"] for m in exclusive["messages"]] == list(reversed(all_ts[6:15]))
    inclusive = client.conversations_history(
        channel=C1, oldest=oldest, latest=latest, inclusive=True
    )
    assert [m["ts"] for m in inclusive["messages"]] == list(reversed(all_ts[5:16]))


def test_default_page_size_cap_and_cursor(fake: FakeSlack) -> None:
    client = _client(fake)
    assert len(client.conversations_history(channel=C1)["messages"]) == 60  # < default 100
    first = client.conversations_history(channel=C1, limit=25)
    assert first["has_more"] is True and first["response_metadata"]["next_cursor"]
    pages = [len(page["messages"]) for page in client.conversations_history(channel=C1, limit=25)]
    assert pages == [25, 25, 10]
    for _ in range(1100):
        fake.add_message(C1, "filler")
    capped = client.conversations_history(channel=C1, limit=5000)
    assert len(capped["messages"]) == 1000 and capped["has_more"] is True


def test_replies_parent_first_and_metadata(fake: FakeSlack) -> None:
    client = _client(fake)
    parent = _history_ts(fake)[3]
    replies = [fake.add_reply(C1, parent, f"reply {i}", user=f"U0000000{i}") for i in (1, 2, 3)]
    history = client.conversations_history(channel=C1, limit=1000)["messages"]
    assert not any(m["ts"] in replies for m in history)  # replies are not history
    stored = next(m for m in history if m["ts"] == parent)
    assert stored["reply_count"] == 3 and stored["latest_reply"] == replies[-1]
    assert stored["reply_users"] == ["U00000001", "U00000002", "U00000003"]
    thread = client.conversations_replies(channel=C1, ts=parent)["messages"]
    assert [m["ts"] for m in thread] == [parent, *replies]
    paged = [
        m["ts"]
        for page in client.conversations_replies(channel=C1, ts=parent, limit=2)
        for m in page["messages"]
    ]
    assert paged == [parent, *replies]


def test_broadcast_reply_shows_in_history(fake: FakeSlack) -> None:
    parent = _history_ts(fake)[0]
    ts = fake.add_reply(C1, parent, "also to channel", subtype="thread_broadcast")
    history = _client(fake).conversations_history(channel=C1, limit=1000)["messages"]
    assert ts in [m["ts"] for m in history]


def test_edit_and_delete_between_calls(fake: FakeSlack) -> None:
    client = _client(fake)
    target, gone = _history_ts(fake)[1], _history_ts(fake)[2]
    fake.edit_message(C1, target, "changed", edited_ts="1711111111.000001")
    fake.delete_message(C1, gone)
    messages = {
        m["ts"]: m for m in client.conversations_history(channel=C1, limit=1000)["messages"]
    }
    assert messages[target]["text"] == "changed"
    assert messages[target]["edited"]["ts"] == "1711111111.000001"
    assert gone not in messages
    parent = _history_ts(fake)[4]
    fake.add_reply(C1, parent, "x")
    fake.delete_message(C1, parent)  # a parent with replies stays as a tombstone
    messages = {
        m["ts"]: m for m in client.conversations_history(channel=C1, limit=1000)["messages"]
    }
    assert messages[parent]["subtype"] == "tombstone"


def test_auth_errors_and_scopes(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as no_token:
        WebClient(base_url=fake.base_url, token="").auth_test()
    assert no_token.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as bad:
        _client(fake, "xoxb-wrong").auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as scope:
        _client(fake, "xoxb-no-scopes").conversations_history(channel=C1)
    assert scope.value.response["error"] == "missing_scope"
    assert scope.value.response["needed"] == "channels:history"
    with pytest.raises(SlackApiError) as join:
        _client(fake).conversations_join(channel=C1)
    assert join.value.response["needed"] == "channels:join"
    fake.revoked.add(DEFAULT_TOKEN)
    with pytest.raises(SlackApiError) as revoked:
        _client(fake).auth_test()
    assert revoked.value.response["error"] == "token_revoked"


def test_post_update_permalink_are_recorded(fake: FakeSlack) -> None:
    client = _client(fake)
    posted = client.chat_postMessage(
        channel="channel-1", text="Digest", blocks=[{"type": "divider"}]
    )
    assert posted["channel"] == C1 and fake.posted[-1]["text"] == "Digest"
    client.chat_update(channel=C1, ts=posted["ts"], text="Digest v2")
    assert fake.updated[-1]["text"] == "Digest v2"
    link = client.chat_getPermalink(channel=C1, message_ts=posted["ts"])["permalink"]
    assert link.endswith(f"/archives/{C1}/p{posted['ts'].replace('.', '')}")
    assert fake.calls["chat.postMessage"] == 1 and fake.calls["chat.update"] == 1


def test_rate_limit_answers_429_with_retry_after(fake: FakeSlack) -> None:
    fake.rate_limits = True
    fake.limits["users.info"] = 2
    client = _client(fake)
    client.users_info(user="U00000001")
    client.users_info(user="U00000001")
    with pytest.raises(SlackApiError) as info:
        client.users_info(user="U00000001")
    assert info.value.response.status_code == 429
    assert int(info.value.response.headers["Retry-After"]) >= 1


def test_faults_are_seeded(fake: FakeSlack) -> None:
    outcomes = []
    for _ in range(2):
        server = FakeSlack.from_workspace(
            generate_workspace(channels=1, days=1, per_day=3),
            faults=FaultPlan(rate=0.5, seed=42, kinds=("500", "429", "ratelimited")),
        )
        with server.serve():
            run = []
            for _ in range(20):
                try:
                    _client(server).auth_test()
                    run.append("ok")
                except SlackApiError as exc:
                    run.append(f"{exc.response.status_code}:{exc.response['error']}")
            outcomes.append(run)
    assert outcomes[0] == outcomes[1] and len(set(outcomes[0])) == 4


def test_form_and_json_bodies(fake: FakeSlack) -> None:
    form = urllib.request.Request(
        fake.base_url + "conversations.info",
        data=f"channel={C1}&token={DEFAULT_TOKEN}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(form) as response:
        assert json.loads(response.read())["channel"]["id"] == C1
    body = json.dumps({"channel": C1}).encode()
    request = urllib.request.Request(
        fake.base_url + "conversations.info",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {DEFAULT_TOKEN}"},
    )
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["channel"]["name"] == "channel-1"


def test_seeded_from_the_real_export(testarchive_path: Path) -> None:
    server = FakeSlack.from_export(testarchive_path)
    with server.serve() as base_url:
        client = WebClient(base_url=base_url, token=DEFAULT_TOKEN)
        names = [c["name"] for c in client.conversations_list()["channels"]]
        assert names == ["enrique", "traveling-sailor"]
        total = sum(
            len(page["messages"])
            for channel in ("C0JGLMMNX", "C0JL6CGQ2")
            for page in client.conversations_history(channel=channel, limit=50)
        )
        assert total == 158


@pytest.fixture
def testarchive_path(shared_fixtures: Path) -> Path:
    path = shared_fixtures / "slack-export-viewer-testarchive.zip"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def test_command_line_server_starts(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "slack_events_dagster.testing.fake_slack",
            "--generate",
            "--channels",
            "2",
            "--days",
            "1",
            "--per-day",
            "5",
            "--port",
            "0",
            "--no-rate-limits",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "fake Slack at http://127.0.0.1:" in line and "2 channels" in line
        base_url = line.split(" at ")[1].split(" ")[0]
        client = WebClient(base_url=base_url, token=DEFAULT_TOKEN)
        deadline = time.monotonic() + 10
        while True:
            try:
                assert client.auth_test()["ok"]
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        stop_process(process)
