"""copy-db: SQLite to PostgreSQL and back, every table, equal counts, resumable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, text

from slack_events_dagster.cli import main
from slack_events_dagster.domain.models import (
    DateSource,
    Digest,
    EventCandidate,
    EventLink,
    LinkKind,
    LLMCall,
    LLMCallStatus,
    SlackChannel,
    SlackUser,
    SourceRef,
)
from slack_events_dagster.storage.copy import CopyError, copy_database
from slack_events_dagster.storage.migrate import upgrade
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import TABLES_IN_DEPENDENCY_ORDER, raw_slack_messages
from slack_events_dagster_tests.helpers.records import make_event, make_message
from slack_events_dagster_tests.helpers.stores import upsert_events


def fill(repository: SqlRepository, messages: int) -> None:
    repository.upsert_messages(
        [make_message(i, channel=f"C{i % 4}") for i in range(messages)],
        watermarks={"C1": make_message(messages - 1).ts},
    )
    repository.upsert_channels([SlackChannel(id=f"C{i}", name=f"chan-{i}") for i in range(4)])
    repository.upsert_users([SlackUser(id="U1", name="ada")])
    repository.upsert_candidates(
        [EventCandidate(channel_id="C1", ts=make_message(1).ts, score=0.8, reasons=["date"])]
    )
    links = [
        EventLink(kind=LinkKind.ZOOM, key="81234567890", url="https://acme.zoom.us/j/81234567890"),
        EventLink(kind=LinkKind.JIRA, key="OPS-142"),
        EventLink(
            kind=LinkKind.GITLAB_MERGE_REQUEST,
            key="g/p!12",
            url="https://gitlab.com/g/p/-/merge_requests/12",
        ),
    ]
    upsert_events(
        repository,
        [
            make_event("e1", links=links, date_source=DateSource.RELATIVE),
            make_event("e2", dedup_key="k2", links=links[1:]),
        ],
    )
    now = datetime.now(UTC)
    repository.record_llm_call(
        LLMCall(
            prompt_hash="f" * 64,
            model="m",
            prompt_version="v1",
            candidate_keys=[SourceRef(channel_id="C1", ts="1.0")],
            status=LLMCallStatus.OK,
            created_at=now,
        )
    )
    repository.save_digest(
        Digest(day=date(2026, 3, 2), markdown="m", slack_text="s", content_hash="h", created_at=now)
    )


def counts(repository: SqlRepository) -> dict[str, int]:
    with repository.engine.connect() as conn:
        return {
            t.name: conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar_one()
            for t in TABLES_IN_DEPENDENCY_ORDER
        }


def test_copy_sqlite_to_postgres_is_complete_and_resumable(
    tmp_path: Path, make_postgres_database: Callable[[], str]
) -> None:
    source_url = f"sqlite:///{tmp_path / 'local.db'}"
    upgrade(source_url)
    source = SqlRepository.from_url(source_url)
    fill(source, 2345)
    target_url = make_postgres_database()

    seen: list[tuple[str, int, int]] = []
    results = copy_database(
        source_url, target_url, batch_size=500, progress=lambda *a: seen.append(a)
    )
    assert all(r.matches for r in results)
    assert ("raw_slack_messages", 2345, 2345) in seen

    target = SqlRepository.from_url(target_url)
    assert counts(target) == counts(source)
    assert counts(source)["raw_slack_messages"] == 2345
    assert counts(source)["event_links"] == 5
    assert target.get_messages("C1") == source.get_messages("C1")
    assert target.get_events() == source.get_events()
    assert target.get_watermarks() == source.get_watermarks()

    # Interrupted half-way: the rerun copies only what is missing.
    with target.engine.begin() as conn:
        conn.execute(delete(raw_slack_messages).where(raw_slack_messages.c.channel_id == "C2"))
    resumed = {r.table: r for r in copy_database(source_url, target_url, batch_size=500)}
    assert resumed["raw_slack_messages"].written == counts(source)["raw_slack_messages"] // 4 + (
        1 if 2345 % 4 > 2 else 0
    )
    assert resumed["events"].written == 0
    assert counts(target) == counts(source)
    source.close()
    target.close()


def test_copy_postgres_to_sqlite_carries_events_with_their_links(
    tmp_path: Path, make_postgres_database: Callable[[], str]
) -> None:
    source_url = make_postgres_database()
    upgrade(source_url)
    target_url = f"sqlite:///{tmp_path / 'local.db'}"
    with SqlRepository.from_url(source_url) as source:
        fill(source, 30)
        results = {r.table: r for r in copy_database(source_url, target_url, batch_size=2)}
        assert results["event_links"].written == results["event_links"].source_rows == 5
        with SqlRepository.from_url(target_url) as target:
            assert counts(target) == counts(source)
            copied = target.get_events()
            assert copied == source.get_events()
            assert copied[0].links[0].kind is LinkKind.ZOOM
            assert copied[0].date_source is DateSource.RELATIVE
            assert [e.event_id for e in target.get_events_for_links([("jira", "OPS-142")])] == [
                "e1",
                "e2",
            ]
        # Run again: nothing to write, still equal.
        again = {r.table: r for r in copy_database(source_url, target_url, batch_size=2)}
        assert again["event_links"].written == 0 and again["event_links"].matches


def test_copy_refuses_same_database_and_missing_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with pytest.raises(CopyError, match="same database"):
        copy_database(url, url)
    with pytest.raises(CopyError, match="no slack-events tables"):
        copy_database(f"sqlite:///{tmp_path / 'empty.db'}", f"sqlite:///{tmp_path / 'b.db'}")


def test_copy_db_command(
    tmp_path: Path, make_postgres_database: Callable[[], str], capsys: pytest.CaptureFixture[str]
) -> None:
    source_url = f"sqlite:///{tmp_path / 'local.db'}"
    upgrade(source_url)
    with SqlRepository.from_url(source_url) as source:
        fill(source, 50)
    target_url = make_postgres_database()
    assert main(["copy-db", "--source", source_url, "--target", target_url]) == 0
    out = capsys.readouterr().out
    assert "row counts match" in out
    assert "raw_slack_messages" in out
