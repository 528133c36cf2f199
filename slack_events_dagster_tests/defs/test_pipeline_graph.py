"""The Dagster graph end to end: real slack_sdk and openai clients against the local
fakes, a real SQLite file or PostgreSQL database, a real (ephemeral) Dagster instance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from slack_events_dagster import steps
from slack_events_dagster.defs.automation import alert_sensor, channel_discovery_sensor
from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.defs.resources import message_source
from slack_events_dagster.domain.models import Event, EventCategory, SourceRef
from slack_events_dagster.settings import Settings, load_settings
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_openai import FakeOpenAIServer
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack, FaultPlan
from slack_events_dagster_tests.helpers.oracles import next_day_oracle
from slack_events_dagster_tests.helpers.stores import upsert_events

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
CHANNELS = {
    "C0VLNVAD8VE": "engineering",
    "C0Q3BGHK7PB": "releases",
    "C0HKM3VJAU8": "ops-maintenance",
}
FIRST, LAST = date(2026, 3, 9), date(2026, 3, 11)


@dataclass
class Harness:
    defs: dg.Definitions
    resources: dict[str, Any]
    instance: dg.DagsterInstance
    repository: SqlRepository
    slack: FakeSlack
    llm: FakeOpenAIServer | None
    settings: Settings

    def run(self, job_name: str, start: str, end: str) -> dg.ExecuteInProcessResult:
        job = self.defs.resolve_job_def(job_name)
        return job.execute_in_process(
            instance=self.instance,
            resources=self.resources,
            tags={RANGE_START: start, RANGE_END: end},
            raise_on_error=False,
        )

    def run_channels(self) -> list[dg.ExecuteInProcessResult]:
        return [
            self.run("ingest_job", f"{channel}|{FIRST}", f"{channel}|{LAST}")
            for channel in CHANNELS
        ]

    def checks(self, result: dg.ExecuteInProcessResult) -> dict[str, bool]:
        return {
            e.check_name: e.passed
            for e in (
                event.event_specific_data
                for event in result.all_events
                if event.event_type_value == "ASSET_CHECK_EVALUATION"
            )
            if isinstance(e, dg.AssetCheckEvaluation)
        }


def make_harness(
    repository: SqlRepository,
    fake_slack: FakeSlack,
    tmp_path: Any,
    *,
    llm: FakeOpenAIServer | None = None,
    digest: dict[str, Any] | None = None,
) -> Harness:
    overrides: dict[str, Any] = {
        "slack": {"source": "api", "base_url": fake_slack.base_url, "max_retries": 2},
        "pipeline": {"timezone": "America/New_York", "candidate_threshold": 0.5},
        "digest": {
            "output_dir": str(tmp_path / "out"),
            "calendar_path": str(tmp_path / "out" / "events.ics"),
            "timezone": "America/New_York",
            **(digest or {}),
        },
    }
    if llm is not None:
        overrides["llm"] = {"provider": "openai", "base_url": llm.base_url, "batch_size": 8}
    overrides["slack"]["token"] = DEFAULT_TOKEN
    overrides["llm"] = {**overrides.get("llm", {}), "api_key": "sk-test-key"}
    overrides["database"] = {"url": repository.engine.url.render_as_string(hide_password=False)}
    settings = load_settings(**overrides)
    defs = build_definitions(settings)
    resources = dict(defs.resources or {})
    instance = dg.DagsterInstance.ephemeral()
    source = message_source(settings.slack)
    channels = [c for c in steps.register_channels(source, repository) if c.id in CHANNELS]
    instance.add_dynamic_partitions("channels", [c.id for c in channels])
    return Harness(defs, resources, instance, repository, fake_slack, llm, settings)


def table_snapshot(repository: SqlRepository) -> dict[str, Any]:
    def stable(event: Event) -> dict[str, Any]:
        return event.model_dump(exclude={"updated_at", "first_seen_at"})

    return {
        "messages": repository.count_messages(),
        "candidates": [c.model_dump(exclude={"updated_at"}) for c in repository.get_candidates()],
        "events": [stable(e) for e in repository.get_events()],
    }


def test_graph_runs_in_ranges_and_twice_changes_nothing(
    repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Any
) -> None:
    with FakeOpenAIServer(oracle=next_day_oracle) as llm:
        harness = make_harness(repository, fake_slack, tmp_path, llm=llm)
        first = harness.run_channels()
        digest = harness.run("digest_job", FIRST.isoformat(), LAST.isoformat())
        assert all(r.success for r in [*first, digest])
        # One run per channel covers all three days of every per-channel asset.
        raw = [
            e
            for e in first[0].get_asset_materialization_events()
            if e.asset_key == dg.AssetKey("raw_slack_messages")
        ]
        assert len(raw) == 3
        after_first = table_snapshot(repository)
        assert after_first["messages"] > 30
        assert after_first["candidates"], "the sample's announcements become candidates"
        assert after_first["events"], "and some become events"
        calls_first = llm.completion_requests
        assert calls_first >= 1
        for result in first:
            checks = harness.checks(result)
            assert checks["events_are_unique_and_sourced"] is True
            assert checks["watermark_sanity"] is True
        assert harness.checks(digest) == {"digest_safety": True}

        again = harness.run_channels()
        harness.run("digest_job", FIRST.isoformat(), LAST.isoformat())
        assert all(r.success for r in again)
        assert llm.completion_requests == calls_first, "the second run is served by the cache"
        assert table_snapshot(repository) == after_first

        metadata = next(
            e.materialization.metadata
            for e in again[0].get_asset_materialization_events()
            if e.asset_key == dg.AssetKey("events")
        )
        assert metadata["llm_calls"] == dg.IntMetadataValue(0)
        assert "sk-test-key" not in str(metadata)


def test_digest_is_posted_once_then_updated(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Any
) -> None:
    harness = make_harness(
        sqlite_repository, fake_slack, tmp_path, digest={"post": True, "channel": "#general"}
    )
    assert all(r.success for r in harness.run_channels())
    day = LAST.isoformat()
    assert harness.run("digest_job", day, day).success
    assert len(fake_slack.posted) == 1
    assert harness.run("digest_job", day, day).success
    assert len(fake_slack.posted) == 1, "a re-run edits the message instead of posting again"
    assert len(fake_slack.updated) == 1
    stored = sqlite_repository.get_digest(LAST)
    assert stored is not None and stored.posted_ts == fake_slack.posted[0]["ts"]


def test_dry_run_posts_nothing_and_writes_files(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Any
) -> None:
    harness = make_harness(sqlite_repository, fake_slack, tmp_path)
    harness.run_channels()
    result = harness.run("digest_job", LAST.isoformat(), LAST.isoformat())
    assert result.success
    assert fake_slack.posted == []
    assert (tmp_path / "out" / f"digest-{LAST}.md").read_text().startswith("# Events digest")
    assert (tmp_path / "out" / "events.ics").read_bytes().startswith(b"BEGIN:VCALENDAR")
    digest_md = next(
        e.materialization.metadata["digest"]
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("daily_digest")
    )
    assert "Events digest" in str(digest_md)


def test_watermark_and_discovery_sensors(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Any
) -> None:
    harness = make_harness(sqlite_repository, fake_slack, tmp_path)
    resources = harness.resources

    def tick(sensor: dg.SensorDefinition, cursor: str | None = None) -> dg.SensorResult:
        with dg.build_sensor_context(
            instance=harness.instance, resources=resources, cursor=cursor
        ) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        return result

    discovered = tick(channel_discovery_sensor)
    [request] = discovered.dynamic_partitions_requests or []
    assert isinstance(request, dg.AddDynamicPartitionsRequest)
    # The harness registered three channels; discovery adds the other five.
    assert set(request.partition_keys) == set(fake_slack.channels) - set(CHANNELS)
    # Incremental ingestion of today sets the watermarks; then a tick finds nothing new.
    now = datetime.now(UTC)
    for channel in sqlite_repository.get_channels():
        if channel.id in CHANNELS:
            steps.ingest_days(
                message_source(harness.settings.slack),
                sqlite_repository,
                harness.settings,
                channel,
                now.date(),
                now.date(),
                now=now,
            )
    watermark_sensor = harness.defs.resolve_sensor_def("watermark_sensor")
    quiet = tick(watermark_sensor)
    assert quiet.run_requests == []
    fake_slack.add_message(
        "C0Q3BGHK7PB", "Release 4.15 ships tomorrow at 10am ET :rocket:", user="U0LENA0001"
    )
    news = tick(watermark_sensor, quiet.cursor)
    assert len(news.run_requests or []) == 1
    [run_request] = news.run_requests or []
    assert run_request.partition_key is not None and "C0Q3BGHK7PB" in run_request.partition_key
    repeated = tick(watermark_sensor, news.cursor)
    assert repeated.run_requests == []


def test_failed_check_is_alerted_exactly_once(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Any
) -> None:
    harness = make_harness(
        sqlite_repository, fake_slack, tmp_path, digest={"alert_channel": "#ops-alerts"}
    )
    fake_slack.add_channel({"id": "C0ALERTS01", "name": "ops-alerts"})

    def tick(cursor: str | None) -> tuple[str | None, int]:
        with dg.build_sensor_context(
            instance=harness.instance, resources=harness.resources, cursor=cursor
        ) as context:
            result = alert_sensor(context)
        cursor = result.cursor if isinstance(result, dg.SensorResult) else cursor
        return cursor, len(fake_slack.posted)

    cursor, posted = tick(None)
    assert posted == 0
    # Break an invariant on purpose: an event whose only source was never stored.
    upsert_events(
        sqlite_repository,
        [
            Event(
                event_id="orphan",
                dedup_key="orphan-key",
                title="Ghost launch",
                category=EventCategory.LAUNCH,
                start=date(2026, 3, 10),
                sources=[SourceRef(channel_id="C0VLNVAD8VE", ts="1.000001")],
            )
        ],
    )
    channel = next(iter(CHANNELS))
    result = harness.run("ingest_job", f"{channel}|{FIRST}", f"{channel}|{FIRST}")
    assert harness.checks(result)["events_are_unique_and_sourced"] is False
    cursor, posted = tick(cursor)
    alerts = [p["text"] for p in fake_slack.posted]
    assert any("events_are_unique_and_sourced" in text for text in alerts)
    _, posted_again = tick(cursor)
    assert posted_again == posted, "a later tick posts nothing twice"


def test_failed_post_keeps_the_digest_and_is_retried_next_run(
    sqlite_repository: SqlRepository, fake_slack: FakeSlack, tmp_path: Any
) -> None:
    harness = make_harness(
        sqlite_repository, fake_slack, tmp_path, digest={"post": True, "channel": "#general"}
    )
    harness.run_channels()
    day = LAST.isoformat()
    # Slack keeps answering 500 to chat.postMessage, past slack_sdk's retries.
    fake_slack.faults = FaultPlan(rate=1.0, kinds=("500",), methods=frozenset({"chat.postMessage"}))
    failed = harness.run("digest_job", day, day)
    assert not failed.success
    assert fake_slack.posted == []
    stored = sqlite_repository.get_digest(LAST)
    assert stored is not None and stored.posted_ts is None, "the digest is kept, unposted"
    errors = " ".join(
        str(event.event_specific_data) for event in failed.all_events if event.is_failure
    )
    assert "chat.postMessage failed" in errors

    fake_slack.faults = FaultPlan()
    assert harness.run("digest_job", day, day).success
    assert len(fake_slack.posted) == 1
    reposted = sqlite_repository.get_digest(LAST)
    assert reposted is not None and reposted.posted_ts == fake_slack.posted[0]["ts"]
