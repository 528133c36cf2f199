"""normalize_message for every subtype, plain_text rendering, and a hostile-input property."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slack_events_dagster.domain.models import SlackChannel, SlackUser
from slack_events_dagster.slack.normalize import (
    normalize_channel,
    normalize_message,
    normalize_user,
    plain_text,
)
from slack_events_dagster.testing.workspace_gen import generate_workspace

C = "C0001"


def test_plain_message_keeps_text_verbatim() -> None:
    raw = {"type": "message", "user": "U1", "text": "Ship it &lt;today&gt; <@U2>", "ts": "1.000100"}
    message = normalize_message(raw, C)
    assert (message.channel_id, message.ts, message.user) == (C, "1.000100", "U1")
    assert message.text == raw["text"]
    assert message.is_content and not message.is_deleted and message.subtype is None


def test_bot_message_with_only_attachments_recovers_text() -> None:
    raw = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "B1",
        "text": "",
        "ts": "1454892394.000004",
        "attachments": [
            {"fallback": "fallback only", "pretext": "[repo:master] 1 new commit", "text": "fix"}
        ],
    }
    message = normalize_message(raw, C)
    assert message.bot_id == "B1" and message.subtype == "bot_message"
    assert message.text == "[repo:master] 1 new commit\nfix"
    assert message.attachments == raw["attachments"]


def test_attachment_fallback_when_nothing_else() -> None:
    raw = {"text": "", "ts": "2.0", "attachments": [{"fallback": "Deploy done"}]}
    assert normalize_message(raw, C).text == "Deploy done"


def test_rich_text_blocks_recover_text_with_mentions_links_and_lists() -> None:
    raw = {
        "ts": "3.000001",
        "user": "U1",
        "text": "",
        "blocks": [
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [
                            {"type": "text", "text": "Release on Friday "},
                            {"type": "user", "user_id": "U2"},
                            {"type": "text", "text": " see "},
                            {"type": "link", "url": "https://x.io", "text": "notes"},
                            {"type": "emoji", "name": "tada"},
                        ],
                    },
                    {
                        "type": "rich_text_list",
                        "elements": [
                            {
                                "type": "rich_text_section",
                                "elements": [{"type": "text", "text": "item"}],
                            }
                        ],
                    },
                ],
            }
        ],
    }
    message = normalize_message(raw, C)
    assert message.text == "Release on Friday <@U2> see <https://x.io|notes>:tada:\n• item"
    users = {"U2": SlackUser(id="U2", name="bob", display_name="Bob")}
    assert plain_text(message.text, users) == (
        "Release on Friday @Bob see notes (https://x.io)🎉\n• item"
    )


def test_section_and_header_blocks_recover_text() -> None:
    raw = {
        "ts": "4.0",
        "text": " ",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Maintenance"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Sat* 02:00 UTC"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "ops"}]},
            {"type": "divider"},
        ],
    }
    assert normalize_message(raw, C).text == "Maintenance\n*Sat* 02:00 UTC\nops"


def test_thread_broadcast_is_a_reply_that_is_content() -> None:
    raw = {
        "subtype": "thread_broadcast",
        "ts": "5.2",
        "thread_ts": "5.1",
        "user": "U1",
        "text": "x",
    }
    message = normalize_message(raw, C)
    assert message.is_reply and message.is_content and message.thread_ts == "5.1"


def test_thread_parent_metadata() -> None:
    raw = {
        "ts": "5.1",
        "thread_ts": "5.1",
        "text": "parent",
        "reply_count": 3,
        "latest_reply": "9.0",
        "reply_users": ["U1"],
    }
    message = normalize_message(raw, C)
    assert message.is_thread_parent and not message.is_reply
    assert (message.reply_count, message.latest_reply) == (3, "9.0")


def test_file_share_old_and_new_shapes() -> None:
    new = {
        "subtype": "file_share",
        "ts": "6.0",
        "text": "",
        "files": [{"id": "F1", "title": "Plan"}],
    }
    assert normalize_message(new, C).text == "Plan"
    old = {"subtype": "file_share", "ts": "6.1", "text": "uploaded", "file": {"id": "F2"}}
    assert normalize_message(old, C).files == [{"id": "F2"}]


def test_me_message_and_edited() -> None:
    raw = {
        "subtype": "me_message",
        "ts": "7.0",
        "text": "waves",
        "edited": {"user": "U1", "ts": "8.0"},
    }
    message = normalize_message(raw, C)
    assert message.subtype == "me_message" and message.is_content
    assert message.edited_ts == "8.0"


def test_message_changed_event_becomes_the_edited_message() -> None:
    raw = {
        "type": "message",
        "subtype": "message_changed",
        "ts": "10.5",
        "channel": C,
        "message": {"user": "U1", "text": "new text", "ts": "10.0", "edited": {"ts": "10.5"}},
        "previous_message": {"user": "U1", "text": "old text", "ts": "10.0"},
    }
    message = normalize_message(raw, C)
    assert (message.ts, message.text, message.edited_ts) == ("10.0", "new text", "10.5")


def test_message_deleted_event_keeps_key_and_is_deleted() -> None:
    raw = {
        "subtype": "message_deleted",
        "ts": "11.5",
        "deleted_ts": "11.0",
        "previous_message": {"user": "U1", "text": "was here", "ts": "11.0"},
    }
    message = normalize_message(raw, C)
    assert message.ts == "11.0" and message.is_deleted and not message.is_content
    assert message.text == "was here"


def test_tombstone_is_deleted_without_placeholder_text() -> None:
    raw = {
        "subtype": "tombstone",
        "ts": "12.0",
        "thread_ts": "12.0",
        "text": "This message was deleted.",
    }
    message = normalize_message(raw, C)
    assert message.is_deleted and message.text == "" and not message.is_content


@pytest.mark.parametrize(
    "subtype", ["channel_join", "channel_leave", "channel_topic", "channel_purpose", "bot_add"]
)
def test_channel_notices_are_kept_but_not_content(subtype: str) -> None:
    message = normalize_message({"subtype": subtype, "ts": "13.0", "text": "x", "user": "U1"}, C)
    assert message.subtype == subtype and not message.is_content


def test_unknown_subtype_is_kept() -> None:
    message = normalize_message({"subtype": "brand_new_thing", "ts": "14.0", "whatever": [1]}, C)
    assert message.subtype == "brand_new_thing" and message.ts == "14.0"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"text": "no ts"}, "ts"),
        ({"ts": 1700000000.5}, "ts"),
        ({"ts": "abc"}, "ts"),
        ({"ts": "1.0", "text": 5}, "text"),
        ({"ts": "1.0", "user": ["U1"]}, "user"),
        ({"ts": "1.0", "blocks": "nope"}, "blocks"),
        ({"ts": "1.0", "reply_count": "3"}, "reply_count"),
        ({"ts": "1.0", "thread_ts": "x.y"}, "thread_ts"),
        ({"ts": "1.0", "edited": {"ts": 5}}, "edited.ts"),
        ({"subtype": "message_changed", "ts": "1.0"}, "message"),
        ({"subtype": "message_deleted", "ts": "1.0"}, "deleted_ts"),
    ],
)
def test_bad_payloads_raise_one_value_error_naming_the_field(
    raw: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=f"field '{field}'"):
        normalize_message(raw, C)


def test_plain_text_rendering() -> None:
    users: dict[str, SlackUser | str] = {
        "U1": SlackUser(id="U1", name="ana", real_name="Ana Silva"),
        "U2": "Ben",
    }
    channels = {"C9": SlackChannel(id="C9", name="ops")}
    text = (
        "<@U1> and <@U2> in <#C9> and <#C8|general>: see <https://a.io/x?a=1&amp;b=2|the doc> "
        "or <https://b.io> or <mailto:x@y.io|x@y.io>; <!here> 1 &lt; 2 &amp;&amp; 3 &gt; 2 "
        ":tada: :rocket::skin-tone-2: :unknown_code: at 10:30:00 <@U404>"
    )
    assert plain_text(text, users, channels) == (
        "@Ana Silva and @Ben in #ops and #general: see the doc (https://a.io/x?a=1&b=2) "
        "or https://b.io or x@y.io; @here 1 < 2 && 3 > 2 "
        "🎉 🚀 :unknown_code: at 10:30:00 @U404"
    )


def test_plain_text_without_lookups() -> None:
    # the label Slack embedded is used when no lookup is given
    assert plain_text("hi <@U1|ana> <#C1>") == "hi @ana #C1"


def test_channel_and_user_normalization() -> None:
    channel = normalize_channel(
        {
            "id": "C1",
            "name": "x",
            "created": "1452837318",
            "topic": {"value": "t"},
            "members": ["a", "b"],
        }
    )
    assert channel.created is not None and channel.created.year == 2016
    assert (channel.topic, channel.num_members, channel.is_member) == ("t", 2, True)
    user = normalize_user(
        {"id": "U1", "name": "ana", "profile": {"display_name": "", "real_name": "Ana"}}
    )
    assert user.real_name == "Ana" and user.display_name is None and user.label == "Ana"
    with pytest.raises(ValueError, match="'id'"):
        normalize_channel({"name": "x"})


# -- property: no payload crashes normalize with anything but the documented ValueError --

_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
_FIELDS = [
    "ts",
    "text",
    "user",
    "subtype",
    "thread_ts",
    "blocks",
    "attachments",
    "files",
    "file",
    "edited",
    "reply_count",
    "latest_reply",
    "reactions",
    "message",
    "previous_message",
    "deleted_ts",
    "bot_profile",
    "username",
]
_SAMPLE = [
    m
    for messages in generate_workspace(channels=2, days=2, per_day=40, seed=3).messages.values()
    for m in messages
]


def _key_of(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    if raw.get("subtype") in ("message_changed", "message_replied"):
        return _key_of(raw.get("message"))
    if raw.get("subtype") == "message_deleted":
        return raw.get("deleted_ts")
    return raw.get("ts")


def _check(raw: Any) -> None:
    try:
        message = normalize_message(raw, C)
    except ValueError as exc:
        assert str(exc), "the error must say what is wrong"
        return
    assert message.channel_id == C
    assert message.ts == _key_of(raw), "the stored key must be the payload's ts"
    assert isinstance(message.text, str)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(_SAMPLE),
    mutations=st.lists(st.tuples(st.sampled_from(_FIELDS), _json), max_size=4),
    drops=st.lists(st.sampled_from(_FIELDS), max_size=3),
    wrap=st.sampled_from([None, "message_changed", "message_deleted", "message_replied"]),
)
def test_mutated_real_shaped_payloads_never_crash(
    base: dict[str, Any], mutations: list[tuple[str, Any]], drops: list[str], wrap: str | None
) -> None:
    raw = copy.deepcopy(base)
    for name, value in mutations:
        raw[name] = value
    for name in drops:
        raw.pop(name, None)
    if wrap == "message_deleted":
        raw = {"subtype": wrap, "ts": "99.0", "deleted_ts": raw.get("ts"), "previous_message": raw}
    elif wrap is not None:
        raw = {"subtype": wrap, "ts": "99.0", "message": raw}
    _check(raw)


@settings(max_examples=1000, deadline=None)
@given(raw=st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=8) | _json)
def test_arbitrary_json_never_crashes(raw: Any) -> None:
    _check(raw)
