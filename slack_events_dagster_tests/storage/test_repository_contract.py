"""The repository contract: every case runs on a SQLite file and on real PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from slack_events_dagster.domain.models import (
    CandidateStatus,
    Digest,
    EventCandidate,
    IngestionOutcome,
    IngestionState,
    LLMCall,
    LLMCallStatus,
    SlackChannel,
    SlackMessage,
    SlackUser,
    SourceRef,
)
from slack_events_dagster.storage.base import RepositoryError, RepositoryUnavailableError
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import raw_slack_messages
from slack_events_dagster_tests.helpers.records import BASE_TS, make_message
from slack_events_dagster_tests.helpers.stores import advance_watermark, llm_call_counts


def stored_updated_at(repository: SqlRepository) -> dict[str, datetime]:
    t = raw_slack_messages
    with repository.engine.connect() as conn:
        return {row.ts: row.updated_at for row in conn.execute(select(t.c.ts, t.c.updated_at))}


# -- messages ------------------------------------------------------------------


def test_message_upsert_is_idempotent(repository: SqlRepository) -> None:
    messages = [make_message(i) for i in range(2500)]
    first = repository.upsert_messages(messages)
    assert (first.inserted, first.updated, first.unchanged) == (2500, 0, 0)
    before = stored_updated_at(repository)

    second = repository.upsert_messages(messages)

    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2500)
    assert repository.count_messages() == 2500
    assert stored_updated_at(repository) == before


def test_message_round_trip_keeps_every_field(repository: SqlRepository) -> None:
    message = make_message(
        1,
        thread_ts=f"{BASE_TS + 60}.000001",
        reply_count=3,
        latest_reply=f"{BASE_TS + 600}.000009",
        subtype="thread_broadcast",
        files=[{"id": "F1", "name": "plan.pdf"}],
        attachments=[{"fallback": "deploy ok", "color": "good"}],
        edited_ts=f"{BASE_TS + 90}.000000",
        permalink="https://acme.slack.com/archives/C1/p1772467260000001",
        is_content=True,
        bot_id="B1",
        username="deploybot",
    )
    repository.upsert_messages([message])
    [stored] = repository.get_messages("C1")
    assert stored == message
    assert stored.posted_at == datetime.fromtimestamp(BASE_TS + 60, tz=UTC).replace(microsecond=1)


def test_ts_is_kept_verbatim(repository: SqlRepository) -> None:
    # As floats these two would be equal; as Slack ids they are different messages.
    a = make_message(1, ts="1772467260.000100")
    b = make_message(2, ts="1772467260.000101")
    repository.upsert_messages([a, b])
    assert [m.ts for m in repository.get_messages("C1")] == [
        "1772467260.000100",
        "1772467260.000101",
    ]


def test_edit_replaces_text_and_keeps_history(repository: SqlRepository) -> None:
    original = make_message(1, text="Release v2 on Tuesday")
    repository.upsert_messages([original])
    edited = original.model_copy(
        update={"text": "Release v2 on Wednesday", "edited_ts": "1772470000.000000"}
    )
    counts = repository.upsert_messages([edited])
    assert (counts.inserted, counts.updated) == (0, 1)
    again = edited.model_copy(
        update={"text": "Release v2 on Thursday", "edited_ts": "1772471000.000000"}
    )
    repository.upsert_messages([again])

    [stored] = repository.get_messages("C1")
    assert stored.text == "Release v2 on Thursday"
    assert stored.edited_ts == "1772471000.000000"
    with repository.engine.connect() as conn:
        history = conn.execute(select(raw_slack_messages.c.edit_history)).scalar_one()
    assert history == [
        {"edited_ts": None, "text": "Release v2 on Tuesday"},
        {"edited_ts": "1772470000.000000", "text": "Release v2 on Wednesday"},
    ]


def test_reaction_change_updates_without_edit_history(repository: SqlRepository) -> None:
    message = make_message(1)
    repository.upsert_messages([message])
    more = message.model_copy(update={"reactions": [{"name": "tada", "count": 5, "users": []}]})
    assert repository.upsert_messages([more]).updated == 1
    with repository.engine.connect() as conn:
        assert conn.execute(select(raw_slack_messages.c.edit_history)).scalar_one() is None


def test_deletion_keeps_the_text(repository: SqlRepository) -> None:
    message = make_message(1, text="Offsite on Friday")
    other = make_message(2)
    repository.upsert_messages([message, other])
    notice = message.model_copy(update={"text": "", "is_deleted": True, "blocks": []})
    repository.upsert_messages([notice])
    assert repository.mark_messages_deleted("C1", [other.ts, "1.000000"]) == 1
    assert repository.mark_messages_deleted("C1", [other.ts]) == 0

    assert repository.get_messages("C1") == []
    assert repository.count_messages("C1", include_deleted=False) == 0
    assert repository.count_messages("C1") == 2
    stored = repository.get_messages("C1", include_deleted=True)
    assert [(m.text, m.is_deleted) for m in stored] == [
        ("Offsite on Friday", True),
        (other.text, True),
    ]
    # Deleted messages stay deleted on an idempotent re-run of the notice.
    assert repository.upsert_messages([notice]).unchanged == 1


def test_messages_by_window_and_thread(repository: SqlRepository) -> None:
    parent = make_message(0, reply_count=2, latest_reply=make_message(5).ts)
    parent = parent.model_copy(update={"thread_ts": parent.ts})
    replies = [make_message(i, thread_ts=parent.ts) for i in (3, 5)]
    others = [make_message(i, channel="C2") for i in range(3)] + [make_message(10)]
    repository.upsert_messages([parent, *replies, *others])

    start = datetime.fromtimestamp(BASE_TS, tz=UTC)
    window = repository.get_messages("C1", start, start + timedelta(minutes=6))
    assert [m.ts for m in window] == [parent.ts, replies[0].ts, replies[1].ts]
    assert [m.ts for m in repository.get_thread_replies("C1", parent.ts)] == [r.ts for r in replies]
    assert repository.get_thread_latest_replies("C1", parent.ts) == {parent.ts: replies[1].ts}
    assert repository.get_message_ts_between("C1", parent.ts, make_message(10).ts) == {
        parent.ts,
        make_message(10).ts,
    }
    keys = [SourceRef(channel_id="C2", ts=others[1].ts), SourceRef(channel_id="C1", ts=parent.ts)]
    assert {m.ts for m in repository.get_messages_by_keys(keys)} == {others[1].ts, parent.ts}
    assert repository.newest_message_ts("C1") == make_message(10).ts
    assert repository.count_messages("C2") == 3
    # Counted by the database over the same window as get_messages.
    assert repository.count_messages("C1", start, start + timedelta(minutes=6)) == len(window)
    assert repository.count_messages("C1", start + timedelta(minutes=6)) == 1


def test_changed_message_times_name_the_writes_since(repository: SqlRepository) -> None:
    """What the watermark sensor reads with Socket Mode: rows written after a moment,
    within a posting window, without asking Slack."""
    messages = [make_message(i) for i in range(5)]
    repository.upsert_messages(messages)
    posted = {m.ts: m.posted_at for m in messages}
    since = datetime.now(UTC)
    time.sleep(0.01)
    assert repository.changed_message_times("C1", posted[messages[0].ts], since) == []
    edited = messages[3].model_copy(update={"text": "moved", "edited_ts": f"{BASE_TS + 999}.0"})
    repository.upsert_messages([edited, messages[4]])  # the second is unchanged: not written
    changed = repository.changed_message_times("C1", posted[messages[0].ts], since)
    assert [p for p, _ in changed] == [posted[messages[3].ts]]
    assert all(written > since for _, written in changed)
    # Posted before the window: not named, however recently written.
    assert repository.changed_message_times("C1", posted[messages[4].ts], since) == []
    assert repository.changed_message_times("C2", posted[messages[0].ts], since) == []


def test_unicode_and_40kb_messages(repository: SqlRepository) -> None:
    long_text = ("Ünïcödé 🎉 שלום 你好 — " * 2000)[:40_000]
    emoji_only = "🚀🔥🧪👩🏽‍💻🏳️‍🌈"
    messages = [make_message(1, text=long_text), make_message(2, text=emoji_only)]
    repository.upsert_messages(messages)
    stored = repository.get_messages("C1")
    assert [m.text for m in stored] == [long_text, emoji_only]
    assert len(stored[0].text) == 40_000


def test_json_blocks_round_trip(repository: SqlRepository) -> None:
    blocks = [
        {
            "type": "rich_text",
            "block_id": "x1",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": 'naïve "quoted" \\ back'},
                        {"type": "emoji", "name": "tada", "unicode": "1f389"},
                        {"type": "link", "url": "https://example.com/?a=1&b=2"},
                    ],
                }
            ],
            "nested": {"deep": [[1, 2.5, None, True]]},
        }
    ]
    repository.upsert_messages([make_message(1, blocks=blocks)])
    assert repository.get_messages("C1")[0].blocks == blocks
    if repository.dialect == "postgresql":
        with repository.engine.connect() as conn:
            kind = conn.execute(
                text("SELECT pg_typeof(blocks)::text FROM raw_slack_messages")
            ).scalar()
            found = conn.execute(
                text("SELECT count(*) FROM raw_slack_messages WHERE blocks @> :probe"),
                {"probe": '[{"block_id": "x1"}]'},
            ).scalar()
        assert kind == "jsonb"
        assert found == 1


# -- watermarks ------------------------------------------------------------------


def test_watermark_only_moves_forward(repository: SqlRepository) -> None:
    assert repository.get_watermark("C1") is None
    assert advance_watermark(repository, "C1", "1772467300.000200")
    assert not advance_watermark(repository, "C1", "1772467300.000100")
    assert not advance_watermark(repository, "C1", "1772467300.000200")
    # "…0300.5" is later than "…0300.000200" although it sorts lower as text.
    assert advance_watermark(repository, "C1", "1772467301.5")
    assert repository.get_watermark("C1") == "1772467301.5"
    assert repository.get_watermarks() == {"C1": "1772467301.5"}


def test_watermark_moves_with_its_messages(repository: SqlRepository) -> None:
    messages = [make_message(i) for i in range(10)]
    repository.upsert_messages(messages, watermarks={"C1": messages[-1].ts})
    assert repository.get_watermark("C1") == messages[-1].ts
    repository.upsert_messages(messages[:3], watermarks={"C1": messages[2].ts})
    assert repository.get_watermark("C1") == messages[-1].ts


def test_failed_write_rolls_back_messages_and_watermark(repository: SqlRepository) -> None:
    repository.upsert_messages([make_message(0)], watermarks={"C1": make_message(0).ts})

    def broken_page() -> Iterator[SlackMessage]:
        # More than one batch is written inside the transaction before the failure.
        for i in range(1, repository.batch_size + 50):
            yield make_message(i)
        raise ConnectionError("network dropped mid-page")

    with pytest.raises(ConnectionError):
        repository.upsert_messages(broken_page(), watermarks={"C1": make_message(99_999).ts})

    assert repository.count_messages() == 1
    assert repository.get_watermark("C1") == make_message(0).ts


# -- channels, users, ingestion state ---------------------------------------------


def test_channels_users_and_ingestion_state(repository: SqlRepository) -> None:
    created = datetime(2020, 1, 1, 12, tzinfo=UTC)
    channels = [
        SlackChannel(id="C1", name="general", created=created, topic="all things"),
        SlackChannel(id="C2", name="old-stuff", is_archived=True),
    ]
    assert repository.upsert_channels(channels).inserted == 2
    assert repository.upsert_channels(channels).unchanged == 2
    renamed = channels[0].model_copy(update={"name": "announcements"})
    assert repository.upsert_channels([renamed]).updated == 1
    assert repository.get_channels() == [renamed]
    assert len(repository.get_channels(include_archived=True)) == 2

    users = [SlackUser(id="U1", name="ada", real_name="Ada Lovelace", tz="Europe/London")]
    repository.upsert_users(users)
    assert repository.get_users()["U1"].label == "Ada Lovelace"

    state = IngestionState(
        channel_id="C1",
        source="api",
        last_run_at=datetime(2026, 3, 2, tzinfo=UTC),
        outcome=IngestionOutcome.SKIPPED,
        last_error="not_in_channel",
    )
    repository.record_ingestion(state)
    repository.record_ingestion(
        state.model_copy(update={"outcome": IngestionOutcome.OK, "fetched": 7})
    )
    stored = repository.get_ingestion_states()["C1"]
    assert (stored.outcome, stored.fetched) == (IngestionOutcome.OK, 7)


# -- candidates ------------------------------------------------------------------


def test_candidates_keep_status_unless_rescored(repository: SqlRepository) -> None:
    candidates = [
        EventCandidate(
            channel_id="C1", ts=make_message(i).ts, score=0.7, reasons=["date", "release"]
        )
        for i in range(3)
    ]
    assert repository.upsert_candidates(candidates).inserted == 3
    key = SourceRef(channel_id="C1", ts=candidates[0].ts)
    repository.set_candidate_status([key], CandidateStatus.EXTRACTED)
    repository.set_candidate_status(
        [SourceRef(channel_id="C1", ts=candidates[1].ts)],
        CandidateStatus.FAILED,
        error="answer was not JSON",
        raw_answer="Sure! Here is",
    )

    assert repository.upsert_candidates(candidates).unchanged == 3
    by_ts = {c.ts: c for c in repository.get_candidates()}
    assert by_ts[candidates[0].ts].status is CandidateStatus.EXTRACTED
    failed = by_ts[candidates[1].ts]
    assert (failed.status, failed.last_error, failed.raw_answer, failed.attempts) == (
        CandidateStatus.FAILED,
        "answer was not JSON",
        "Sure! Here is",
        1,
    )

    rescored = candidates[0].model_copy(update={"score": 0.9})
    assert repository.upsert_candidates([rescored]).updated == 1
    pending = repository.get_candidates(statuses=[CandidateStatus.PENDING])
    assert {c.ts for c in pending} == {candidates[0].ts, candidates[2].ts}
    start = make_message(1).posted_at
    assert [c.ts for c in repository.get_candidates(start=start, limit=5)] == [
        candidates[1].ts,
        candidates[2].ts,
    ]


# -- LLM calls and digests -----------------------------------------------------------


def test_llm_cache_hit_and_spend(repository: SqlRepository) -> None:
    now = datetime.now(UTC)
    call = LLMCall(
        prompt_hash="a" * 64,
        model="gpt-4o-mini",
        prompt_version="v1",
        candidate_keys=[SourceRef(channel_id="C1", ts="1.000001")],
        request={"messages": [{"role": "user", "content": "Ünïcode 🎉"}]},
        response_text='{"events": []}',
        status=LLMCallStatus.OK,
        prompt_tokens=120,
        completion_tokens=30,
        cost_usd=0.0125,
        latency_ms=180,
        created_at=now,
    )
    assert repository.get_llm_call(call.prompt_hash) is None
    repository.record_llm_call(call)
    assert repository.get_llm_call(call.prompt_hash) == call
    repository.record_llm_call(call.model_copy(update={"prompt_hash": "b" * 64, "cost_usd": 0.5}))
    failed = call.model_copy(
        update={"prompt_hash": "c" * 64, "status": LLMCallStatus.FAILED, "cost_usd": 0.0}
    )
    repository.record_llm_call(failed)
    # Recording the same hash again replaces the row (a retried failure).
    repository.record_llm_call(failed.model_copy(update={"status": LLMCallStatus.OK}))

    day = (now - timedelta(minutes=1), now + timedelta(minutes=1))
    assert repository.llm_spend_usd(*day) == pytest.approx(0.5125)
    assert llm_call_counts(repository, *day) == {"ok": 3}
    assert repository.llm_spend_usd(now + timedelta(hours=1), now + timedelta(hours=2)) == 0.0


def test_digest_keeps_posted_ts(repository: SqlRepository) -> None:
    now = datetime.now(UTC)
    digest = Digest(
        day=date(2026, 3, 10),
        markdown="# Digest",
        slack_text="Digest",
        slack_blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
        event_count=2,
        content_hash="h1",
        created_at=now,
    )
    repository.save_digest(digest)
    repository.mark_digest_posted(digest.day, "C42", "1772467260.000100", now)
    repository.save_digest(
        digest.model_copy(update={"markdown": "# Digest v2", "content_hash": "h2"})
    )
    stored = repository.get_digest(digest.day)
    assert stored is not None
    assert (stored.markdown, stored.posted_ts, stored.channel_id) == (
        "# Digest v2",
        "1772467260.000100",
        "C42",
    )
    with pytest.raises(RepositoryError, match="mark_digest_posted"):
        repository.mark_digest_posted(date(2000, 1, 1), "C42", "1.0", now)


def test_digest_posting_attempt_is_kept_without_a_ts(repository: SqlRepository) -> None:
    now = datetime.now(UTC)
    digest = Digest(
        day=date(2026, 3, 11), markdown="# D", slack_text="D", content_hash="h1", created_at=now
    )
    repository.save_digest(digest)
    repository.mark_digest_posted(digest.day, "C42", "1772467260.000100", now)
    # Posting anew (the old message was deleted): the old ts must not survive the attempt.
    repository.mark_digest_posting(digest.day, "#general", now)
    repository.save_digest(digest.model_copy(update={"content_hash": "h2"}))
    stored = repository.get_digest(digest.day)
    assert stored is not None
    assert (stored.channel_id, stored.posted_ts, stored.posted_at) == ("#general", None, now)
    with pytest.raises(RepositoryError, match="mark_digest_posting"):
        repository.mark_digest_posting(date(2000, 1, 1), "#general", now)


# -- errors ------------------------------------------------------------------------


def test_errors_name_the_operation_and_hide_credentials(tmp_path: object) -> None:
    repository = SqlRepository.from_url(
        "postgresql://app:s3cr3t-pa55@127.0.0.1:1/slack_events?connect_timeout=2"
    )
    with pytest.raises(RepositoryUnavailableError) as caught:
        repository.get_watermark("C1")
    message = str(caught.value)
    assert "get_watermark" in message
    assert "s3cr3t-pa55" not in message
    assert "s3cr3t-pa55" not in repr(caught.value.__cause__) + repr(caught.value.__context__)
    repository.close()


def test_missing_schema_is_a_repository_error(tmp_path: object) -> None:
    repository = SqlRepository.from_url(f"sqlite:///{tmp_path}/empty.db")
    assert not repository.has_schema()
    with pytest.raises(RepositoryError, match="count_messages"):
        repository.count_messages()
    repository.close()


# -- concurrency ---------------------------------------------------------------------


@pytest.mark.parametrize("threads", [6])
def test_concurrent_upserts_of_the_same_messages(repository: SqlRepository, threads: int) -> None:
    messages = [make_message(i, channel=f"C{i % 3}") for i in range(1500)]
    edited = [
        m.model_copy(update={"text": m.text + " (edited)", "edited_ts": "1772500000.0"})
        for m in messages
    ]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for _ in range(2):
                batch = edited if worker % 2 else messages
                repository.upsert_messages(batch, watermarks={"C0": messages[-1].ts})
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()

    assert errors == []
    assert repository.count_messages() == 1500
    with repository.engine.connect() as conn:
        duplicates = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT channel_id, ts FROM raw_slack_messages "
                "GROUP BY channel_id, ts HAVING count(*) > 1) d"
            )
        ).scalar()
    assert duplicates == 0
    assert repository.get_watermark("C0") == messages[-1].ts


def test_events_lock_lets_one_holder_in_at_a_time(repository: SqlRepository) -> None:
    inside: list[int] = []
    overlaps: list[int] = []
    barrier = threading.Barrier(4)

    def hold(worker: int) -> None:
        barrier.wait()
        for _ in range(3):
            with repository.events_lock():
                inside.append(worker)
                if len(inside) > 1:
                    overlaps.append(worker)
                time.sleep(0.01)
                inside.remove(worker)

    workers = [threading.Thread(target=hold, args=(n,)) for n in range(4)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert overlaps == []


def test_extraction_lock_is_per_channel(repository: SqlRepository) -> None:
    """Runs of one channel take turns; another channel's run never waits for them."""
    held = threading.Event()
    release = threading.Event()
    entered_same = threading.Event()

    def holder() -> None:
        with repository.extraction_lock("C1"):
            held.set()
            release.wait(10)

    def same_channel() -> None:
        with repository.extraction_lock("C1"):
            entered_same.set()

    first = threading.Thread(target=holder)
    first.start()
    assert held.wait(10)
    second = threading.Thread(target=same_channel)
    second.start()
    with repository.extraction_lock("C2"):  # would hang if the locks were one
        pass
    with repository.events_lock():  # nor does it take the events lock
        pass
    assert not entered_same.wait(0.2), "two holders of C1's extraction lock at once"
    release.set()
    first.join()
    second.join()
    assert entered_same.is_set()


def test_message_links_without_loading_messages(repository: SqlRepository) -> None:
    linked = make_message(1, permalink="https://x.slack.com/archives/C1/p1")
    reply = make_message(2, thread_ts=linked.ts)
    repository.upsert_messages([linked, reply])
    refs = [SourceRef(channel_id="C1", ts=m.ts) for m in (linked, reply, make_message(3))]
    assert repository.get_message_links(refs) == {
        ("C1", linked.ts): ("https://x.slack.com/archives/C1/p1", None),
        ("C1", reply.ts): (None, linked.ts),
    }
