"""A fixed history (the sample, an export) ends on pipeline.end_date: the partitions are
its days only, and the daily digest schedule starts stopped (no new day will come) and
skips, never fails, for a day after the end if someone starts it. A live source keeps
today's partition and a running schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import pytest

from slack_events_dagster.defs.automation import build_automation, digest_schedule
from slack_events_dagster.defs.partitions import Partitions
from slack_events_dagster.pipeline import SAMPLE_END, SAMPLE_START, demo_settings
from slack_events_dagster.settings import ConfigError, load_settings


def test_the_sample_partitions_are_its_days() -> None:
    daily = Partitions.from_settings(demo_settings(load_settings())).daily
    keys = daily.get_partition_keys()
    assert (keys[0], keys[-1], len(keys)) == (
        SAMPLE_START.isoformat(),
        SAMPLE_END.isoformat(),
        (SAMPLE_END - SAMPLE_START).days + 1,
    )


def test_without_an_end_the_days_run_to_today() -> None:
    settings = load_settings(pipeline={"start_date": "2026-03-02", "timezone": "UTC"})
    keys = Partitions.from_settings(settings).daily.get_partition_keys()
    assert keys[-1] == datetime.now(UTC).date().isoformat()


def test_the_schedule_starts_stopped_over_a_fixed_history_only() -> None:
    [fixed], fixed_sensors = build_automation(demo_settings(load_settings()))
    [live], live_sensors = build_automation(load_settings())
    assert fixed.default_status == dg.DefaultScheduleStatus.STOPPED
    assert live.default_status == dg.DefaultScheduleStatus.RUNNING
    # The sensors start the same way either way: discovery and alerts run, watermark polls
    # Slack only when turned on.
    for sensors in (fixed_sensors, live_sensors):
        assert {s.name: s.default_status for s in sensors} == {
            "channel_discovery_sensor": dg.DefaultSensorStatus.RUNNING,
            "watermark_sensor": dg.DefaultSensorStatus.STOPPED,
            "alert_sensor": dg.DefaultSensorStatus.RUNNING,
        }


def test_a_started_schedule_skips_the_days_after_the_end() -> None:
    schedule = digest_schedule(demo_settings(load_settings()))
    after = datetime(2026, 12, 4, 13, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=after) as context:
        skipped = schedule(context)
    assert isinstance(skipped, dg.SkipReason)
    assert skipped.skip_message and "after pipeline.end_date 2026-03-22" in skipped.skip_message
    last = datetime(2026, 3, 22, 13, tzinfo=UTC)
    with dg.build_schedule_context(scheduled_execution_time=last) as context:
        request = schedule(context)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2026-03-22"


def test_an_end_before_the_start_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="end_date 2026-03-01 is before start_date"):
        load_settings(pipeline={"start_date": date(2026, 3, 2), "end_date": date(2026, 3, 1)})
