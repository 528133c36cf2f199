"""Push first: an announcement the Socket Mode listener stored becomes an event through
the watermark sensor and one ingest run, with no history call to Slack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from slack_events_dagster import steps
from slack_events_dagster.defs.automation import PUSHED_RUN_TAG
from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.defs.resources import message_source
from slack_events_dagster.settings import load_settings
from slack_events_dagster.slack.listener import SocketModeListener
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_APP_TOKEN, DEFAULT_TOKEN, FakeSlack
from slack_events_dagster.testing.workspace_gen import generate_workspace
from slack_events_dagster_tests.helpers.pushed import running, wait_for

CHANNEL = "C00000001"


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> Any:
    sensor = defs.resolve_sensor_def("watermark_sensor")
    with dg.build_sensor_context(
        instance=instance, resources=dict(defs.resources or {}), cursor=cursor
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_a_pushed_announcement_becomes_an_event_without_history_calls(
    sqlite_repository: SqlRepository, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    fake = FakeSlack.from_workspace(generate_workspace(channels=2, days=2, per_day=8, end=today))
    with fake.serve():
        settings = load_settings(
            None,
            database={"url": sqlite_repository.engine.url.render_as_string(hide_password=False)},
            slack={
                "source": "api",
                "base_url": fake.base_url,
                "token": DEFAULT_TOKEN,
                "app_token": DEFAULT_APP_TOKEN,
                "max_retries": 2,
            },
            pipeline={"timezone": "UTC", "start_date": (today - timedelta(days=30)).isoformat()},
            digest={"output_dir": str(tmp_path / "out")},
        )
        defs = build_definitions(settings)
        # It reads the database, not Slack: on from the start.
        sensor = defs.resolve_sensor_def("watermark_sensor")
        assert sensor.default_status is dg.DefaultSensorStatus.RUNNING
        assert sensor.minimum_interval_seconds == settings.pipeline.push_sensor_interval_s == 30
        instance = dg.DagsterInstance.ephemeral()
        channels = steps.register_channels(message_source(settings.slack), sqlite_repository)
        instance.add_dynamic_partitions("channels", [c.id for c in channels])
        listener = SocketModeListener(settings.slack, sqlite_repository)
        with running(listener):
            wait_for(lambda: len(listener.contiguous_channels()) == 2, what="the first fill")
            before = _tick(defs, instance, None)
            fake.reset_counts()
            ts = fake.add_message(
                CHANNEL, "Release 4.2 ships tomorrow at 10:00 UTC :rocket:", user="U00000002"
            )
            wait_for(lambda: fake.unacked == 0, what="the announcement acknowledged")
        news = _tick(defs, instance, before.cursor)
        wanted = dg.MultiPartitionKey({"day": today.isoformat(), "channel": CHANNEL})
        [request] = [r for r in news.run_requests if r.partition_key == wanted]
        assert request.tags[PUSHED_RUN_TAG] == "true"
        # The same partition with nothing newer is the same run key: Dagster runs it once.
        again = _tick(defs, instance, news.cursor)
        assert request.run_key in {r.run_key for r in again.run_requests}

        result = defs.resolve_job_def("ingest_job").execute_in_process(
            instance=instance,
            partition_key=request.partition_key,
            tags=request.tags,
            raise_on_error=False,
        )
        assert result.success
    assert fake.calls["conversations.history"] == 0
    assert fake.calls["conversations.replies"] == 0
    [raw] = [
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("raw_slack_messages")
    ]
    metadata = raw.materialization.metadata
    assert metadata["pushed"].value is True and metadata["slack_api_calls"].value == 0
    events = sqlite_repository.get_events()
    assert any(source.ts == ts for event in events for source in event.sources), events
