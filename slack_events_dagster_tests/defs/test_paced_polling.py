"""The watermark sensor under a paced budget: each tick asks only the channels the
planner chooses, says the backlog and the catch-up time, and the next tick asks the
ones left; a run's metadata says what it spent of the budget."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg

from slack_events_dagster import steps
from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.defs.polling import POLLED_KEY, run_budget_metadata
from slack_events_dagster.defs.resources import message_source
from slack_events_dagster.settings import load_settings
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack


def test_a_paced_sensor_asks_a_few_channels_per_tick_and_reports_the_backlog(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    settings = load_settings(
        slack={
            "source": "api",
            "base_url": fake_slack.base_url,
            "token": DEFAULT_TOKEN,
            "app_profile": "unlisted",
            # 4 calls a minute, 4 at once: a 60 s tick asks 2 channels, without waiting.
            "rate_limits": {"history": {"calls_per_minute": 4, "burst": 4, "limit": 15}},
        },
        pipeline={"sensor_interval_s": 60},
        database={"url": sqlite_repository.engine.url.render_as_string(hide_password=False)},
        digest={"output_dir": str(tmp_path / "out")},
    )
    defs = build_definitions(settings)
    resources = dict(defs.resources or {})
    instance = dg.DagsterInstance.ephemeral()
    channels = steps.register_channels(message_source(settings.slack), sqlite_repository)
    instance.add_dynamic_partitions("channels", [c.id for c in channels])
    sensor = defs.resolve_sensor_def("watermark_sensor")
    fake_slack.reset_counts()

    def tick(cursor: str | None) -> dg.SensorResult:
        with dg.build_sensor_context(
            instance=instance, resources=resources, cursor=cursor
        ) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        return result

    first = tick(None)
    assert fake_slack.calls["conversations.history"] == 2
    assert fake_slack.refused["conversations.history"] == 0
    # Nothing stored yet: both channels asked have news.
    asked = {r.partition_key.keys_by_dimension["channel"] for r in first.run_requests or []}  # type: ignore[union-attr]
    assert len(asked) == 2
    assert first.cursor is not None
    assert set(json.loads(first.cursor)[POLLED_KEY]) == asked

    second = tick(first.cursor)
    assert fake_slack.calls["conversations.history"] == 4
    again = {r.partition_key.keys_by_dimension["channel"] for r in second.run_requests or []}  # type: ignore[union-attr]
    assert len(again) == 2 and not again & asked  # the backlog's turn

    # A run's metadata: the budget's pace and the channels still due.
    source = message_source(settings.slack, sqlite_repository)
    metadata = run_budget_metadata(source, sqlite_repository, settings)
    assert metadata["slack_calls_per_minute"].data == {
        "conversations.history": 4,
        "conversations.replies": 1,
    }
    assert metadata["poll_backlog_channels"] == len(channels)  # no run has read any yet
    assert metadata["poll_catch_up_minutes"] == len(channels) / 4


def test_the_tick_says_the_backlog_when_nothing_is_new(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    settings = load_settings(
        slack={
            "source": "api",
            "base_url": fake_slack.base_url,
            "token": DEFAULT_TOKEN,
            "rate_limits": {"history": {"calls_per_minute": 2, "burst": 2, "limit": 15}},
        },
        pipeline={"sensor_interval_s": 60},
        database={"url": sqlite_repository.engine.url.render_as_string(hide_password=False)},
    )
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    channels = steps.register_channels(message_source(settings.slack), sqlite_repository)
    instance.add_dynamic_partitions("channels", [c.id for c in channels])
    # Every channel's newest message already seen: the cursor says so.
    seen = {c.id: fake_slack.channels[c.id].history_ts[-1] for c in channels}
    with dg.build_sensor_context(
        instance=instance, resources=dict(defs.resources or {}), cursor=json.dumps(seen)
    ) as context:
        result = defs.resolve_sensor_def("watermark_sensor")(context)
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    reason = str(result.skip_reason)
    assert f"{len(channels)} channels due, 1 asked now, backlog {len(channels) - 1}" in reason
    assert f"catch-up {len(channels) / 2:.0f} min (2 history calls a minute)" in reason


def test_a_tick_never_sleeps_for_the_budget(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """The plan allows 2 channels, the budget has 1 call now: the tick asks one and
    leaves the other for the next tick (a sleeping tick would be timed out by Dagster)."""
    settings = load_settings(
        slack={
            "source": "api",
            "base_url": fake_slack.base_url,
            "token": DEFAULT_TOKEN,
            "rate_limits": {"history": {"calls_per_minute": 4, "burst": 1, "limit": 15}},
        },
        pipeline={"sensor_interval_s": 60},
        database={"url": sqlite_repository.engine.url.render_as_string(hide_password=False)},
    )
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    channels = steps.register_channels(message_source(settings.slack), sqlite_repository)
    instance.add_dynamic_partitions("channels", [c.id for c in channels])
    fake_slack.reset_counts()
    with dg.build_sensor_context(
        instance=instance, resources=dict(defs.resources or {})
    ) as context:
        result = defs.resolve_sensor_def("watermark_sensor")(context)
    assert isinstance(result, dg.SensorResult) and result.cursor is not None
    assert fake_slack.calls["conversations.history"] == 1
    assert len(json.loads(result.cursor)[POLLED_KEY]) == 1
    assert len(result.run_requests or []) == 1


def test_an_ingest_run_draws_from_the_database_budget_and_says_so(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    releases, first, last = "C0Q3BGHK7PB", "2026-03-02", "2026-03-22"
    ample = {"calls_per_minute": 600, "burst": 600, "limit": 5}  # paced, never waiting
    settings = load_settings(
        slack={
            "source": "api",
            "base_url": fake_slack.base_url,
            "token": DEFAULT_TOKEN,
            "app_profile": "unlisted",
            "rate_limits": {"history": ample, "replies": ample},
        },
        pipeline={"start_date": first, "timezone": "America/New_York"},
        database={"url": sqlite_repository.engine.url.render_as_string(hide_password=False)},
        digest={"output_dir": str(tmp_path / "out")},
    )
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("channels", [releases])
    steps.register_channels(message_source(settings.slack), sqlite_repository)
    fake_slack.reset_counts()
    result = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": f"{releases}|{first}",
            "dagster/asset_partition_range_end": f"{releases}|{last}",
        },
    )
    assert result.success
    [metadata] = {
        json.dumps({k: str(v) for k, v in e.materialization.metadata.items()}, sort_keys=True)
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("raw_slack_messages")
    }
    shown = json.loads(metadata)
    assert "conversations.history" in shown["slack_calls_per_minute"]
    assert "slack_budget_wait_s" in shown and "poll_catch_up_minutes" in shown
    # Pages of 5 at most (the limit configured), every call taken from the budget table.
    assert fake_slack.calls["conversations.history"] >= 2
    with sqlite_repository.engine.connect() as conn:
        methods = {row[0] for row in conn.exec_driver_sql("SELECT method FROM api_budget")}
    assert "conversations.history" in methods
    stored = sqlite_repository.get_messages(releases)
    assert stored and len(stored) <= 5 * sum(fake_slack.calls.values())
