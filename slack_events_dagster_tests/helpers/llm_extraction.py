"""Extraction inputs, LLM settings and answer entries for the tests of the OpenAI extractor."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from slack_events_dagster.domain.models import (
    CandidateStatus,
    EventCandidate,
    SlackMessage,
    datetime_to_ts,
)
from slack_events_dagster.llm.base import ExtractionInput, ExtractionResult
from slack_events_dagster.settings import LLMSettings
from slack_events_dagster.testing.fake_openai import FakeOpenAIServer

API_KEY = "sk-proj-TESTKEY-abcdefghijklmnop0123456789"


TZ = "Europe/Berlin"


POSTED = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def make_input(
    index: int,
    text: str | None = None,
    *,
    channel: str = "C0RELEASES",
    parent: SlackMessage | None = None,
) -> ExtractionInput:
    ts = datetime_to_ts(POSTED + timedelta(minutes=index))
    day = date(2024, 3, 10) + timedelta(days=index % 15)
    message = SlackMessage(
        channel_id=channel,
        ts=ts,
        thread_ts=parent.ts if parent is not None else None,
        user="U1",
        text=text if text is not None else f"Release v{index}: {day.isoformat()} 14:30",
    )
    candidate = EventCandidate(channel_id=channel, ts=ts, score=0.9, parent_ts=None)
    return ExtractionInput(
        candidate=candidate,
        message=message,
        channel_name="releases",
        timezone=TZ,
        thread_parent=parent,
    )


def settings_for(server: FakeOpenAIServer, **overrides: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "provider": "openai",
        "base_url": server.base_url,
        "api_key": SecretStr(API_KEY),
        "model": "gpt-4o-mini",
        "batch_size": 8,
        "concurrency": 4,
        # Long enough that a loaded machine never times out a normal answer (which
        # would add a retry to the counts); the hang tests shorten it.
        "timeout_s": 5.0,
        "max_retries": 2,
        "daily_budget_usd": 100.0,
    }
    values.update(overrides)
    return LLMSettings(**values)


def key_of(item: ExtractionInput) -> tuple[str, str]:
    return (item.candidate.channel_id, item.candidate.ts)


def statuses(result: ExtractionResult) -> dict[tuple[str, str], CandidateStatus]:
    return {key: outcome.status for key, outcome in result.outcomes.items()}


def answer_event(**fields: Any) -> dict[str, Any]:
    event = {
        "title": "Release",
        "category": "release",
        "start": "2024-03-10T14:30",
        "end": None,
        "all_day": False,
        "date_source": "written",
        "timezone": None,
        "location": None,
        "url": None,
        "links": [],
        "summary": None,
        "confidence": 0.8,
        "status": "scheduled",
    }
    event.update(fields)
    return event
