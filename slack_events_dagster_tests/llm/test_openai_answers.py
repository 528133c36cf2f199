"""The LLM extractor's reading of answers, without a server: the answer's schema, drafts
in the stated zone, URLs, redaction, the prompt item and the budget gate."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from slack_events_dagster.llm.answers import drafts_from_answer
from slack_events_dagster.llm.base import ExtractionInput
from slack_events_dagster.llm.budget import BudgetGate
from slack_events_dagster.llm.openai_extractor import OpenAIExtractor
from slack_events_dagster.llm.prompt import CandidateAnswer, parse_answer
from slack_events_dagster.llm.quoting import candidate_id, prompt_item
from slack_events_dagster.settings import ConfigError, LLMSettings
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster_tests.helpers.llm_extraction import (
    TZ,
    answer_event,
    key_of,
    make_input,
)


def test_parse_answer_rejects_what_is_not_json() -> None:
    parsed = parse_answer('{"candidates": [', ["a", "b"])
    assert parsed.error is not None and "not valid JSON" in parsed.error
    assert set(parsed.errors) == {"a", "b"}


@pytest.mark.parametrize(
    "answer",
    [
        [],
        {"candidates": [], "note": "hi"},
        {"results": []},
        {"candidates": {"a": []}},
        '{"candidates": [], "candidates": []}',
        '{"candidates": [{"candidate_id": "a", "events": [{"confidence": NaN}]}]}',
    ],
)
def test_parse_answer_rejects_a_wrong_envelope(answer: Any) -> None:
    text = answer if isinstance(answer, str) else json.dumps(answer)
    parsed = parse_answer(text, ["a"])
    assert "a" in parsed.errors and not parsed.answers


@pytest.mark.parametrize(
    ("bad_event", "why"),
    [
        ({**answer_event(), "priority": "high"}, "Extra inputs"),
        (answer_event(confidence="0.9"), "confidence"),
        (answer_event(all_day="yes"), "all_day"),
        (answer_event(category="party"), "category"),
        (answer_event(title=""), "title"),
        (answer_event(title="x" * 301), "title"),
        ({k: v for k, v in answer_event().items() if k != "status"}, "status"),
    ],
)
def test_parse_answer_fails_only_the_candidate_that_breaks_the_schema(
    bad_event: dict[str, Any], why: str
) -> None:
    answer = {
        "candidates": [
            {"candidate_id": "b", "events": [answer_event()]},
            {"candidate_id": "a", "events": [bad_event]},
        ]
    }
    parsed = parse_answer(json.dumps(answer), ["a", "b"])
    assert parsed.error is None
    assert set(parsed.answers) == {"b"}
    assert why in parsed.errors["a"]
    assert json.loads(parsed.raw_entries["a"])["events"] == [bad_event]


def test_parse_answer_unknown_and_duplicate_ids() -> None:
    answer = {
        "candidates": [
            {"candidate_id": "zzz", "events": []},
            {"candidate_id": "b", "events": []},
            {"candidate_id": "b", "events": [answer_event()]},
            {"candidate_id": "c", "events": []},
        ]
    }
    parsed = parse_answer(json.dumps(answer), ["a", "b", "c"])
    assert set(parsed.answers) == {"c"}
    assert "no entry" in parsed.errors["a"] and "zzz" in parsed.errors["a"]
    assert "more than once" in parsed.errors["b"]


def test_parse_answer_accepts_a_fenced_answer() -> None:
    text = '```json\n{"candidates": [{"candidate_id": "a", "events": []}]}\n```'
    assert set(parse_answer(text, ["a"]).answers) == {"a"}


def _answer_for(item: ExtractionInput, **fields: Any) -> CandidateAnswer:
    return CandidateAnswer.model_validate_json(
        json.dumps({"candidate_id": candidate_id(item), "events": [answer_event(**fields)]})
    )


def test_drafts_are_aware_in_the_stated_zone() -> None:
    item = make_input(1)
    (draft,) = drafts_from_answer(_answer_for(item, end="2024-03-10T15:00"), item)
    assert draft.start == datetime(2024, 3, 10, 14, 30, tzinfo=ZoneInfo(TZ))
    assert isinstance(draft.start, datetime) and draft.start.utcoffset() == timedelta(hours=1)
    assert draft.timezone == TZ
    assert (draft.source.channel_id, draft.source.ts) == key_of(item)

    (other,) = drafts_from_answer(
        _answer_for(item, start="2024-03-10T09:00", timezone="America/New_York"), item
    )
    assert other.timezone == "America/New_York"
    assert isinstance(other.start, datetime) and other.start.utcoffset() == timedelta(hours=-4)

    (offset,) = drafts_from_answer(_answer_for(item, start="2024-03-10T14:30:00+00:00"), item)
    assert isinstance(offset.start, datetime) and offset.start.hour == 15  # 14:30Z in Berlin

    (all_day,) = drafts_from_answer(_answer_for(item, start="2024-03-10", all_day=True), item)
    assert all_day.start == date(2024, 3, 10) and all_day.all_day


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"start": "2024-02-30"}, "not a date"),
        ({"start": "2024-02-30T25:61"}, "not a date-time"),
        ({"start": "next tuesday"}, "not a date-time"),
        ({"start": "1999-01-01"}, "implausibly far"),
        ({"start": "2024-03-10T14:30", "all_day": True}, "time of day"),
        ({"timezone": "Mars/Olympus"}, "not an IANA"),
        ({"end": "2024-03-09T10:00"}, "end is before start"),
        ({"start": "2024-03-10", "end": "2024-03-11T10:00"}, "both be"),
    ],
)
def test_drafts_reject_dates_that_cannot_be(fields: dict[str, Any], why: str) -> None:
    item = make_input(1)
    with pytest.raises(ValueError, match=why):
        drafts_from_answer(_answer_for(item, **fields), item)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JAVASCRIPT:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "//evil.example/x",
        "ftp://files.example/x",
        "https://ok.example/has space",
    ],
)
def test_non_http_urls_are_dropped(url: str) -> None:
    item = make_input(1)
    (draft,) = drafts_from_answer(_answer_for(item, url=url), item)
    assert draft.url is None


def test_http_urls_are_kept() -> None:
    item = make_input(1)
    (draft,) = drafts_from_answer(_answer_for(item, url="https://example.com/r?x=1"), item)
    assert draft.url == "https://example.com/r?x=1"


def test_prompt_item_quotes_local_time_and_thread_parent() -> None:
    parent = make_input(0, "Launch on 2024-03-12").message
    item = make_input(3, "moved to 2024-03-14", parent=parent)
    quoted = prompt_item(item)
    assert quoted["posted_at"] == "2024-03-04T10:03:00+01:00"
    assert quoted["thread_parent_text"] == "Launch on 2024-03-12"
    assert quoted["timezone"] == TZ and quoted["channel"] == "#releases"


def test_budget_gate_waits_for_in_flight_calls_rather_than_overshooting() -> None:
    gate = BudgetGate(budget_usd=1.0, spent_usd=0.0)
    first = gate.reserve(0.6)
    assert first is not None
    second = gate.reserve(0.3)  # 0.6 reserved < 1.0: may start
    assert second is not None
    gate.settle(first, 0.5)
    gate.settle(second, 0.5)
    assert gate.reserve(0.1) is None  # 1.0 spent: reached


def test_missing_key_for_the_openai_api_is_a_config_error(sqlite_repository: SqlRepository) -> None:
    with pytest.raises(ConfigError, match=r"llm\.api_key"):
        OpenAIExtractor(LLMSettings(provider="openai"), sqlite_repository)
