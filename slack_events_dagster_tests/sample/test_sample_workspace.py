"""The bundled sample workspace is a consistent Slack export, and its gold list points into it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from slack_events_dagster.domain.models import (
    EventCategory,
    EventStatus,
    ts_sort_key,
    ts_to_datetime,
)

SAMPLE = Path(__file__).resolve().parents[2] / "slack_events_dagster" / "sample"
WORKSPACE = SAMPLE / "workspace"


def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def channels() -> list[dict[str, Any]]:
    return _load(WORKSPACE / "channels.json")


@pytest.fixture(scope="module")
def users() -> list[dict[str, Any]]:
    return _load(WORKSPACE / "users.json")


@pytest.fixture(scope="module")
def messages(channels: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every message of every channel, by channel name, in ts order."""
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for channel in channels:
        collected: list[dict[str, Any]] = []
        for day_file in sorted((WORKSPACE / channel["name"]).glob("*.json")):
            day = _load(day_file)
            assert isinstance(day, list), day_file
            assert all(message["type"] == "message" for message in day), day_file
            collected.extend(day)
        by_channel[channel["name"]] = sorted(collected, key=lambda m: ts_sort_key(m["ts"]))
    return by_channel


@pytest.fixture(scope="module")
def gold() -> dict[str, Any]:
    with (SAMPLE / "gold.yaml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_size(channels, messages) -> None:
    assert len(channels) >= 6
    assert sum(len(m) for m in messages.values()) >= 400
    days = {path.stem for path in WORKSPACE.glob("*/*.json")}
    assert len(days) >= 21


def test_channels_and_users_are_well_formed(channels, users) -> None:
    user_ids = {user["id"] for user in users}
    for channel in channels:
        assert {"id", "name", "created", "creator", "is_archived", "is_general", "members"} <= set(
            channel
        )
        assert channel["creator"] in user_ids
        assert set(channel["members"]) <= user_ids
        assert (WORKSPACE / channel["name"]).is_dir()
        for key in ("topic", "purpose"):
            assert set(channel[key]) == {"value", "creator", "last_set"}
    assert sum(channel["is_general"] for channel in channels) == 1
    for user in users:
        assert {"id", "team_id", "name", "real_name", "tz", "tz_offset", "profile"} <= set(user)
        assert {"real_name", "display_name"} <= set(user["profile"])


def test_ts_are_slack_ts_and_unique(messages) -> None:
    for name, channel_messages in messages.items():
        seen = set()
        for message in channel_messages:
            whole, dot, frac = message["ts"].partition(".")
            assert whole.isdigit() and dot and len(frac) == 6 and frac.isdigit(), message["ts"]
            assert message["ts"] not in seen, (name, message["ts"])
            seen.add(message["ts"])


def test_day_files_hold_their_own_utc_day() -> None:
    # Slack files every message, thread replies included, under the UTC date of its own ts.
    for path in WORKSPACE.glob("*/*.json"):
        for message in _load(path):
            assert path.stem == ts_to_datetime(message["ts"]).date().isoformat(), path


def test_threads_are_consistent(messages, users) -> None:
    user_ids = {user["id"] for user in users}
    for name, channel_messages in messages.items():
        by_ts = {m["ts"]: m for m in channel_messages}
        replies: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for message in channel_messages:
            thread_ts = message.get("thread_ts")
            if thread_ts and thread_ts != message["ts"]:
                parent = by_ts.get(thread_ts)
                assert parent is not None, (name, message["ts"])
                assert parent.get("thread_ts") == thread_ts
                assert message["parent_user_id"] in user_ids
                assert ts_sort_key(message["ts"]) > ts_sort_key(thread_ts)
                replies[thread_ts].append(message)
        for message in channel_messages:
            if message.get("reply_count"):
                thread = sorted(replies[message["ts"]], key=lambda m: ts_sort_key(m["ts"]))
                assert message["reply_count"] == len(thread), (name, message["ts"])
                assert message["latest_reply"] == thread[-1]["ts"]
                assert [r["ts"] for r in message["replies"]] == [r["ts"] for r in thread]
                authors = {r.get("user") for r in thread}
                assert message["reply_users_count"] == len(authors)
            elif message["ts"] in replies:
                pytest.fail(f"#{name} {message['ts']} has replies but no reply_count")


def test_export_has_the_usual_variety(messages) -> None:
    flat = [m for channel_messages in messages.values() for m in channel_messages]
    subtypes = {m.get("subtype") for m in flat}
    assert {"bot_message", "channel_join", "thread_broadcast"} <= subtypes
    assert any("edited" in m for m in flat)
    assert any(m.get("reactions") for m in flat)
    assert any(m.get("files") for m in flat)
    assert any(m.get("blocks") for m in flat)
    text = " ".join(m.get("text", "") for m in flat)
    for marker in ("<@U", "<#C", "<https://", "&gt;", "&amp;"):
        assert marker in text, marker


def _is_aware_or_date(value: str) -> bool:
    if len(value) == 10:
        date.fromisoformat(value)
        return True
    return datetime.fromisoformat(value).tzinfo is not None


def test_gold_events_are_valid_and_point_into_the_export(gold, messages) -> None:
    events = gold["events"]
    assert len(events) >= 30
    assert len({event["id"] for event in events}) == len(events)
    ts_by_channel = {name: {m["ts"] for m in msgs} for name, msgs in messages.items()}
    for event in events:
        EventCategory(event["category"])
        EventStatus(event["status"])
        assert event["title"]
        assert _is_aware_or_date(event["start"]), event["id"]
        assert event["all_day"] == (len(event["start"]) == 10), event["id"]
        if "end" in event:
            assert _is_aware_or_date(event["end"]), event["id"]
        for previous in event.get("previous_starts", []):
            assert _is_aware_or_date(previous)
        if event["status"] == "rescheduled":
            assert event.get("previous_starts"), event["id"]
        assert event["sources"], event["id"]
        for source in event["sources"]:
            assert source["ts"] in ts_by_channel[source["channel"]], (event["id"], source)
        order = [ts_sort_key(source["ts"]) for source in event["sources"]]
        assert order == sorted(order), event["id"]


def test_gold_non_events_point_into_the_export(gold, messages) -> None:
    non_events = gold["non_events"]
    assert len(non_events) >= 20
    ts_by_channel = {name: {m["ts"] for m in msgs} for name, msgs in messages.items()}
    event_sources = {(s["channel"], s["ts"]) for e in gold["events"] for s in e["sources"]}
    for item in non_events:
        assert item["ts"] in ts_by_channel[item["channel"]], item
        assert (item["channel"], item["ts"]) not in event_sources, item


def test_build_script_regenerates_identical_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "slack_events_dagster.sample.build_sample", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    expected = sorted(
        p.relative_to(SAMPLE) for p in (SAMPLE / "workspace").rglob("*") if p.is_file()
    )
    produced = sorted(
        p.relative_to(tmp_path) for p in (tmp_path / "workspace").rglob("*") if p.is_file()
    )
    assert produced == expected
    for relative in [*expected, Path("gold.yaml")]:
        assert (tmp_path / relative).read_bytes() == (SAMPLE / relative).read_bytes(), relative
