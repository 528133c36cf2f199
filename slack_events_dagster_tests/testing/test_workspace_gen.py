"""The synthetic workspace generator is deterministic and realistic enough to trust."""

from __future__ import annotations

import json
import statistics
import zipfile
from collections import Counter
from pathlib import Path

from slack_events_dagster.domain.candidates import build_candidates
from slack_events_dagster.domain.models import SlackMessage, ts_sort_key
from slack_events_dagster.llm.base import ExtractionInput
from slack_events_dagster.llm.quoting import prompt_item
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.slack.normalize import normalize_message
from slack_events_dagster.testing.fake_openai import naive_events
from slack_events_dagster.testing.workspace_gen import (
    generate_messages,
    generate_workspace,
    sparse_counts,
    write_export,
)


def test_same_seed_same_workspace() -> None:
    first = generate_workspace(channels=2, days=3, per_day=20, seed=5)
    second = generate_workspace(channels=2, days=3, per_day=20, seed=5)
    other = generate_workspace(channels=2, days=3, per_day=20, seed=6)
    assert first == second and first != other


def test_sparse_counts_a_skewed_year() -> None:
    counts = sparse_counts(50, 365, seed=0)
    assert counts == sparse_counts(50, 365, seed=0) != sparse_counts(50, 365, seed=1)
    days = [n for row in counts for n in row]
    assert 90_000 <= sum(days) <= 110_000
    # Most channel-days are empty or under 5 messages; a few channels carry most of it.
    assert sum(1 for n in days if n == 0) > len(days) / 2
    assert sum(1 for n in days if n < 5) > 0.8 * len(days)
    totals = sorted((sum(row) for row in counts), reverse=True)
    assert sum(totals[:5]) > sum(days) / 2


def test_a_workspace_follows_its_counts() -> None:
    counts = [[0, 3, 0], [5, 0, 1]]
    workspace = generate_workspace(channels=2, days=3, seed=2, counts=counts)
    per_channel = [len(items) for items in workspace.messages.values()]
    assert per_channel == [3, 6]
    # Without counts, the same seed gives the workspace it always gave.
    assert generate_workspace(channels=2, days=3, per_day=20, seed=5) == generate_workspace(
        channels=2, days=3, per_day=20, seed=5, counts=None
    )


def test_shape_counts_threads_and_text_lengths() -> None:
    workspace = generate_workspace(channels=3, days=10, per_day=200, thread_fraction=0.1, seed=1)
    assert workspace.message_count() == 3 * 10 * 200
    messages = [m for items in workspace.messages.values() for m in items]
    replies = [m for m in messages if m.get("thread_ts") not in (None, m["ts"])]
    assert 0.07 < len(replies) / len(messages) < 0.13
    lengths = [len(m["text"]) for m in messages if m.get("subtype") is None]
    assert 60 <= statistics.median(lengths) <= 100
    assert max(lengths) <= 4000 and max(lengths) > 1000
    assert any(not m["text"].isascii() for m in messages)  # unicode and emoji
    assert any("blocks" in m for m in messages) and any(
        m.get("subtype") == "bot_message" for m in messages
    )
    for items in workspace.messages.values():
        keys = [ts_sort_key(m["ts"]) for m in items]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)
        by_ts = {m["ts"]: m for m in items}
        for reply in (m for m in items if m.get("thread_ts") not in (None, m["ts"])):
            parent = by_ts[reply["thread_ts"]]
            assert ts_sort_key(parent["ts"]) < ts_sort_key(reply["ts"])
            assert ts_sort_key(parent["latest_reply"]) >= ts_sort_key(reply["ts"])


def test_write_export_folder_and_zip(tmp_path: Path) -> None:
    workspace = generate_workspace(channels=2, days=2, per_day=10, seed=2)
    folder = write_export(workspace, tmp_path / "export")
    assert json.loads((folder / "channels.json").read_text())[0]["name"] == "channel-1"
    day_files = sorted((folder / "channel-1").glob("*.json"))
    assert len(day_files) == 2
    archive = write_export(workspace, tmp_path / "export.zip", as_zip=True)
    with zipfile.ZipFile(archive) as zf:
        assert {"channels.json", "users.json"} <= set(zf.namelist())


