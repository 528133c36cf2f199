"""Ingestion end to end: real slack_sdk -> fake Slack -> repository on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from slack_events_dagster.domain.models import (
    IngestionOutcome,
    SlackChannel,
    SlackMessage,
    datetime_to_ts,
    ts_sort_key,
    ts_to_datetime,
)
from slack_events_dagster.slack.errors import SlackAuthError
from slack_events_dagster.slack.export import ExportSource
from slack_events_dagster.slack.ingest import ingest_channel, ingest_window
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import FakeSlack, FaultPlan
from slack_events_dagster.testing.workspace_gen import (
    DEFAULT_END,
    GeneratedWorkspace,
    generate_workspace,
    write_export,
)
from slack_events_dagster_tests.helpers.slack_api import top_level_count
from slack_events_dagster_tests.helpers.stores import ingest_workspace

Serve = Callable[[FakeSlack], str]
MakeSource = Callable[..., WebApiSource]
NOW = datetime(2024, 3, 30, 12, tzinfo=UTC)
END = datetime(DEFAULT_END.year, DEFAULT_END.month, DEFAULT_END.day, tzinfo=UTC) + timedelta(days=1)
C1 = "C00000001"


def _ts(moment: datetime) -> str:
    return datetime_to_ts(moment)


def _top_level(workspace: GeneratedWorkspace, channel_id: str) -> list[dict[str, Any]]:
    return [m for m in workspace.messages[channel_id] if m.get("thread_ts") in (None, m["ts"])]


def _days_ago(workspace: GeneratedWorkspace, channel_id: str, days: float) -> dict[str, Any]:
    """The top-level message closest to ``days`` before the end of the data."""
    target = (END - timedelta(days=days)).timestamp()
    return min(_top_level(workspace, channel_id), key=lambda m: abs(float(m["ts"]) - target))


def _snapshot(repository: SqlRepository, channel_ids: list[str]) -> dict[str, Any]:
    return {
        channel_id: [
            (m.ts, m.thread_ts, m.text, m.edited_ts, m.reply_count, m.latest_reply, m.is_deleted)
            for m in repository.get_messages(channel_id, include_deleted=True)
        ]
        for channel_id in channel_ids
    }


def test_full_history_then_incremental_new_messages(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=2, days=3, per_day=120, thread_fraction=0.1, seed=1)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake), page_size=50)

    report = ingest_workspace(source, repository, now=NOW)
    assert report.channels_listed == 2 and report.users == 25
    assert [r.outcome for r in report.channels] == [IngestionOutcome.OK] * 2
    assert repository.count_messages() == workspace.message_count()
    for channel_id in (C1, "C00000002"):
        newest = max((m["ts"] for m in _top_level(workspace, channel_id)), key=ts_sort_key)
        assert repository.get_watermark(channel_id) == newest
    assert {c.id for c in repository.get_channels()} == {C1, "C00000002"}
    assert len(repository.get_users()) == 25
    states = repository.get_ingestion_states()
    assert states[C1].outcome is IngestionOutcome.OK and states[C1].api_calls > 0
    assert states[C1].new == len(workspace.messages[C1])

    new_ts = [fake.add_message(C1, f"new {i}", ts=_ts(END + timedelta(hours=i))) for i in (1, 2, 3)]
    second = ingest_workspace(source, repository, now=NOW)
    by_channel = {r.channel_id: r for r in second.channels}
    assert by_channel[C1].new == 3 and by_channel["C00000002"].new == 0
    assert repository.get_watermark(C1) == new_ts[-1]
    assert repository.count_messages() == workspace.message_count() + 3


def test_unchanged_workspace_costs_one_history_call_per_channel_and_no_replies(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    # 10 days, threads included: the 30-day thread horizon fits in one page of 200
    workspace = generate_workspace(channels=3, days=10, per_day=15, thread_fraction=0.2, seed=2)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake), page_size=200)
    ingest_workspace(source, repository, now=NOW)
    assert fake.calls["conversations.replies"] > 0
    fake.reset_counts()
    report = ingest_workspace(source, repository, now=NOW)
    assert fake.calls["conversations.history"] == 3
    assert fake.calls["conversations.replies"] == 0
    assert report.total("new") == 0 and report.total("edited") == 0 and report.total("deleted") == 0


def test_new_reply_to_a_5_day_old_thread_is_picked_up(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=1, days=10, per_day=30, thread_fraction=0.1, seed=3)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake))
    ingest_workspace(source, repository, now=NOW)
    parent = _days_ago(workspace, C1, 5)
    fake.reset_counts()

    reply = fake.add_reply(C1, parent["ts"], "moved to Thursday", ts=_ts(END + timedelta(hours=1)))
    report = ingest_channel(source, repository, SlackChannel(id=C1, name="channel-1"), now=NOW)
    assert report.outcome is IngestionOutcome.OK and report.new == 1
    assert fake.calls["conversations.replies"] == 1
    replies = repository.get_thread_replies(C1, parent["ts"])
    assert reply in [r.ts for r in replies]
    stored_parent = repository.get_messages_by_keys([_ref(C1, parent["ts"])])[0]
    assert stored_parent.latest_reply == reply
    # the watermark is about channel history; a reply does not move it
    assert report.watermark_after == report.watermark_before


def _ref(channel_id: str, ts: str) -> Any:
    from slack_events_dagster.domain.models import SourceRef

    return SourceRef(channel_id=channel_id, ts=ts)


def test_replies_to_threads_older_than_the_lookback_are_picked_up(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=1, days=25, per_day=6, thread_fraction=0.0, seed=4)
    fake = FakeSlack.from_workspace(workspace)
    old_thread = _days_ago(workspace, C1, 20)
    fake.add_reply(
        C1,
        old_thread["ts"],
        "first reply",
        ts=_ts(ts_to_datetime(old_thread["ts"]) + timedelta(minutes=1)),
    )
    source = api_source(serve(fake))
    ingest_workspace(source, repository, now=NOW)
    fake.reset_counts()

    old_message = _days_ago(workspace, C1, 15)  # a message with no thread yet
    late = fake.add_reply(C1, old_thread["ts"], "still on?", ts=_ts(END + timedelta(hours=1)))
    started = fake.add_reply(
        C1, old_message["ts"], "a new thread", ts=_ts(END + timedelta(hours=2))
    )
    report = ingest_channel(source, repository, SlackChannel(id=C1, name="channel-1"), now=NOW)
    assert report.new == 2 and report.threads_refreshed == 2
    assert fake.calls["conversations.replies"] == 2
    assert late in [r.ts for r in repository.get_thread_replies(C1, old_thread["ts"])]
    assert [r.ts for r in repository.get_thread_replies(C1, old_message["ts"])] == [started]


def test_edits_and_deletions_inside_the_lookback_and_nothing_outside(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=1, days=14, per_day=12, thread_fraction=0.0, seed=5)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake))
    ingest_workspace(source, repository, now=NOW)
    recent_edit, old_edit = _days_ago(workspace, C1, 3), _days_ago(workspace, C1, 10)
    recent_delete, old_delete = _days_ago(workspace, C1, 2), _days_ago(workspace, C1, 12)
    assert len({m["ts"] for m in (recent_edit, old_edit, recent_delete, old_delete)}) == 4
    for message in (recent_edit, old_edit):
        fake.edit_message(C1, message["ts"], "EDITED: now on Friday", edited_ts=_ts(END))
    for message in (recent_delete, old_delete):
        fake.delete_message(C1, message["ts"])

    report = ingest_channel(source, repository, SlackChannel(id=C1, name="channel-1"), now=NOW)
    assert (report.edited, report.deleted, report.new) == (1, 1, 0)
    stored = {m.ts: m for m in repository.get_messages(C1, include_deleted=True)}
    assert stored[recent_edit["ts"]].text == "EDITED: now on Friday"
    assert stored[recent_edit["ts"]].edited_ts == _ts(END)
    assert stored[old_edit["ts"]].text == old_edit["text"]  # outside the 7-day lookback
    assert stored[recent_delete["ts"]].is_deleted
    assert stored[recent_delete["ts"]].text == recent_delete["text"]  # text is kept
    assert not stored[old_delete["ts"]].is_deleted


def test_deleted_reply_in_a_re_read_thread_is_marked(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=1, days=3, per_day=20, thread_fraction=0.0, seed=6)
    fake = FakeSlack.from_workspace(workspace)
    parent = _days_ago(workspace, C1, 1)
    base = ts_to_datetime(parent["ts"])
    first = fake.add_reply(C1, parent["ts"], "one", ts=_ts(base + timedelta(minutes=1)))
    second = fake.add_reply(C1, parent["ts"], "two", ts=_ts(base + timedelta(minutes=2)))
    source = api_source(serve(fake))
    ingest_workspace(source, repository, now=NOW)

    fake.delete_message(C1, first)  # latest_reply unchanged, reply_count drops ...
    fake.add_reply(C1, parent["ts"], "three", ts=_ts(END + timedelta(minutes=5)))  # ... and moves
    report = ingest_channel(source, repository, SlackChannel(id=C1, name="channel-1"), now=NOW)
    assert report.deleted == 1 and report.new == 1
    live = [r.ts for r in repository.get_thread_replies(C1, parent["ts"]) if not r.is_deleted]
    assert first not in live and second in live


def test_a_fault_ridden_run_stores_exactly_what_a_clean_run_stores(
    tmp_path: Path, postgres_url: str, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=2, days=4, per_day=60, thread_fraction=0.15, seed=7)
    clean = FakeSlack.from_workspace(workspace)
    faulty = FakeSlack.from_workspace(
        workspace,
        faults=FaultPlan(
            rate=0.2, seed=3, kinds=("429", "500", "502", "503", "ratelimited"), retry_after_s=0
        ),
    )
    clean_repo = SqlRepository.from_url(f"sqlite:///{tmp_path / 'clean.db'}")
    clean_repo.create_schema()
    faulty_repo = SqlRepository.from_url(postgres_url)
    try:
        sources = [(clean, api_source(serve(clean), page_size=40), clean_repo)]
        sources.append((faulty, api_source(serve(faulty), page_size=40), faulty_repo))
        for fake, source, repo in sources:
            ingest_workspace(source, repo, now=NOW)
            fake.add_message(C1, "after the first run", ts=_ts(END + timedelta(hours=1)))
            parent = _days_ago(workspace, C1, 2)
            fake.add_reply(C1, parent["ts"], "late reply", ts=_ts(END + timedelta(hours=2)))
            fake.edit_message(C1, _days_ago(workspace, C1, 1)["ts"], "edited", edited_ts=_ts(END))
            report = ingest_workspace(source, repo, now=NOW)
            assert not report.failed
        assert sum(faulty.faults_injected.values()) >= 10
        channels = [C1, "C00000002"]
        assert _snapshot(faulty_repo, channels) == _snapshot(clean_repo, channels)
        assert faulty_repo.get_watermarks() == clean_repo.get_watermarks()
    finally:
        clean_repo.close()
        faulty_repo.close()


def test_invalid_auth_stops_the_run_and_moves_no_watermark(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=2, days=2, per_day=20, seed=8)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake))
    ingest_workspace(source, repository, now=NOW)
    before = repository.get_watermarks()
    fake.add_message(C1, "unseen", ts=_ts(END + timedelta(hours=1)))

    fake.force_invalid_auth = True
    with pytest.raises(SlackAuthError, match="invalid_auth") as info:
        ingest_workspace(source, repository, now=NOW)
    assert "xoxb-" not in str(info.value)
    with pytest.raises(SlackAuthError):
        ingest_channel(source, repository, SlackChannel(id=C1, name="channel-1"), now=NOW)
    assert repository.get_watermarks() == before
    state = repository.get_ingestion_states()[C1]
    assert state.outcome is IngestionOutcome.FAILED
    assert state.last_error is not None and "invalid_auth" in state.last_error
    assert "xoxb-" not in state.last_error


def test_unreadable_channel_is_skipped_and_the_others_are_ingested(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=3, days=1, per_day=10, seed=9)
    fake = FakeSlack.from_workspace(workspace)
    fake.not_in_channel.add("C00000002")
    fake.set_member("C00000003", False)
    source = api_source(serve(fake))
    report = ingest_workspace(source, repository, now=NOW)
    outcomes = {r.channel_id: r.outcome for r in report.channels}
    assert outcomes == {
        C1: IngestionOutcome.OK,
        "C00000002": IngestionOutcome.SKIPPED,
        "C00000003": IngestionOutcome.SKIPPED,
    }
    states = repository.get_ingestion_states()
    assert states["C00000002"].last_error is not None
    assert "not_in_channel" in states["C00000002"].last_error
    assert repository.get_watermark("C00000002") is None
    assert repository.count_messages(C1) == len(workspace.messages[C1])


def test_a_failed_page_keeps_written_data_and_leaves_the_watermark(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=1, days=2, per_day=60, thread_fraction=0.2, seed=10)
    # two history pages succeed, then history fails for good (no retries)
    fake = FakeSlack.from_workspace(
        workspace,
        faults=FaultPlan(
            rate=1.0, kinds=("503",), methods=frozenset({"conversations.history"}), after_calls=2
        ),
    )
    source = api_source(serve(fake), page_size=20, max_retries=0)
    channel = SlackChannel(id=C1, name="channel-1")
    report = ingest_channel(source, repository, channel, now=NOW)
    assert report.outcome is IngestionOutcome.FAILED and "internal_error" in (report.error or "")
    assert repository.get_watermark(C1) is None
    written = repository.count_messages(C1)
    assert 40 <= written < len(workspace.messages[C1])  # the pages before the failure stay
    assert repository.get_ingestion_states()[C1].outcome is IngestionOutcome.FAILED

    fake.faults.rate = 0.0
    report = ingest_channel(source, repository, channel, now=NOW)
    assert report.outcome is IngestionOutcome.OK
    assert repository.count_messages(C1) == len(workspace.messages[C1])
    newest = max((m["ts"] for m in _top_level(workspace, C1)), key=ts_sort_key)
    assert repository.get_watermark(C1) == newest


def test_window_mode_reads_a_date_range_without_moving_watermarks(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=1, days=5, per_day=300, thread_fraction=0.1, seed=11)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake))
    channel = SlackChannel(id=C1, name="channel-1")
    start, end = END - timedelta(days=3), END - timedelta(days=2)
    report = ingest_window(source, repository, channel, start=start, end=end, now=NOW)
    in_day = [
        m
        for m in workspace.messages[C1]
        if start <= ts_to_datetime(m["ts"]) < end and m.get("thread_ts") in (None, m["ts"])
    ]
    assert fake.calls["conversations.history"] == 1  # 270 top-level messages, one page of 1000
    stored_top = [m for m in repository.get_messages(C1, start, end) if not m.is_reply]
    assert {m.ts for m in stored_top} >= {m["ts"] for m in in_day}
    assert report.outcome is IngestionOutcome.OK and repository.get_watermark(C1) is None
    fake.reset_counts()
    again = ingest_window(source, repository, channel, start=start, end=end, now=NOW)
    assert again.new == 0 and fake.calls["conversations.replies"] == 0


def test_export_ingestion_matches_api_ingestion(
    tmp_path: Path, sqlite_repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=2, days=3, per_day=40, thread_fraction=0.2, seed=12)
    folder = write_export(workspace, tmp_path / "export")
    api_repo = SqlRepository.from_url(f"sqlite:///{tmp_path / 'api.db'}")
    api_repo.create_schema()
    try:
        ingest_workspace(api_source(serve(FakeSlack.from_workspace(workspace))), api_repo, now=NOW)
        with ExportSource(folder, workspace_url="https://synthetic.slack.com/") as export:
            report = ingest_workspace(export, sqlite_repository, now=NOW)
            assert not report.failed and report.calls["day_file"] > 0
        channels = [C1, "C00000002"]
        assert _snapshot(sqlite_repository, channels) == _snapshot(api_repo, channels)
        assert sqlite_repository.get_watermarks() == api_repo.get_watermarks()
    finally:
        api_repo.close()


class _ThreadReadCountingRepository(SqlRepository):
    """The real repository, counting its per-thread stored-replies queries."""

    thread_reads = 0

    def get_thread_replies(self, channel_id: str, thread_ts: str) -> list[SlackMessage]:
        self.thread_reads += 1
        return super().get_thread_replies(channel_id, thread_ts)


def test_first_backfill_skips_stored_reply_checks_later_runs_do_them(
    tmp_path: Path, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=1, days=3, per_day=60, thread_fraction=0.2, seed=14)
    fake = FakeSlack.from_workspace(workspace)
    engine = SqlRepository.from_url(f"sqlite:///{tmp_path / 'count.db'}").engine
    repository = _ThreadReadCountingRepository(engine)
    repository.create_schema()
    try:
        source = api_source(serve(fake))
        channel = SlackChannel(id=C1, name="channel-1")
        first = ingest_channel(source, repository, channel, now=NOW)
        # nothing was stored before: every stored reply came from the threads just read
        assert first.threads_refreshed > 5 and repository.thread_reads == 0
        assert repository.count_messages(C1) == len(workspace.messages[C1])

        parent = _days_ago(workspace, C1, 1)
        base = ts_to_datetime(parent["ts"])
        gone = fake.add_reply(C1, parent["ts"], "soon gone", ts=_ts(base + timedelta(seconds=1)))
        ingest_channel(source, repository, channel, now=NOW)
        fake.delete_message(C1, gone)
        fake.add_reply(C1, parent["ts"], "later", ts=_ts(END + timedelta(minutes=5)))
        report = ingest_channel(source, repository, channel, now=NOW)
        assert repository.thread_reads == 2  # one check per re-read thread and run
        assert report.deleted == 1
        live = [r.ts for r in repository.get_thread_replies(C1, parent["ts"]) if not r.is_deleted]
        assert gone not in live
    finally:
        repository.close()


def test_incremental_run_costs_channels_plus_changed_threads_plus_extra_pages(
    repository: SqlRepository, serve: Serve, api_source: MakeSource
) -> None:
    workspace = generate_workspace(channels=3, days=30, per_day=80, thread_fraction=0.1, seed=15)
    fake = FakeSlack.from_workspace(workspace)
    source = api_source(serve(fake), page_size=1000)
    ingest_workspace(source, repository, now=NOW)
    fake.reset_counts()

    changed: set[tuple[str, str]] = set()
    for index, channel_id in enumerate(sorted(workspace.messages)):
        fake.add_message(channel_id, "new", ts=_ts(END + timedelta(minutes=index)))
        for days in (2, 12, 25):  # inside the lookback, and two older threads
            parent = _days_ago(workspace, channel_id, days + index / 10)
            fake.add_reply(
                channel_id, parent["ts"], "late", ts=_ts(END + timedelta(hours=days, minutes=index))
            )
            changed.add((channel_id, parent["ts"]))
    report = ingest_workspace(source, repository, now=NOW)
    assert report.total("new") == 3 + len(changed) and not report.failed

    # the whole 30 days are the thread horizon: one call per 1000 top-level messages
    pages = [-(-top_level_count(workspace, c) // 1000) for c in workspace.messages]
    extra_pages = sum(p - 1 for p in pages)
    assert fake.calls["conversations.replies"] == len(changed)
    assert fake.calls["conversations.history"] == len(pages) + extra_pages
    for channel_id, parent_ts in changed:
        replies = repository.get_thread_replies(channel_id, parent_ts)
        assert "late" in [r.text for r in replies]
