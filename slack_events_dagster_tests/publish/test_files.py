"""The digest and calendar files (publish/files.py): where they go, and writes that
replace a file atomically or leave the old one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from slack_events_dagster.publish.files import (
    calendar_path,
    digest_path,
    write_atomic,
    write_calendar,
    write_digest,
)
from slack_events_dagster.settings import DigestSettings
from slack_events_dagster_tests.helpers.digest_events import golden_events, ics


def test_write_calendar_replaces_the_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "feeds" / "events.ics"
    write_atomic(target, b"first")
    assert target.read_bytes() == b"first"
    write_atomic(target, ics(golden_events()))
    assert target.read_bytes() == ics(golden_events())
    assert sorted(path.name for path in target.parent.iterdir()) == ["events.ics"]
    assert target.stat().st_mode & 0o777 == 0o644


def test_a_failed_write_leaves_the_old_feed_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "events.ics"
    write_atomic(target, b"old feed")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old feed"
    assert [path.name for path in tmp_path.iterdir()] == ["events.ics"]


def test_the_digest_and_the_feed_go_where_the_settings_say(tmp_path: Path) -> None:
    settings = DigestSettings(output_dir=tmp_path / "out", calendar_path=tmp_path / "feed.ics")
    day = date(2026, 3, 9)
    assert digest_path(settings, day) == tmp_path / "out" / "digest-2026-03-09.md"
    assert calendar_path(settings) == tmp_path / "feed.ics"
    assert write_digest(settings, day, "# Digest ü\n") == digest_path(settings, day)
    assert digest_path(settings, day).read_text(encoding="utf-8") == "# Digest ü\n"
    assert write_calendar(settings, b"feed") == calendar_path(settings)
    assert calendar_path(settings).read_bytes() == b"feed"