def test_generate_messages_is_fast_and_deterministic() -> None:
    first = list(generate_messages(5000, seed=3))
    assert len(first) == 5000 and all(isinstance(m, SlackMessage) for m in first)
    assert [m.ts for m in first] == [m.ts for m in generate_messages(5000, seed=3)]
    assert len({(m.channel_id, m.ts) for m in first}) == 5000
    assert any(m.reply_count for m in first) and any(m.is_reply for m in first)


def test_threads_have_several_replies_with_a_long_tail() -> None:
    # 10 % replies means about 1 thread per 50 messages, not one thread per reply.
    workspace = generate_workspace(channels=4, days=10, per_day=200, thread_fraction=0.1, seed=3)
    messages = [m for items in workspace.messages.values() for m in items]
    replies = [m for m in messages if m.get("thread_ts") not in (None, m["ts"])]
    sizes = [m["reply_count"] for m in messages if m.get("reply_count")]
    assert sum(sizes) == len(replies)
    assert 3.5 <= len(replies) / len(sizes) <= 7  # mean replies per thread
    assert sum(1 for size in sizes if size <= 2) > len(sizes) / 3  # most threads are short
    assert max(sizes) >= 15  # and a few are long
    for items in workspace.messages.values():
        by_ts = {m["ts"]: m for m in items}
        for reply in (m for m in items if m.get("thread_ts") not in (None, m["ts"])):
            # replies reach back at most one day (generate_messages relies on it)
            parent_day = int(float(reply["thread_ts"])) // 86400
            assert int(float(reply["ts"])) // 86400 - parent_day <= 1
            # threads start on what people wrote, not on join notices
            assert by_ts[reply["thread_ts"]].get("subtype") in (None, "file_share")


def test_mostly_chatter_with_a_few_dated_announcements_both_extractors_read() -> None:
    """Realistic proportions: most messages announce nothing and the scorer rejects them;
    a few percent announce an event on a concrete day (relative to when they are posted)
    that the rule extractor and the fake LLM's oracle both read, with the same start."""
    workspace = generate_workspace(channels=4, days=15, per_day=200, thread_fraction=0.1, seed=4)
    rules = RuleExtractor()
    total = candidates = agreed = 0
    statuses: Counter[str] = Counter()
    for channel_id, raw in workspace.messages.items():
        messages = [normalize_message(item, channel_id) for item in raw]
        by_ts = {m.ts: m for m in messages}
        total += len(messages)
        for candidate in build_candidates(messages, channel_names={channel_id: "general"}):
            candidates += 1
            message = by_ts[candidate.ts]
            item = ExtractionInput(
                candidate=candidate,
                message=message,
                channel_name="general",
                timezone="UTC",
                thread_parent=by_ts.get(candidate.parent_ts or ""),
            )
            drafts, answers = rules.read_drafts(item), naive_events(prompt_item(item))
            if drafts and answers:
                agreed += 1
                start = drafts[0].start
                expected = str(start) if drafts[0].all_day else start.strftime("%Y-%m-%dT%H:%M")
                assert answers[0]["start"] == expected, message.text
                assert answers[0]["status"] == drafts[0].status.value, message.text
                statuses[answers[0]["status"]] += 1
    assert 0.04 <= candidates / total <= 0.10
    assert agreed / total >= 0.03  # real announcements: a few percent of all messages
    assert agreed / candidates >= 0.6  # and most of what the scorer passes on
    # Threads move and cancel some of them.
    assert statuses["rescheduled"] >= 20 and statuses["cancelled"] >= 10


def test_some_announcements_are_cross_posted_to_another_channel() -> None:
    workspace = generate_workspace(channels=4, days=10, per_day=200, seed=2)
    cross_posts = [
        m["text"]
        for channel_id, items in workspace.messages.items()
        for m in items
        if "<#C" in m["text"] and " UTC" in m["text"] and f"<#{channel_id}|" not in m["text"]
    ]
    assert len(cross_posts) >= 10


def test_no_thread_fraction_means_no_replies() -> None:
    workspace = generate_workspace(channels=3, days=5, per_day=100, thread_fraction=0.0, seed=1)
    assert all(m.get("thread_ts") is None for items in workspace.messages.values() for m in items)
