"""ExportSource: the real 2016 export, generated exports, broken files and archives."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from slack_events_dagster.domain.models import SlackChannel, SlackMessage, datetime_to_ts
from slack_events_dagster.slack.errors import ExportArchiveError, ExportFileError
from slack_events_dagster.slack.export import ExportSource
from slack_events_dagster.slack.source import MessagePage, MessageSource
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.testing.fake_slack import FakeSlack
from slack_events_dagster.testing.workspace_gen import generate_workspace, write_export


def _all(source: MessageSource, channel: SlackChannel, **kwargs: object) -> list[SlackMessage]:
    pages: list[MessagePage] = list(source.fetch(channel, None, None, {}, **kwargs))  # type: ignore[arg-type]
    return [m for page in pages for m in page]


def test_real_2016_export_reads_without_error(testarchive: Path) -> None:
    with ExportSource(testarchive) as source:
        channels = source.list_channels()
        assert [(c.id, c.name) for c in channels] == [
            ("C0JGLMMNX", "enrique"),
            ("C0JL6CGQ2", "traveling-sailor"),
        ]
        users = source.list_users()
        assert len(users) == 4 and {u.name for u in users} >= {"abilinski"}
        per_channel = {c.name: _all(source, c) for c in channels}
        assert {name: len(ms) for name, ms in per_channel.items()} == {
            "enrique": 102,
            "traveling-sailor": 56,
        }
        messages = [m for ms in per_channel.values() for m in ms]
        subtypes = Counter(m.subtype for m in messages)
        assert subtypes["bot_message"] == 94 and subtypes["channel_join"] == 8
        assert subtypes["file_share"] == 3
        assert source.errors == [] and source.skipped_messages == 0
        # bot posts have empty text in the export: the words come from attachments
        bots = [m for m in messages if m.subtype == "bot_message"]
        assert all(m.text for m in bots)
        assert not any(m.is_content for m in messages if m.subtype == "channel_join")


def test_real_export_window_reads_only_the_needed_day_files(testarchive: Path) -> None:
    with ExportSource(testarchive) as source:
        enrique = source.list_channels()[0]
        oldest = datetime_to_ts(datetime(2016, 3, 26, tzinfo=UTC))
        latest = datetime_to_ts(datetime(2016, 3, 26, 23, 59, 59, tzinfo=UTC))
        expected = [m.ts for m in _all(source, enrique) if oldest <= m.ts <= latest]
        source.calls.clear()
        window = [m for p in source.fetch(enrique, oldest, latest, {}) for m in p]
        # this export's file names are local days: the UTC day spans two files
        assert sorted(m.ts for m in window) == sorted(expected) and len(expected) == 11
        # 03-25, 03-26 (window ± 1 day; 03-27 does not exist), read for the thread
        # index and the messages; 03-28 only for the thread index
        assert source.calls["day_file"] <= 6


def _workspace_export(tmp_path: Path, **kwargs: object) -> tuple[Path, object]:
    workspace = generate_workspace(channels=2, days=4, per_day=60, thread_fraction=0.2, seed=21)
    return write_export(workspace, tmp_path / "export", **kwargs), workspace  # type: ignore[arg-type]


def test_zip_and_folder_give_the_same_messages(tmp_path: Path) -> None:
    workspace = generate_workspace(channels=2, days=3, per_day=40, thread_fraction=0.2, seed=5)
    folder = write_export(workspace, tmp_path / "folder")
    archive = write_export(workspace, tmp_path / "export.zip", as_zip=True)
    with ExportSource(folder) as a, ExportSource(archive) as b:
        for channel in a.list_channels():
            assert _all(a, channel) == _all(b, channel)
        read = [m for c in a.list_channels() for m in _all(a, c)]
    assert len({(m.channel_id, m.ts) for m in read}) == workspace.message_count()
    # Only a thread broadcast comes twice: in history and in its thread, as from the API.
    seen: set[tuple[str, str]] = set()
    for message in read:
        key = (message.channel_id, message.ts)
        assert key not in seen or message.subtype == "thread_broadcast"
        seen.add(key)


def test_thread_metadata_is_computed_when_the_export_lacks_it(tmp_path: Path) -> None:
    workspace = generate_workspace(channels=1, days=3, per_day=60, thread_fraction=0.25, seed=6)
    plain = write_export(workspace, tmp_path / "with")
    stripped = write_export(workspace, tmp_path / "without", thread_metadata=False)
    with ExportSource(plain) as a, ExportSource(stripped) as b:
        channel = a.list_channels()[0]
        b.list_channels()
        with_meta = {m.ts: m for m in _all(a, channel)}
        computed = {m.ts: m for m in _all(b, channel)}
    parents = [m for m in with_meta.values() if m.reply_count]
    assert parents
    for parent in parents:
        assert computed[parent.ts].reply_count == parent.reply_count
        assert computed[parent.ts].latest_reply == parent.latest_reply


def test_api_and_export_give_the_same_normalized_rows(
    tmp_path: Path, serve: Callable[[FakeSlack], str], api_source: Callable[..., WebApiSource]
) -> None:
    workspace = generate_workspace(channels=2, days=4, per_day=80, thread_fraction=0.2, seed=13)
    folder = write_export(workspace, tmp_path / "export")
    api = api_source(serve(FakeSlack.from_workspace(workspace)))
    with ExportSource(folder, workspace_url="https://synthetic.slack.com/") as export:
        for channel in export.list_channels():

            def rows(source: MessageSource) -> dict[str, dict[str, object]]:
                return {m.ts: m.model_dump() for m in _all(source, channel)}

            from_api, from_export = rows(api), rows(export)
            assert from_api.keys() == from_export.keys()
            assert from_api == from_export


def _corrupt(folder: Path, name: str, content: bytes) -> None:
    (folder / name).write_bytes(content)


def test_malformed_day_file_is_skipped_and_recorded(tmp_path: Path) -> None:
    folder, workspace = _workspace_export(tmp_path)
    day_files = sorted((folder / "channel-1").glob("*.json"))
    bad = day_files[1]
    lost = len(json.loads(bad.read_text()))
    bad.write_bytes(bad.read_bytes()[:-200])  # truncated mid-array
    with ExportSource(folder, errors="skip") as source:
        channel = source.list_channels()[0]
        messages = _all(source, channel)
        assert len(source.errors) == 1
        error = source.errors[0]
        assert bad.name in str(error) and "truncated" in str(error)
    total = len(workspace.messages["C00000001"])  # type: ignore[attr-defined]
    # the good files are kept; replies living in the bad file are lost with it
    assert total - lost - 20 <= len(messages) < total


def test_malformed_day_file_stops_when_asked(tmp_path: Path) -> None:
    folder, _ = _workspace_export(tmp_path)
    bad = sorted((folder / "channel-1").glob("*.json"))[0]
    _corrupt(folder / "channel-1", bad.name, b'[{"ts": "1.0", "text": ')
    with ExportSource(folder, errors="stop") as source:
        channel = source.list_channels()[0]
        with pytest.raises(ExportFileError, match=bad.name):
            _all(source, channel)


def test_non_array_day_file_and_bad_messages_are_skipped(tmp_path: Path) -> None:
    folder, _ = _workspace_export(tmp_path)
    files = sorted((folder / "channel-2").glob("*.json"))
    files[0].write_text('{"not": "an array"}')
    items = json.loads(files[1].read_text())
    items.append({"text": "no ts at all"})
    items.append({"ts": 17, "text": "numeric ts"})
    files[1].write_text(json.dumps(items))
    with ExportSource(folder) as source:
        channel = source.list_channels()[1]
        messages = _all(source, channel)
        assert messages and source.skipped_messages == 2
        assert len(source.errors) == 1 and files[0].name in source.errors[0].path


def test_bad_zip_member_is_an_export_file_error(tmp_path: Path) -> None:
    workspace = generate_workspace(channels=1, days=2, per_day=20, seed=2)
    archive = write_export(workspace, tmp_path / "export.zip", as_zip=True)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        info = next(i for i in zf.infolist() if i.filename.startswith("channel-1/"))
    # flip bytes inside the member's compressed data: its CRC check fails on read
    start = info.header_offset + 30 + len(info.filename) + 5
    for offset in range(start, start + 20):
        data[offset] ^= 0xFF
    archive.write_bytes(bytes(data))
    with ExportSource(archive) as source:
        channel = source.list_channels()[0]
        messages = _all(source, channel)
        assert len(source.errors) == 1 and info.filename in str(source.errors[0])
        assert len(messages) > 0  # the other day is kept


def test_truncated_zip_names_the_file_and_the_fix(tmp_path: Path) -> None:
    workspace = generate_workspace(channels=1, days=2, per_day=20, seed=2)
    archive = write_export(workspace, tmp_path / "export.zip", as_zip=True)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(ExportArchiveError) as info:
        ExportSource(archive)
    message = str(info.value)
    assert str(archive) in message and "truncated" in message and "download" in message


def test_not_an_export(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ExportArchiveError, match=r"channels\.json"):
        ExportSource(tmp_path / "empty")
    with pytest.raises(ExportArchiveError, match="does not exist"):
        ExportSource(tmp_path / "missing.zip")


def test_private_channels_and_filters(tmp_path: Path) -> None:
    folder, _ = _workspace_export(tmp_path)
    (folder / "groups.json").write_text(json.dumps([{"id": "G1", "name": "secret"}]))
    (folder / "secret").mkdir()
    (folder / "secret" / "2024-03-28.json").write_text(
        json.dumps([{"type": "message", "user": "U1", "text": "psst", "ts": "1711620000.000100"}])
    )
    with ExportSource(folder) as source:
        channels = source.list_channels()
        secret = next(c for c in channels if c.id == "G1")
        assert secret.is_private
        assert [m.text for m in _all(source, secret)] == ["psst"]
    with ExportSource(folder, channels=["secret", "C00000001"]) as only:
        assert {c.id for c in only.list_channels()} == {"G1", "C00000001"}
    with ExportSource(folder, exclude_channels=["#secret"]) as without:
        assert "G1" not in {c.id for c in without.list_channels()}
