"""The faults the fake injects, and how an answer is broken for each of them."""

from __future__ import annotations

import copy
import json
from typing import Any

FAULT_KINDS: tuple[str, ...] = (
    "rate_limit",
    "server_error",
    "hang",
    "invalid_json",
    "schema_violation",
    "wrong_ids",
    "bad_dates",
    "empty_answer",
    "broken_body",
)


def corrupt(fault: str, answer: Any, content: str) -> str:
    """The oracle's answer broken the way the fault says."""
    if fault == "invalid_json":
        return content[: max(1, len(content) // 2)] + "…"
    if fault == "empty_answer":
        return ""
    if not isinstance(answer, dict) or not isinstance(answer.get("candidates"), list):
        return content
    broken = copy.deepcopy(answer)
    entries = [entry for entry in broken["candidates"] if isinstance(entry, dict)]
    if fault == "schema_violation":
        for entry in entries:
            entry["priority"] = "high"
            for event in entry.get("events", []):
                event["confidence"] = "very high"
    elif fault == "wrong_ids":
        for index, entry in enumerate(entries):
            entry["candidate_id"] = f"msg-{index + 1}"
    elif fault == "bad_dates":
        for entry in entries:
            for event in entry.get("events", []):
                event["start"] = "2024-02-30T25:61"
    return json.dumps(broken)
