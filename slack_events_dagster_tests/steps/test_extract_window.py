"""extract_days sends the model calls of many days at once, yet every day stays its own
extraction: extracting days d1..dN in one call stores exactly what extracting them one
day at a time stores (prompt hashes, answers, events, candidate statuses), on SQLite and
PostgreSQL; the budget is one for all days; and a day that fails loses no other day's
recorded calls, so the re-run pays for nothing twice and converges."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from slack_events_dagster import steps
from slack_events_dagster.domain.dedup.book import EventBook
from slack_events_dagster.domain.models import CandidateStatus, Event, SlackChannel
from slack_events_dagster.llm.base import ExtractionInput, ExtractionResult, ExtractionResults
from slack_events_dagster.llm.openai_extractor import OpenAIExtractor
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.settings import LLMSettings, ModelPrice, Settings, load_settings
from slack_events_dagster.slack.export import ExportSource
from slack_events_dagster.storage.base import CandidateOutcomeRecord, UpsertCounts
from slack_events_dagster.storage.engine import create_db_engine
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_openai import FakeOpenAIServer
from slack_events_dagster.testing.workspace_gen import generate_workspace, write_export
from slack_events_dagster_tests.helpers.tables import assert_same_tables

END = date(2024, 3, 29)
DAYS = 8
FIRST = END - timedelta(days=DAYS - 1)
NOW = datetime(2024, 3, 30, 12, tzinfo=UTC)
# Latency differs from run to run; everything else stored must not.
RUN_DEPENDENT = frozenset({"latency_ms"})


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Two channels with cross-posts, reschedules and cancellations in threads.
    workspace = generate_workspace(
        channels=2, days=DAYS, per_day=150, thread_fraction=0.15, seed=21, end=END
    )
    return write_export(workspace, tmp_path_factory.mktemp("export") / "export.zip", as_zip=True)


@pytest.fixture(params=["sqlite", "postgres"])
def make_repository(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], SqlRepository]]:
    """Fresh, empty repositories of one backend (several per test)."""
    made: list[SqlRepository] = []

    def make() -> SqlRepository:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / f'db{len(made)}.db'}"
        else:
            url = request.getfixturevalue("make_postgres_database")()
        repository = SqlRepository.from_url(url)
        repository.create_schema()
        made.append(repository)
        return repository

    yield make
    for repository in made:
        repository.close()


def settings_for(tmp_path: Path) -> Settings:
    return load_settings(
        pipeline={"timezone": "UTC", "start_date": FIRST},
        digest={"output_dir": str(tmp_path), "calendar_path": str(tmp_path / "e.ics")},
    )


def scored(repository: SqlRepository, export: Path, settings: Settings) -> list[SlackChannel]:
    """Ingest and score the export; candidates wait for extraction."""
    source = ExportSource(export)
    channels = steps.register_channels(source, repository)
    for channel in channels:
        steps.ingest_days(source, repository, settings, channel, FIRST, END, now=NOW)
        steps.score_days(repository, settings, channel, FIRST, END, now=NOW)
    return channels


def llm_settings(server: FakeOpenAIServer, **overrides: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "provider": "openai",
        "base_url": server.base_url,
        "api_key": SecretStr("sk-test-window-0123456789"),
        "batch_size": 4,
        "concurrency": 8,
        "timeout_s": 10.0,
        "max_retries": 0,
        "daily_budget_usd": 100.0,
    }
    values.update(overrides)
    return LLMSettings(**values)


def extract_day_by_day(
    repository: SqlRepository, extractor: Any, settings: Settings, channels: list[SlackChannel]
) -> None:
    for channel in channels:
        for day in steps.days(FIRST, END):
            steps.extract_days(repository, extractor, settings, channel, day, day, now=NOW)


def extract_at_once(
    repository: SqlRepository, extractor: Any, settings: Settings, channels: list[SlackChannel]
) -> steps.ExtractReport:
    total = steps.ExtractReport()
    for channel in channels:
        total.add(steps.extract_days(repository, extractor, settings, channel, FIRST, END, now=NOW))
    return total


def assert_same_state(repository: SqlRepository, reference: SqlRepository, where: str) -> None:
    assert_same_tables(repository.engine, reference.engine, where, ignore=RUN_DEPENDENT)


def prompt_hashes(repository: SqlRepository) -> set[str]:
    with repository.engine.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT prompt_hash FROM llm_calls"))}


@pytest.mark.parametrize("window_days", [steps.EXTRACT_WINDOW_DAYS, 3])
def test_days_extracted_together_store_what_day_by_day_extraction_stores(
    window_days: int,
    make_repository: Callable[[], SqlRepository],
    export: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_for(tmp_path)
    day_by_day, together = make_repository(), make_repository()
    channels = scored(day_by_day, export, settings)
    scored(together, export, settings)
    with FakeOpenAIServer(latency_s=0.05) as server:
        with OpenAIExtractor(llm_settings(server), day_by_day) as extractor:
            extract_day_by_day(day_by_day, extractor, settings, channels)
        calls_day_by_day, in_flight_day_by_day = server.completion_requests, server.max_in_flight
        server.reset_counts()
        monkeypatch.setattr(steps, "EXTRACT_WINDOW_DAYS", window_days)
        with OpenAIExtractor(llm_settings(server), together) as extractor:
            report = extract_at_once(together, extractor, settings, channels)
        assert server.completion_requests == calls_day_by_day == report.llm_calls
        # The days of a window share the pool: more calls in flight than one day has.
        assert server.max_in_flight > in_flight_day_by_day
    assert report.new > 5 and report.rescheduled > 0 and report.cancelled > 0
    assert prompt_hashes(together) == prompt_hashes(day_by_day)
    # Every table: the same calls and answers, events, sources and candidate statuses.
    assert_same_state(together, day_by_day, f"window of {window_days} days")
    assert together.get_candidates(statuses=[CandidateStatus.IN_PROGRESS]) == []


def test_the_rule_extractor_gives_the_same_with_windows(
    make_repository: Callable[[], SqlRepository],
    export: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_for(tmp_path)
    day_by_day, together = make_repository(), make_repository()
    channels = scored(day_by_day, export, settings)
    scored(together, export, settings)
    extract_day_by_day(day_by_day, RuleExtractor(), settings, channels)
    monkeypatch.setattr(steps, "EXTRACT_WINDOW_CANDIDATES", 10)  # windows of a few days
    extract_at_once(together, RuleExtractor(), settings, channels)
    assert_same_state(together, day_by_day, "rules in windows")


def test_one_budget_for_all_days_of_the_call(
    make_repository: Callable[[], SqlRepository], export: Path, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    repository = make_repository()
    (channel, *_) = scored(repository, export, settings)
    # Every call costs exactly $0.25 (1,000 prompt tokens at $250 per million): three fit.
    with FakeOpenAIServer(fixed_usage=(1000, 0)) as server:
        budget = llm_settings(
            server,
            model="budget-model",
            prices={"budget-model": ModelPrice(input_per_million=250, output_per_million=0)},
            daily_budget_usd=0.75,
            concurrency=4,
        )
        with OpenAIExtractor(budget, repository) as extractor:
            report = steps.extract_days(
                repository, extractor, settings, channel, FIRST, END, now=NOW
            )
        assert server.completion_requests == 3
    assert report.llm_calls == 3 and report.cost_usd == pytest.approx(0.75)
    assert report.budget_reached and report.deferred > 0
    deferred = repository.get_candidates(statuses=[CandidateStatus.DEFERRED])
    assert len(deferred) == report.deferred
    assert repository.get_candidates(statuses=[CandidateStatus.IN_PROGRESS]) == []


class FailingSaveRepository(SqlRepository):
    """A real repository whose save of one day's extraction fails (the database gives
    up, say) once: the run stops there, as a failing run does."""

    def __init__(self, url: str, fail_on_save: int) -> None:
        super().__init__(create_db_engine(url))
        self.saves = 0
        self.fail_on_save = fail_on_save

    def save_extraction(
        self,
        events_to_write: Sequence[Event],
        events_to_delete: Sequence[str],
        outcomes: Sequence[CandidateOutcomeRecord],
    ) -> UpsertCounts:
        self.saves += 1
        if self.saves == self.fail_on_save:
            raise RuntimeError("the database went away")
        return super().save_extraction(events_to_write, events_to_delete, outcomes)


def test_a_failing_day_loses_no_recorded_call_and_the_rerun_converges(
    make_repository: Callable[[], SqlRepository], export: Path, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    reference, repository = make_repository(), make_repository()
    channels = scored(reference, export, settings)
    scored(repository, export, settings)
    url = repository.engine.url.render_as_string(hide_password=False)
    failing = FailingSaveRepository(url, fail_on_save=3)
    with FakeOpenAIServer(latency_s=0.02) as server:
        with OpenAIExtractor(llm_settings(server), reference) as extractor:
            extract_at_once(reference, extractor, settings, channels)
        batches = server.completion_requests
        server.reset_counts()
        with (
            OpenAIExtractor(llm_settings(server), failing) as extractor,
            pytest.raises(RuntimeError, match="went away"),
        ):
            extract_at_once(failing, extractor, settings, channels)
        first_run = server.completion_requests
        # The two days before the failing one are saved; it and later days wait.
        assert failing.saves == 3
        assert repository.get_candidates(statuses=[CandidateStatus.IN_PROGRESS]) != []
        # Every call made was recorded, for the saved days and for the others.
        assert len(prompt_hashes(repository)) == first_run
        server.reset_counts()
        with OpenAIExtractor(llm_settings(server), repository) as extractor:
            extract_at_once(repository, extractor, settings, channels)
        # Nothing is paid for twice: the re-run calls only what the first run never made.
        assert first_run + server.completion_requests == batches
    failing.close()
    assert_same_state(repository, reference, "after a failed day and a re-run")


def test_an_llm_failure_on_one_day_fails_only_that_day(
    make_repository: Callable[[], SqlRepository], export: Path, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    repository = make_repository()
    (channel, *_) = scored(repository, export, settings)
    # Concurrency 1: requests arrive in batch order, so request 1 is the first day's.
    with FakeOpenAIServer(fault_schedule={1: "server_error"}) as server:
        with OpenAIExtractor(llm_settings(server, concurrency=1), repository) as extractor:
            report = steps.extract_days(
                repository, extractor, settings, channel, FIRST, END, now=NOW
            )
        assert server.completion_requests == report.llm_calls
    failed = repository.get_candidates(statuses=[CandidateStatus.FAILED])
    # One batch of the first day failed; every other batch was answered and merged.
    assert 0 < len(failed) <= 4 and report.failed == len(failed)
    first_day = min(day_of(c.ts) for c in repository.get_candidates(channel_id=channel.id))
    assert {day_of(c.ts) for c in failed} == {first_day}
    assert report.new > 5
    # The failed call is recorded too (a re-run retries it, see MAX_ATTEMPTS).
    assert len(prompt_hashes(repository)) == report.llm_calls


def day_of(ts: str) -> date:
    return datetime.fromtimestamp(float(ts), UTC).date()


class GroupsSeen:
    """An extractor that records the groups it is given (and extracts with rules)."""

    def __init__(self) -> None:
        self.name = "rules"
        self.groups: list[int] = []
        self.rules = RuleExtractor()

    def extract(self, items: Sequence[ExtractionInput]) -> ExtractionResult:
        return self.rules.extract(items)

    def extract_groups(self, groups: Sequence[Sequence[ExtractionInput]]) -> ExtractionResults:
        self.groups.append(len(groups))
        yield from self.rules.extract_groups(groups)


def test_windows_are_bounded_in_days_and_candidates(
    make_repository: Callable[[], SqlRepository],
    export: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_for(tmp_path)
    repository = make_repository()
    (channel, *_) = scored(repository, export, settings)
    seen = GroupsSeen()
    monkeypatch.setattr(steps, "EXTRACT_WINDOW_DAYS", 3)
    steps.extract_days(repository, seen, settings, channel, FIRST, END, now=NOW)
    assert seen.groups == [3, 3, 2]


def test_folding_after_a_merge_that_read_the_days_finds_what_folding_again_finds(
    make_repository: Callable[[], SqlRepository], export: Path, tmp_path: Path
) -> None:
    """When the merge read the days of every event it wrote, the book does not fold again
    (the merge already did): day by day, it gives exactly what a second fold over a
    fresh read (dedup.fold_collisions) gives."""
    settings = settings_for(tmp_path)
    repository = make_repository()
    channels = scored(repository, export, settings)
    rules = RuleExtractor()
    skipped = 0
    for channel in channels:
        for day in steps.days(FIRST, END):
            work = steps._day_work(
                repository, settings, channel, day, NOW, steps.mention_names(repository)
            )
            if work is None:
                continue
            result = rules.extract(work.items)
            day = EventBook(repository).merge(result.drafts, now=work.stamp)
            written, read = day.merge.events_to_write, day.read
            if read is not None and written:
                dates = [e.start_date for e in written]
                skipped += read[0] <= min(dates) and max(dates) <= read[1]
            again = EventBook(repository)._fold(written, work.stamp, None)
            assert (day.to_write, day.dropped) == again
            # Move on as extract_days would, so later days meet stored events.
            steps._merge_day(EventBook(repository), repository, work, result)
    assert skipped > 10


def test_the_pool_reads_each_day_once_and_follows_what_it_saves(
    make_repository: Callable[[], SqlRepository], export: Path, tmp_path: Path
) -> None:
    """A window's merges read stored events through one pool: a day is read from the
    database once, and after each save the pool holds what the repository holds."""
    settings = settings_for(tmp_path)
    repository = make_repository()
    channels = scored(repository, export, settings)
    reads: list[tuple[date | None, date | None]] = []
    original = repository.get_events

    def counting(*, start_date: date | None = None, end_date: date | None = None) -> list[Event]:
        reads.append((start_date, end_date))
        return original(start_date=start_date, end_date=end_date)

    repository.get_events = counting  # type: ignore[method-assign]
    rules = RuleExtractor()
    for channel in channels:
        pool = EventBook(repository)
        for day in steps.days(FIRST, END):
            work = steps._day_work(
                repository, settings, channel, day, NOW, steps.mention_names(repository)
            )
            if work is not None:
                steps._merge_day(pool, repository, work, rules.extract(work.items))
                assert pool.first is not None and pool.last is not None
                fresh = original(start_date=pool.first, end_date=pool.last)
                assert pool.between(pool.first, pool.last) == sorted(
                    fresh, key=lambda e: (e.start_date, e.event_id)
                )
        read_days = [d for first, last in reads if first and last for d in steps.days(first, last)]
        assert len(read_days) == len(set(read_days)), "a day was read twice"
        reads.clear()
