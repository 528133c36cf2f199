"""Oracles of the fake OpenAI server that the Dagster tests share."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from slack_events_dagster.testing.fake_openai import OracleRequest


def next_day_oracle(request: OracleRequest) -> dict[str, Any]:
    """A model that reads every candidate as an event at 15:00 the day after posting."""
    entries = []
    for item in request.candidates:
        posted = datetime.fromisoformat(str(item["posted_at"]))
        text = " ".join(str(item.get("text") or "event").split())
        entries.append(
            {
                "candidate_id": str(item["id"]),
                "events": [
                    {
                        "title": text[:60] or "event",
                        "category": "meeting",
                        "start": (posted + timedelta(days=1)).strftime("%Y-%m-%dT15:00"),
                        "end": None,
                        "all_day": False,
                        "date_source": "relative",
                        "timezone": item.get("timezone"),
                        "location": None,
                        "url": None,
                        "links": [],
                        "summary": None,
                        "confidence": 0.8,
                        "status": "scheduled",
                    }
                ],
            }
        )
    return {"candidates": entries}
