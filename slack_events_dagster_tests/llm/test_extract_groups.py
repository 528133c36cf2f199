"""Extractor.extract_groups: several groups (days) in one call, each answered exactly as
if it were extracted alone, with the calls of all groups overlapping."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import text

from slack_events_dagster.llm.base import ExtractionInput, ExtractionResult
from slack_events_dagster.llm.openai_extractor import OpenAIExtractor
from slack_events_dagster.llm.quoting import candidate_id
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_openai import (
    FakeOpenAIServer,
    OracleRequest,
    naive_oracle,
)
from slack_events_dagster_tests.helpers.llm_extraction import make_input, settings_for


def groups_of(sizes: list[int], start: int = 0) -> list[list[ExtractionInput]]:
    groups, index = [], start
    for size in sizes:
        groups.append([make_input(i) for i in range(index, index + size)])
        index += size
    return groups


def recorded_hashes(repository: SqlRepository) -> set[str]:
    with repository.engine.connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT prompt_hash FROM llm_calls"))}


def same(one: ExtractionResult, other: ExtractionResult) -> bool:
    fields = ("drafts", "outcomes", "llm_calls", "cache_hits", "budget_reached")
    return all(getattr(one, name) == getattr(other, name) for name in fields)


def test_each_group_is_batched_as_if_extracted_alone(tmp_path: Path) -> None:
    alone, together = (SqlRepository.from_url(f"sqlite:///{tmp_path / n}") for n in "ab")
    alone.create_schema()
    together.create_schema()
    groups = groups_of([5, 11, 3, 8])  # batches of 8: 1 + 2 + 1 + 1
    with FakeOpenAIServer() as server:
        with OpenAIExtractor(settings_for(server), alone) as extractor:
            expected = [extractor.extract(group) for group in groups]
        with OpenAIExtractor(settings_for(server), together) as extractor:
            results = list(extractor.extract_groups(groups))
    assert len(results) == len(groups)
    assert all(same(got, want) for got, want in zip(results, expected, strict=True))
    assert [r.llm_calls for r in results] == [1, 2, 1, 1]
    # The same prompts (hashes) as extracting group by group: batching ignores grouping.
    assert recorded_hashes(together) == recorded_hashes(alone)
    alone.close()
    together.close()


def test_a_group_is_yielded_while_later_groups_are_in_flight(
    sqlite_repository: SqlRepository,
) -> None:
    groups = groups_of([4, 4])
    later_ids = {candidate_id(item) for item in groups[1]}
    first_received = threading.Event()

    def oracle(request: OracleRequest) -> Any:
        later = {str(c.get("id")) for c in request.candidates} & later_ids
        # The second group is answered only after the caller got the first one.
        if later and not first_received.wait(timeout=10):
            raise RuntimeError("the first group was not yielded before the second ended")
        return naive_oracle(request)

    with (
        FakeOpenAIServer(oracle=oracle) as server,
        OpenAIExtractor(settings_for(server, max_retries=0), sqlite_repository) as extractor,
    ):
        results = extractor.extract_groups(groups)
        first = next(results)
        first_received.set()
        second = next(results)
    assert first.llm_calls == second.llm_calls == 1
    assert all(o.error is None for r in (first, second) for o in r.outcomes.values())


def test_cached_groups_come_back_without_waiting_for_calls(
    sqlite_repository: SqlRepository,
) -> None:
    groups = groups_of([4, 4])
    release = threading.Event()

    def oracle(request: OracleRequest) -> Any:
        release.wait(timeout=10)
        return naive_oracle(request)

    with (
        FakeOpenAIServer() as server,
        OpenAIExtractor(settings_for(server), sqlite_repository) as extractor,
    ):
        extractor.extract(groups[0])  # now cached
    with (
        FakeOpenAIServer(oracle=oracle) as server,
        OpenAIExtractor(settings_for(server, max_retries=0), sqlite_repository) as extractor,
    ):
        results = extractor.extract_groups(groups)
        first = next(results)  # while the second group's call waits
        assert first.cache_hits == 1 and server.completions_served == 0
        release.set()
        assert next(results).llm_calls == 1


def test_closing_early_cancels_calls_not_started_and_records_the_others(
    sqlite_repository: SqlRepository,
) -> None:
    groups = groups_of([8, 8, 8, 8, 8])
    with FakeOpenAIServer(latency_s=0.05) as server:
        with OpenAIExtractor(settings_for(server, concurrency=2), sqlite_repository) as extractor:
            results = extractor.extract_groups(groups)
            next(results)
            results.close()
        made = server.completion_requests
    assert made < len(groups)  # the rest never started
    # Calls that were made are recorded, so a re-run answers them from the cache.
    assert len(recorded_hashes(sqlite_repository)) == made


def test_rule_extractor_groups_equal_extracting_each_group() -> None:
    groups = groups_of([3, 0, 5])
    extractor = RuleExtractor()
    results = list(extractor.extract_groups(groups))
    assert all(
        same(got, extractor.extract(group)) for got, group in zip(results, groups, strict=True)
    )
