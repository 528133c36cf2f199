"""The Web API source's settings for tests against the fake Slack, and what a generated
workspace's history holds."""

from __future__ import annotations

from typing import Any

from slack_events_dagster.settings import SlackSettings
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN
from slack_events_dagster.testing.workspace_gen import GeneratedWorkspace


def slack_settings(base_url: str, **overrides: Any) -> SlackSettings:
    """Settings for tests: short backoff and timeout so faults cost milliseconds."""
    values: dict[str, Any] = {
        "source": "api",
        "token": DEFAULT_TOKEN,
        "base_url": base_url,
        "page_size": 200,
        "max_retries": 6,
        "retry_backoff_s": 0.01,
        "timeout_s": 5,
    }
    values.update(overrides)
    return SlackSettings(**values)


def top_level_count(workspace: GeneratedWorkspace, channel_id: str) -> int:
    """The channel's messages that history shows: top-level ones and thread broadcasts."""
    return sum(
        1
        for m in workspace.messages[channel_id]
        if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
    )
