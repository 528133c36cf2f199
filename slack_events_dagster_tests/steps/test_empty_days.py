"""A channel-day without messages costs no query: ingestion, scoring and extraction read
their range once, and the digests of a range read its events once.

The same two busy days of a channel are run through the steps over a 40-day range and
over a 400-day one (360 more empty days); each step sends the database the same number
of statements either way (the digests write one row per day, so for them only the
reads of events are compared)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from slack_events_dagster import steps
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.settings import load_settings
from slack_events_dagster.slack.export import ExportSource
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.workspace_gen import generate_workspace, write_export

END = date(2024, 3, 29)
DAYS = 40
FIRST = END - timedelta(days=DAYS - 1)
NOW = datetime(2024, 3, 30, 12, tzinfo=UTC)
# Messages on two days of the forty, none on the others.
COUNTS = [[150 if offset in (9, 29) else 0 for offset in range(DAYS)]]


def _statements_per_step(
    make_url: Callable[[], str], export: Path, tmp_path: Path, first: date
) -> dict[str, list[str]]:
    """Every statement each step sends over ``first .. END``, on a fresh database."""
    repository = SqlRepository.from_url(make_url())
    repository.create_schema()
    settings = load_settings(
        slack={"source": "export", "export_path": str(export)},
        pipeline={"timezone": "UTC", "start_date": first},
        digest={"output_dir": str(tmp_path), "calendar_path": str(tmp_path / "e.ics")},
    )
    source = ExportSource(export)
    (channel,) = steps.register_channels(source, repository)
    sent: list[str] = []
    event.listen(
        repository.engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: sent.append(statement),
    )
    by_step: dict[str, list[str]] = {}

    def measure(step: str, call: Callable[[], object]) -> None:
        sent.clear()
        call()
        by_step[step] = list(sent)

    try:
        measure(
            "ingest",
            lambda: steps.ingest_days(source, repository, settings, channel, first, END, now=NOW),
        )
        measure(
            "score", lambda: steps.score_days(repository, settings, channel, first, END, now=NOW)
        )
        measure(
            "extract",
            lambda: steps.extract_days(
                repository, RuleExtractor(), settings, channel, first, END, now=NOW
            ),
        )
        measure(
            "digests",
            lambda: steps.build_daily_digests(
                repository, settings, list(steps.days(first, END)), now=NOW
            ),
        )
        assert repository.count_messages() == 300
        assert repository.count_events() > 0
    finally:
        repository.close()
    return by_step


def _reads_of_events(statements: list[str]) -> int:
    return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT") and " events" in s)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_empty_days_cost_no_query(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    workspace = generate_workspace(channels=1, days=DAYS, seed=4, end=END, counts=COUNTS)
    export = write_export(workspace, tmp_path / "export")
    made = iter(range(2))

    def make_url() -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'db{next(made)}.db'}"
        return request.getfixturevalue("make_postgres_database")()  # type: ignore[no-any-return]

    short = _statements_per_step(make_url, export, tmp_path / "short", FIRST)
    long = _statements_per_step(make_url, export, tmp_path / "long", FIRST - timedelta(days=360))
    for step in ("ingest", "score", "extract"):
        assert len(long[step]) == len(short[step]), (
            step,
            Counter(long[step]) - Counter(short[step]),
        )
    assert _reads_of_events(long["digests"]) == _reads_of_events(short["digests"]) > 0
    # The digests themselves are one per day: the range's days, each written once.
    assert len(long["digests"]) > len(short["digests"])
