"""The polling plan in the watermark sensor and the call budget in a run's metadata.

The sensor asks Slack for news one ``conversations.history`` call per channel; under a
paced budget (an unlisted app: 1 call a minute) it asks only the channels the planner
(``domain.polling``) chooses, and its tick says the backlog and the time to catch up.
A run's metadata says the calls it made, the time it waited for the budget and the same
backlog. What the planner reads comes from the repository (watermarks, ingestion runs,
thread replies) and the sensor's cursor (when it last asked each channel).
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from slack_events_dagster.domain.models import datetime_to_ts, ts_sort_key, ts_to_datetime
from slack_events_dagster.domain.polling import ChannelActivity, PollPlan, plan_polls
from slack_events_dagster.settings import Settings
from slack_events_dagster.slack.source import MessageSource
from slack_events_dagster.storage.base import Repository

# The sensor cursor's key for when each channel was last asked (the rest of the cursor
# maps channel ids to the newest ts seen).
POLLED_KEY = "polled_at"
OPEN_THREAD_WITHIN = timedelta(days=1)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def channel_activity(
    repo: Repository,
    channel_ids: Iterable[str],
    cursor: MutableMapping[str, Any],
    now: datetime,
) -> list[ChannelActivity]:
    watermarks = repo.get_watermarks()
    runs = repo.get_ingestion_states()
    polled: dict[str, str] = cursor.get(POLLED_KEY) or {}
    since = datetime_to_ts(now - OPEN_THREAD_WITHIN)
    activities = []
    for channel_id in channel_ids:
        newest = [ts for ts in (watermarks.get(channel_id), cursor.get(channel_id)) if ts]
        last_message = ts_to_datetime(max(newest, key=ts_sort_key)) if newest else None
        asked = datetime.fromisoformat(polled[channel_id]) if channel_id in polled else None
        run = runs.get(channel_id)
        threads = repo.get_thread_latest_replies(channel_id, since)
        open_threads = sum(
            1 for latest in threads.values() if latest and ts_sort_key(latest) >= ts_sort_key(since)
        )
        activities.append(
            ChannelActivity(
                channel_id,
                last_message_at=last_message,
                last_polled_at=_later(asked, run.last_run_at if run else None),
                open_threads=open_threads,
            )
        )
    return activities


def plan_tick(
    repo: Repository,
    settings: Settings,
    channel_ids: Iterable[str],
    cursor: MutableMapping[str, Any],
    now: datetime,
) -> PollPlan:
    """The channels this tick asks for news, within the history budget."""
    calls_per_minute = settings.slack.method_limit("history").calls_per_minute
    activity = (
        # Unpaced, every channel is asked: what each did does not matter.
        [ChannelActivity(channel_id) for channel_id in channel_ids]
        if calls_per_minute is None
        else channel_activity(repo, channel_ids, cursor, now)
    )
    return plan_polls(
        activity,
        now,
        tick=timedelta(seconds=settings.pipeline.sensor_interval_s),
        calls_per_minute=calls_per_minute,
    )


def may_ask_now(source: MessageSource) -> bool:
    """Whether the budget has a history call for the sensor now (taken if so): a tick
    asks no further channel rather than sleep for the budget."""
    return source.budget is None or source.budget.take_now("conversations.history")


def mark_polled(cursor: MutableMapping[str, Any], asked: Iterable[str], now: datetime) -> None:
    """Remember in the cursor when these channels were asked."""
    polled: dict[str, str] = dict(cursor.get(POLLED_KEY) or {})
    polled.update(dict.fromkeys(asked, now.isoformat()))
    cursor[POLLED_KEY] = polled


def run_budget_metadata(
    source: MessageSource, repo: Repository, settings: Settings
) -> dict[str, Any]:
    """What a run spent of the app's budget, and the channels due to be asked after it
    with the time the budget needs for them (paced sources only)."""
    budget = source.budget
    if budget is None:
        return {}
    channel_ids = [channel.id for channel in repo.get_channels()]
    plan = plan_tick(repo, settings, channel_ids, {}, datetime.now(UTC))
    return {
        "slack_budget_wait_s": dg.MetadataValue.json(
            {method: round(seconds, 1) for method, seconds in budget.waited.items()}
        ),
        "slack_calls_per_minute": dg.MetadataValue.json(
            {method: pace.per_minute for method, pace in budget.paces.items()}
        ),
        "poll_backlog_channels": plan.due,
        "poll_catch_up_minutes": round(plan.catch_up.total_seconds() / 60, 1),
    }
