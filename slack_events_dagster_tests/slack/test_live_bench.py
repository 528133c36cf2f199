"""bench/live.py's push half at a tiny size: the counts add up (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import live


def test_push_stores_every_post_with_only_gap_fill_history_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "ACTIVITY", [8, 3, 1])
    args = live.main_parser().parse_args(["--mode", "push", "--push-wall-s", "1"])
    figures = live.run_push(args, tmp_path)
    posts = live.day_of_posts(args.seed)
    assert figures.posted == len(posts) == 12
    assert figures.stored == figures.posted
    assert figures.replies_missed == 0
    # One fill per channel at connect, one history call each, and no other history call.
    assert figures.runs == 3
    assert figures.gap_fill_calls == figures.calls
    assert figures.calls["conversations.history"] == 3
    assert figures.refused == {}
    assert figures.events is not None
    assert figures.events["hello"] == 1
    # Each post stored from its event; a reply also changes its parent (one more event).
    replies = sum(p.reply_to is not None for p in posts)
    assert figures.events["stored"] == len(posts) + replies
    assert figures.median_delay_s is not None
