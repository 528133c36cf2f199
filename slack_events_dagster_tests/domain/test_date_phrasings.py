"""Dates and times as people write them, through the candidate scorer and the rule extractor.

Each case is a whole message posted at a known local time in a known zone; the scorer
must pass it on and the extractor's draft must start (and end) where a reader says.
At least 95 % of the cases must be right; the ones that are not are listed in
``KNOWN_MISSES`` with the reason, and a case listed there that starts passing fails
the test too (so the list stays true).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from slack_events_dagster.domain.candidates import score_message
from slack_events_dagster.domain.models import EventCandidate, SlackMessage, datetime_to_ts
from slack_events_dagster.llm.base import ExtractionInput
from slack_events_dagster.llm.rules import RuleExtractor
from slack_events_dagster_tests.helpers.date_phrasings import CASES, Case

# Phrasings read wrong today, with why; each stays listed until it is read right.
KNOWN_MISSES: dict[str, str] = {}


def _read(case: Case) -> tuple[bool, object, object]:
    posted = datetime.fromisoformat(case.posted).replace(tzinfo=ZoneInfo(case.zone))
    message = SlackMessage(channel_id="C1", ts=datetime_to_ts(posted), text=case.text)
    scored = score_message(message, channel_name="general")
    item = ExtractionInput(
        candidate=EventCandidate(channel_id="C1", ts=message.ts, score=max(scored.score, 0.5)),
        message=message,
        channel_name="general",
        timezone=case.zone,
    )
    drafts = RuleExtractor(date_order=case.order).read_drafts(item)
    if not drafts:
        return scored.is_candidate, None, None
    return scored.is_candidate, drafts[0].start, drafts[0].end


def _right(case: Case) -> bool:
    candidate, start, end = _read(case)
    return candidate and start == case.expected and (case.end is None or end == case.end)


def test_at_least_95_percent_of_phrasings_are_read_right() -> None:
    misses = {name: _read(case) for name, case in CASES.items() if not _right(case)}
    assert len(CASES) >= 60
    assert set(misses) == set(KNOWN_MISSES), f"misread phrasings (candidate, start, end): {misses}"
    assert len(misses) / len(CASES) <= 0.05


@pytest.mark.parametrize("name", sorted(CASES))
def test_phrasing(name: str) -> None:
    if name in KNOWN_MISSES:
        pytest.xfail(KNOWN_MISSES[name])
    case = CASES[name]
    candidate, start, end = _read(case)
    assert candidate, f"{case.text!r} is not a candidate"
    assert start == case.expected, (case.text, start)
    if case.end is not None:
        assert end == case.end, (case.text, end)
