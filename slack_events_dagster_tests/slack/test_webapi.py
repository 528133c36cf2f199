"""WebApiSource with the real slack_sdk WebClient against the local fake Slack server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from slack_events_dagster.domain.models import SlackChannel, ts_sort_key
from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.slack.errors import ChannelSkipped, SlackAuthError, SlackSourceError
from slack_events_dagster.slack.source import MessagePage, MessageSource
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack, FaultPlan
from slack_events_dagster.testing.workspace_gen import generate_workspace
from slack_events_dagster_tests.helpers.slack_api import top_level_count

Serve = Callable[[FakeSlack], str]
MakeSource = Callable[..., WebApiSource]


def _channel(channel_id: str, name: str = "x") -> SlackChannel:
    return SlackChannel(id=channel_id, name=name)


def _flatten(pages: list[MessagePage]) -> list[str]:
    return [m.ts for page in pages for m in page]


def test_full_history_paginates_2500_messages_at_page_size_200(
    serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=1, days=5, per_day=500, thread_fraction=0.0, seed=7)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake), page_size=200)
    assert isinstance(source, MessageSource)
    pages = list(source.fetch(_channel("C00000001"), None, None, {}))
    ts_values = _flatten(pages)
    assert len(ts_values) == 2500 == len(set(ts_values))
    assert fake.calls["conversations.history"] == 13  # ceil(2500 / 200)
    assert source.calls["conversations.history"] == 13
    assert [p.last for p in pages] == [False] * 12 + [True]
    assert all(p.kind == "history" for p in pages)
    assert fake.calls["conversations.replies"] == 0
    # permalinks come from one auth.test, not one call per message
    assert fake.calls["auth.test"] == 1 and fake.calls["chat.getPermalink"] == 0
    first = pages[0][0]
    assert first.permalink == (
        f"https://synthetic.slack.com/archives/C00000001/p{first.ts.replace('.', '')}"
    )


def test_window_is_inclusive_on_both_ends(serve: Serve, api_source: MakeSource) -> None:
    workspace = generate_workspace(channels=1, days=2, per_day=50, thread_fraction=0.0, seed=2)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake))
    all_ts = [m["ts"] for m in workspace.messages["C00000001"]]
    oldest, latest = all_ts[10], all_ts[29]
    got = _flatten(list(source.fetch(_channel("C00000001"), oldest, latest, {})))
    assert sorted(got) == all_ts[10:30]


def test_threads_fetch_replies_only_when_latest_reply_changed(
    serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=1, days=3, per_day=60, thread_fraction=0.2, seed=4)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake))
    channel = _channel("C00000001")
    messages = workspace.messages["C00000001"]
    parents = {m["ts"]: m["latest_reply"] for m in messages if m.get("reply_count")}
    assert len(parents) >= 5

    pages = list(source.fetch(channel, None, None, {}))
    assert fake.calls["conversations.replies"] == len(parents)
    got = _flatten(pages)
    assert set(got) == {m["ts"] for m in messages}
    # every thread's replies arrive before the history page holding its parent
    for index, page in enumerate(pages):
        if page.kind == "replies":
            later = _flatten(pages[index + 1 :])
            assert page.thread_ts in later

    fake.reset_counts()
    known = dict(parents)
    changed = next(iter(parents))
    known[changed] = "1.000000"  # stored state is behind for one thread only
    list(source.fetch(channel, None, None, known))
    assert fake.calls["conversations.replies"] == 1


def test_channel_errors_become_channel_skipped(serve: Serve, api_source: MakeSource) -> None:
    workspace = generate_workspace(channels=2, days=1, per_day=5, seed=1)
    fake = FakeSlack.from_workspace(workspace)
    fake.not_in_channel.add("C00000002")
    source = api_source(serve(fake))
    with pytest.raises(ChannelSkipped) as info:
        list(source.fetch(_channel("C00000002"), None, None, {}))
    assert info.value.reason == "not_in_channel"
    with pytest.raises(ChannelSkipped) as missing:
        list(source.fetch(_channel("C404"), None, None, {}))
    assert missing.value.reason == "channel_not_found"


def test_missing_scope_names_the_scope(serve: Serve, api_source: MakeSource) -> None:
    fake = FakeSlack.from_workspace(
        generate_workspace(channels=1, days=1, per_day=5),
        tokens={"xoxb-limited-1": {"channels:read"}},
    )
    source = api_source(serve(fake), token="xoxb-limited-1")
    with pytest.raises(ChannelSkipped) as info:
        list(source.fetch(_channel("C00000001"), None, None, {}))
    assert info.value.reason == "missing_scope" and "channels:history" in str(info.value)
    with pytest.raises(SlackSourceError, match="users:read"):
        source.list_users()


def test_invalid_auth_is_one_clear_error_without_the_token(
    serve: Serve, api_source: MakeSource
) -> None:
    fake = FakeSlack.from_workspace(generate_workspace(channels=1, days=1, per_day=5))
    secret = "xoxb-1234567890-abcdefSECRET"
    source = api_source(serve(fake), token=secret)
    with pytest.raises(SlackAuthError) as info:
        source.list_channels()
    assert info.value.error_code == "invalid_auth"
    assert secret not in str(info.value) and "SECRET" not in str(info.value)
    assert "slack.token" in str(info.value)


def test_empty_token_is_refused_before_any_call() -> None:
    from slack_events_dagster.settings import SlackSettings

    with pytest.raises(SlackAuthError, match="not_authed"):
        WebApiSource(SlackSettings(token=""))


def test_list_channels_filters_and_joins(serve: Serve, api_source: MakeSource) -> None:
    workspace = generate_workspace(channels=4, days=1, per_day=3, seed=5)
    fake = FakeSlack.from_workspace(workspace)
    fake.set_member("C00000003", False)
    base_url = serve(fake)

    everything = api_source(base_url).list_channels()
    assert [c.id for c in everything] == ["C00000001", "C00000002", "C00000003", "C00000004"]
    assert not next(c for c in everything if c.id == "C00000003").is_member

    chosen = api_source(base_url, channels=["channel-1", "C00000003", "#channel-4"]).list_channels()
    assert [c.name for c in chosen] == ["channel-1", "channel-3", "channel-4"]
    excluded = api_source(base_url, exclude_channels=["channel-2", "C00000004"]).list_channels()
    assert [c.name for c in excluded] == ["channel-1", "channel-3"]

    joined = api_source(base_url, join_public_channels=True).list_channels()
    assert all(c.is_member for c in joined)
    assert fake.calls["conversations.join"] == 1


def test_list_users_paginates(serve: Serve, api_source: MakeSource) -> None:
    workspace = generate_workspace(channels=1, days=1, per_day=1, users=450)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake))
    users = source.list_users()
    assert len(users) == 450
    assert fake.calls["users.list"] == 3  # 200 per page


@pytest.mark.parametrize(
    "kinds", [("429",), ("500", "502", "503"), ("ratelimited",)], ids=["429", "5xx", "ok-false"]
)
def test_retries_recover_from_faults(
    serve: Serve, api_source: MakeSource, kinds: tuple[str, ...]
) -> None:
    workspace = generate_workspace(channels=1, days=2, per_day=200, thread_fraction=0.1, seed=9)
    clean = FakeSlack.from_workspace(workspace)
    faulty = FakeSlack.from_workspace(
        workspace, faults=FaultPlan(rate=0.3, seed=11, kinds=kinds, retry_after_s=0)
    )
    expected = _flatten(list(api_source(serve(clean)).fetch(_channel("C00000001"), None, None, {})))
    got = _flatten(list(api_source(serve(faulty)).fetch(_channel("C00000001"), None, None, {})))
    assert sorted(got) == sorted(expected)
    assert sum(faulty.faults_injected.values()) > 0


def test_a_hung_call_times_out_and_is_retried(serve: Serve, api_source: MakeSource) -> None:
    workspace = generate_workspace(channels=1, days=1, per_day=30, seed=3)
    fake = FakeSlack.from_workspace(
        workspace,
        faults=FaultPlan(
            rate=1.0, seed=1, kinds=("hang",), methods=frozenset({"auth.test"}), hang_s=2.5
        ),
    )
    source = api_source(serve(fake), timeout_s=1, max_retries=1)
    with pytest.raises(SlackSourceError, match="TimeoutError"):
        source.check_auth()
    assert fake.calls["auth.test"] == 2  # the first try and one retry, both hung
    fake.faults.rate = 0.0
    assert source.check_auth()["ok"] is True


def test_rate_limits_are_waited_out(serve: Serve, api_source: MakeSource) -> None:
    workspace = generate_workspace(channels=1, days=1, per_day=60, thread_fraction=0.0)
    fake = FakeSlack.from_workspace(
        workspace,
        rate_limits=True,
        rate_limit_window_s=1.0,
        rate_limit_overrides={"conversations.history": 2},
    )
    source = api_source(serve(fake), page_size=10)
    got = _flatten(list(source.fetch(_channel("C00000001"), None, None, {})))
    assert len(got) == 60
    assert fake.calls["conversations.history"] > 6  # some answered 429 and were retried


def test_exhausted_retries_fail_clearly(serve: Serve, api_source: MakeSource) -> None:
    fake = FakeSlack.from_workspace(
        generate_workspace(channels=1, days=1, per_day=5),
        faults=FaultPlan(rate=1.0, kinds=("503",)),
    )
    source = api_source(serve(fake), max_retries=2)
    with pytest.raises(SlackSourceError, match=r"auth\.test failed: internal_error"):
        source.check_auth()
    assert fake.calls["auth.test"] == 3


def test_top_level_count_helper_matches_history(serve: Serve, api_source: MakeSource) -> None:
    workspace = generate_workspace(channels=1, days=2, per_day=100, thread_fraction=0.3, seed=8)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake))
    pages = list(source.fetch(_channel("C00000001"), None, None, {}))
    history = [m for p in pages if p.kind == "history" for m in p]
    assert len(history) == top_level_count(workspace, "C00000001")
    assert DEFAULT_TOKEN.startswith("xoxb-")


def test_default_page_size_is_slacks_maximum(serve: Serve) -> None:
    workspace = generate_workspace(channels=1, days=5, per_day=500, thread_fraction=0.0, seed=7)
    fake = FakeSlack.from_workspace(workspace)
    settings = SlackSettings(source="api", token=DEFAULT_TOKEN, base_url=serve(fake))
    assert settings.page_size == 1000
    pages = list(WebApiSource(settings).fetch(_channel("C00000001"), None, None, {}))
    assert len(_flatten(pages)) == 2500
    assert fake.calls["conversations.history"] == 3  # ceil(2500 / 1000)
    for bad in (0, 1001):
        with pytest.raises(ValidationError, match="page_size"):
            SlackSettings(page_size=bad)


def test_messages_before_thread_parents_before_come_only_as_changed_parents(
    serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=1, days=4, per_day=80, thread_fraction=0.2, seed=8)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake))
    channel = _channel("C00000001")
    messages = workspace.messages["C00000001"]
    top = [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
    cutoff = top[len(top) // 2]["ts"]
    old_parents = [
        m for m in top if m.get("reply_count") and ts_sort_key(m["ts"]) < ts_sort_key(cutoff)
    ]
    assert len(old_parents) >= 4
    known = {m["ts"]: m["latest_reply"] for m in messages if m.get("reply_count")}
    changed = old_parents[1]["ts"]
    known[changed] = "1.000000"  # stored state is behind for this old thread only

    pages = list(source.fetch(channel, None, None, known, thread_parents_before=cutoff))
    history = [m.ts for page in pages if page.kind == "history" for m in page]
    in_history = [m for m in messages if m in top or m.get("subtype") == "thread_broadcast"]
    newer = [m["ts"] for m in in_history if ts_sort_key(m["ts"]) >= ts_sort_key(cutoff)]
    assert sorted(history, key=ts_sort_key) == sorted([changed, *newer], key=ts_sort_key)
    replies = [page for page in pages if page.kind == "replies"]
    assert [page.thread_ts for page in replies] == [changed]
    assert fake.calls["conversations.replies"] == 1
