"""The LLM extractor: the real ``openai`` client against the local fake server, and a
real repository (SQLite file and PostgreSQL) for the cache, cost and budget."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from slack_events_dagster.domain.models import CandidateStatus, LLMCall, LLMCallStatus
from slack_events_dagster.llm.openai_extractor import OpenAIExtractor
from slack_events_dagster.llm.prompt import PROMPT_VERSION, quoted_items
from slack_events_dagster.llm.quoting import prompt_item
from slack_events_dagster.settings import LLMSettings, ModelPrice
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_openai import FakeOpenAIServer
from slack_events_dagster_tests.helpers.llm_extraction import (
    key_of,
    make_input,
    settings_for,
    statuses,
)
from slack_events_dagster_tests.helpers.stores import llm_call_counts


def test_batches_map_shuffled_answers_to_their_candidates(
    fake: FakeOpenAIServer, repository: SqlRepository
) -> None:
    items = [make_input(i) for i in range(20)]
    with OpenAIExtractor(settings_for(fake, batch_size=8), repository) as extractor:
        result = extractor.extract(items)

    assert result.llm_calls == 3 == fake.completions_served  # 8 + 8 + 4
    assert fake.response_modes == {"json_schema": 3}
    assert all(status == CandidateStatus.EXTRACTED for status in statuses(result).values())
    assert len(result.outcomes) == 20 and len(result.drafts) == 20
    by_source = {(d.source.channel_id, d.source.ts): d for d in result.drafts}
    for i, item in enumerate(items):
        # Each candidate names a different day: a mix-up would show.
        draft = by_source[key_of(item)]
        assert draft.title == f"Release v{i}"
        assert isinstance(draft.start, datetime)
        assert draft.start.date() == date(2024, 3, 10) + timedelta(days=i % 15)
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    assert result.cost_usd > 0
    # Every request carried several candidates.
    sizes = sorted(len(quoted_items(r["messages"][1]["content"])) for r in fake.requests)
    assert sizes == [4, 8, 8]


def test_no_event_messages_end_no_event(
    fake: FakeOpenAIServer, sqlite_repository: SqlRepository
) -> None:
    items = [make_input(0, "lunch anyone?"), make_input(1)]
    with OpenAIExtractor(settings_for(fake), sqlite_repository) as extractor:
        result = extractor.extract(items)
    assert statuses(result) == {
        key_of(items[0]): CandidateStatus.NO_EVENT,
        key_of(items[1]): CandidateStatus.EXTRACTED,
    }


def test_thread_replies_point_at_their_parent(
    fake: FakeOpenAIServer, sqlite_repository: SqlRepository
) -> None:
    parent = make_input(0, "Launch on 2024-03-12").message
    reply = make_input(5, "Launch moved to 2024-03-14", parent=parent)
    with OpenAIExtractor(settings_for(fake), sqlite_repository) as extractor:
        result = extractor.extract([reply])
    (draft,) = result.drafts
    assert draft.thread_ts == parent.ts
    assert draft.status == "rescheduled"
    sent = quoted_items(fake.requests[0]["messages"][1]["content"])
    assert sent[0]["thread_parent_text"] == "Launch on 2024-03-12"


def test_second_run_makes_no_calls(fake: FakeOpenAIServer, sqlite_url: str) -> None:
    items = [make_input(i) for i in range(12)]
    first_repo = SqlRepository.from_url(sqlite_url)
    first_repo.create_schema()
    with OpenAIExtractor(settings_for(fake), first_repo) as extractor:
        first = extractor.extract(items)
    first_repo.close()
    assert first.llm_calls == 2

    # A new repository object and extractor, as another process would have.
    served = fake.completion_requests
    second_repo = SqlRepository.from_url(sqlite_url)
    with OpenAIExtractor(settings_for(fake), second_repo) as extractor:
        second = extractor.extract(list(reversed(items)))
    second_repo.close()
    assert fake.completion_requests == served
    assert second.llm_calls == 0 and second.cache_hits == 2 and second.cost_usd == 0
    assert statuses(second) == statuses(first)
    assert sorted(d.model_dump_json() for d in second.drafts) == sorted(
        d.model_dump_json() for d in first.drafts
    )


def test_cached_calls_are_stored_with_cost_and_tokens(
    fake: FakeOpenAIServer, repository: SqlRepository
) -> None:
    items = [make_input(i) for i in range(3)]
    with OpenAIExtractor(settings_for(fake), repository) as extractor:
        result = extractor.extract(items)
        prompt_hash = extractor.prompt_hash([prompt_item(item) for item in items])
    call = repository.get_llm_call(prompt_hash)
    assert call is not None
    assert call.status == LLMCallStatus.OK and call.prompt_version == PROMPT_VERSION
    assert call.prompt_tokens == result.prompt_tokens > 0
    assert call.completion_tokens == result.completion_tokens > 0
    assert call.cost_usd == pytest.approx(
        (call.prompt_tokens * 0.15 + call.completion_tokens * 0.60) / 1_000_000
    )
    assert [(k.channel_id, k.ts) for k in call.candidate_keys] == [key_of(i) for i in items]
    assert call.request["response_mode"] == "json_schema"
    assert call.latency_ms >= 0


def test_a_cached_failure_is_retried(sqlite_repository: SqlRepository) -> None:
    items = [make_input(i) for i in range(3)]
    with FakeOpenAIServer(fault_schedule={1: "invalid_json"}) as server:
        with OpenAIExtractor(settings_for(server), sqlite_repository) as extractor:
            first = extractor.extract(items)
            second = extractor.extract(items)
        assert server.completion_requests == 2
    assert set(statuses(first).values()) == {CandidateStatus.FAILED}
    assert set(statuses(second).values()) == {CandidateStatus.EXTRACTED}
    assert second.llm_calls == 1 and second.cache_hits == 0


@pytest.mark.parametrize("fault", ["rate_limit", "server_error", "hang"])
def test_transient_faults_are_retried_by_the_client(
    fault: str, sqlite_repository: SqlRepository
) -> None:
    items = [make_input(i) for i in range(4)]
    with FakeOpenAIServer(fault_schedule={1: fault}, retry_after_s=0.01, hang_s=5) as server:
        # A hang costs one short client timeout, then the retry answers.
        settings = settings_for(server, timeout_s=1.0 if fault == "hang" else 5.0)
        with OpenAIExtractor(settings, sqlite_repository) as extractor:
            result = extractor.extract(items)
        assert server.completion_requests == 2 and server.faults_injected == {fault: 1}
    assert result.llm_calls == 1
    assert set(statuses(result).values()) == {CandidateStatus.EXTRACTED}


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ("invalid_json", "not valid JSON"),
        ("empty_answer", "empty"),
        ("schema_violation", "breaks the schema"),
        ("wrong_ids", "no entry for this candidate"),
        ("broken_body", "JSONDecodeError"),
    ],
)
def test_bad_answers_fail_their_candidates_and_are_recorded(
    fault: str, why: str, repository: SqlRepository
) -> None:
    items = [make_input(i) for i in range(4)]
    with (
        FakeOpenAIServer(fault_schedule={1: fault}) as server,
        OpenAIExtractor(settings_for(server, batch_size=2), repository) as extractor,
    ):
        result = extractor.extract(items)
        hashes = [
            extractor.prompt_hash([prompt_item(i) for i in items[:2]]),
            extractor.prompt_hash([prompt_item(i) for i in items[2:]]),
        ]
    failed = [k for k, s in statuses(result).items() if s == CandidateStatus.FAILED]
    ok = [k for k, s in statuses(result).items() if s == CandidateStatus.EXTRACTED]
    # One of the two batches got the fault; the other one went through.
    assert len(failed) == 2 and len(ok) == 2
    for key in failed:
        outcome = result.outcomes[key]
        assert outcome.error is not None and why in outcome.error
        if fault not in ("broken_body", "empty_answer"):
            assert outcome.raw_answer  # kept for diagnosis
    calls = [repository.get_llm_call(h) for h in hashes]
    assert all(call is not None for call in calls)
    recorded = sorted(call.status for call in calls if call is not None)
    if fault in ("schema_violation", "wrong_ids"):
        # The envelope was fine; the entries were not: the call is stored, its errors noted.
        assert recorded == [LLMCallStatus.OK, LLMCallStatus.OK]
        assert any(call.error and "unusable" in call.error for call in calls if call)
    else:
        assert recorded == [LLMCallStatus.FAILED, LLMCallStatus.OK]


def test_impossible_dates_fail_only_the_candidates_with_events(
    sqlite_repository: SqlRepository,
) -> None:
    items = [make_input(0), make_input(1, "lunch anyone?")]
    with (
        FakeOpenAIServer(fault_schedule={1: "bad_dates"}) as server,
        OpenAIExtractor(settings_for(server), sqlite_repository) as extractor,
    ):
        result = extractor.extract(items)
    assert result.outcomes[key_of(items[0])].status == CandidateStatus.FAILED
    assert "not a date-time" in (result.outcomes[key_of(items[0])].error or "")
    assert "2024-02-30T25:61" in (result.outcomes[key_of(items[0])].raw_answer or "")
    assert result.outcomes[key_of(items[1])].status == CandidateStatus.NO_EVENT
    assert result.drafts == []


def test_retries_exhausted_is_a_recorded_failure(repository: SqlRepository) -> None:
    items = [make_input(i) for i in range(3)]
    with FakeOpenAIServer(fault_rate=1.0, faults=["server_error"]) as server:
        settings = settings_for(server, max_retries=1)
        with OpenAIExtractor(settings, repository) as extractor:
            result = extractor.extract(items)
            prompt_hash = extractor.prompt_hash([prompt_item(i) for i in items])
        assert server.completion_requests == 2
    assert set(statuses(result).values()) == {CandidateStatus.FAILED}
    assert "InternalServerError" in (result.outcomes[key_of(items[0])].error or "")
    call = repository.get_llm_call(prompt_hash)
    assert call is not None and call.status == LLMCallStatus.FAILED and call.cost_usd == 0


def test_random_faults_never_crash_a_run(sqlite_repository: SqlRepository) -> None:
    items = [make_input(i, channel=f"C{i % 3}") for i in range(48)]
    with FakeOpenAIServer(fault_rate=0.4, seed=3, retry_after_s=0.01, hang_s=5) as server:
        settings = settings_for(server, batch_size=4, max_retries=1, timeout_s=0.5)
        with OpenAIExtractor(settings, sqlite_repository) as extractor:
            result = extractor.extract(items)
        assert sum(server.faults_injected.values()) > 3
    assert set(result.outcomes) == {key_of(i) for i in items}
    seen = set(statuses(result).values())
    assert seen <= {CandidateStatus.EXTRACTED, CandidateStatus.FAILED}
    assert CandidateStatus.FAILED in seen and CandidateStatus.EXTRACTED in seen
    for outcome in result.outcomes.values():
        assert (outcome.status == CandidateStatus.FAILED) == (outcome.error is not None)


def test_calls_run_concurrently(sqlite_repository: SqlRepository) -> None:
    items = [make_input(i) for i in range(32)]
    with FakeOpenAIServer(latency_s=0.1) as server:
        with OpenAIExtractor(settings_for(server, concurrency=4), sqlite_repository) as extractor:
            result = extractor.extract(items)
        assert server.max_in_flight > 1
    assert result.llm_calls == 4


# -- budget -------------------------------------------------------------------


def budget_settings(server: FakeOpenAIServer, **overrides: Any) -> LLMSettings:
    # The fake reports 1,000 prompt tokens and no completion tokens per call, so at
    # $250 per million input tokens every call costs exactly $0.25.
    return settings_for(
        server,
        batch_size=2,
        prices={"budget-model": ModelPrice(input_per_million=250, output_per_million=0)},
        model="budget-model",
        **overrides,
    )


@pytest.mark.parametrize("concurrency", [1, 4])
def test_the_budget_stops_calls_exactly_at_the_limit(
    concurrency: int, repository: SqlRepository
) -> None:
    items = [make_input(i) for i in range(10)]  # 5 batches of 2
    with FakeOpenAIServer(fixed_usage=(1000, 0)) as server:
        settings = budget_settings(server, daily_budget_usd=0.75, concurrency=concurrency)
        with OpenAIExtractor(settings, repository) as extractor:
            result = extractor.extract(items)
        assert server.completion_requests == 3
    assert result.llm_calls == 3 and result.cost_usd == 0.75
    assert result.budget_reached
    counts = list(statuses(result).values())
    assert counts.count(CandidateStatus.EXTRACTED) == 6
    assert counts.count(CandidateStatus.DEFERRED) == 4
    deferred = [o for o in result.outcomes.values() if o.status == CandidateStatus.DEFERRED]
    assert all("budget" in (o.error or "") for o in deferred)
    now = datetime.now(UTC)
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    assert repository.llm_spend_usd(day, day + timedelta(days=1)) == pytest.approx(0.75)


def test_the_budget_counts_what_was_spent_earlier_today(repository: SqlRepository) -> None:
    repository.record_llm_call(
        LLMCall(
            prompt_hash="earlier-call",
            model="budget-model",
            prompt_version=PROMPT_VERSION,
            status=LLMCallStatus.OK,
            cost_usd=0.5,
            created_at=datetime.now(UTC),
        )
    )
    items = [make_input(i) for i in range(6)]
    with FakeOpenAIServer(fixed_usage=(1000, 0)) as server:
        settings = budget_settings(server, daily_budget_usd=0.75)
        with OpenAIExtractor(settings, repository) as extractor:
            result = extractor.extract(items)
            # Deferred candidates go through once the budget allows (a new day here).
            extractor.settings = budget_settings(server, daily_budget_usd=10)
            later = extractor.extract(items)
        assert server.completion_requests == 3
    assert result.llm_calls == 1 and result.budget_reached
    assert later.llm_calls == 2 and later.cache_hits == 1 and not later.budget_reached
    assert set(statuses(later).values()) == {CandidateStatus.EXTRACTED}


def test_a_prompt_failing_in_every_run_still_meets_the_budget(
    repository: SqlRepository,
) -> None:
    # Each retry of a failed prompt replaces its stored call; the earlier
    # attempts' cost must still count towards the day's spend.
    items = [make_input(i) for i in range(2)]
    with FakeOpenAIServer(fixed_usage=(1000, 0), fault_rate=1.0, faults=["invalid_json"]) as server:
        settings = budget_settings(server, daily_budget_usd=0.75)
        with OpenAIExtractor(settings, repository) as extractor:
            runs = [extractor.extract(items) for _ in range(5)]
        assert server.completion_requests == 3
    assert [run.llm_calls for run in runs] == [1, 1, 1, 0, 0]
    assert [run.budget_reached for run in runs] == [False, False, False, True, True]
    now = datetime.now(UTC)
    day = datetime(now.year, now.month, now.day, tzinfo=UTC)
    assert repository.llm_spend_usd(day, day + timedelta(days=1)) == pytest.approx(0.75)
    assert llm_call_counts(repository, day, day + timedelta(days=1)) == {"failed": 3}


def test_a_zero_budget_makes_no_call(sqlite_repository: SqlRepository) -> None:
    with FakeOpenAIServer() as server:
        settings = settings_for(server, daily_budget_usd=0)
        with OpenAIExtractor(settings, sqlite_repository) as extractor:
            result = extractor.extract([make_input(i) for i in range(3)])
        assert server.completion_requests == 0
    assert result.budget_reached and result.llm_calls == 0
    assert set(statuses(result).values()) == {CandidateStatus.DEFERRED}


def test_an_unpriced_model_costs_nothing_and_warns(
    sqlite_repository: SqlRepository, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeOpenAIServer() as server, caplog.at_level(logging.WARNING):
        settings = settings_for(server, model="local-llama-3")
        with OpenAIExtractor(settings, sqlite_repository) as extractor:
            result = extractor.extract([make_input(0)])
    assert result.llm_calls == 1 and result.cost_usd == 0 and result.prompt_tokens > 0
    assert any("no price configured" in record.getMessage() for record in caplog.records)


# -- json_object fallback -------------------------------------------------------


def test_json_object_fallback_is_remembered(sqlite_repository: SqlRepository) -> None:
    items = [make_input(i) for i in range(24)]
    with FakeOpenAIServer(reject_json_schema=True) as server:
        settings = settings_for(server, concurrency=1)
        with OpenAIExtractor(settings, sqlite_repository) as extractor:
            result = extractor.extract(items)
            assert extractor.response_mode == "json_object"
        # One refused json_schema request, then json_object only.
        assert server.completion_requests == 4
        assert server.response_modes == {"json_object": 3}
        # The schema travels in the prompt instead.
        assert '"candidate_id"' in server.requests[-1]["messages"][0]["content"]
    assert result.llm_calls == 3
    assert set(statuses(result).values()) == {CandidateStatus.EXTRACTED}


def test_plain_text_is_the_last_fallback(sqlite_repository: SqlRepository) -> None:
    items = [make_input(i) for i in range(3)]
    with FakeOpenAIServer(reject_json_schema=True, reject_json_object=True) as server:
        with OpenAIExtractor(settings_for(server), sqlite_repository) as extractor:
            result = extractor.extract(items)
            assert extractor.response_mode == "text"
        assert server.response_modes == {"text": 1}
        assert "response_format" not in server.requests[-1]
    assert set(statuses(result).values()) == {CandidateStatus.EXTRACTED}


def test_other_bad_requests_do_not_change_the_mode(sqlite_repository: SqlRepository) -> None:
    # A 400 about something else (here: the context length) is a failure, not a downgrade.
    with FakeOpenAIServer(max_context_tokens=100) as server:
        settings = settings_for(server, max_retries=0)
        with OpenAIExtractor(settings, sqlite_repository) as extractor:
            result = extractor.extract([make_input(0)])
            assert extractor.response_mode == "json_schema"
        assert server.completion_requests == 1
    assert set(statuses(result).values()) == {CandidateStatus.FAILED}
    assert "maximum context length" in (result.outcomes[key_of(make_input(0))].error or "")
