"""Every asset check passes on healthy data and fails, at its severity, when its
invariant is broken on purpose; the alert sensor posts each failure exactly once.

The pipeline runs for real (fake Slack and fake OpenAI servers over HTTP, a SQLite
file or PostgreSQL, an ephemeral Dagster instance); each test breaks one invariant
through the repository, the settings or the fake servers, never by mocking our code,
except digest safety (see that test for why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from slack_events_dagster import steps
from slack_events_dagster.defs.automation import alert_sensor
from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.defs.resources import build_resources, message_source
from slack_events_dagster.domain.models import (
    Event,
    EventCategory,
    IngestionOutcome,
    IngestionState,
    SourceRef,
    datetime_to_ts,
)
from slack_events_dagster.settings import SAMPLE_WORKSPACE, load_settings
from slack_events_dagster.slack import blocks as blocks_module
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_openai import FakeOpenAIServer
from slack_events_dagster.testing.fake_slack import DEFAULT_TOKEN, FakeSlack
from slack_events_dagster_tests.helpers.oracles import next_day_oracle
from slack_events_dagster_tests.helpers.stores import advance_watermark, upsert_events

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
ENGINEERING, RELEASES = "C0VLNVAD8VE", "C0Q3BGHK7PB"
# #engineering on these days: 29 messages, 5 of them candidates.
FIRST, LAST = date(2026, 3, 9), date(2026, 3, 11)
TIMEZONE = "America/New_York"
ALERT_CHANNEL = "ops-alerts"
WARN, ERROR = dg.AssetCheckSeverity.WARN, dg.AssetCheckSeverity.ERROR


@dataclass
class World:
    """One Dagster instance and app database; resources are built per settings."""

    repository: SqlRepository
    slack: FakeSlack
    instance: dg.DagsterInstance
    output_dir: Path
    alert_cursor: str | None = None

    def resources(
        self, fake_llm: FakeOpenAIServer | None = None, **sections: Any
    ) -> dict[str, Any]:
        """Resources for these settings: ``sections`` are merged over the test defaults."""
        overrides: dict[str, Any] = {
            "slack": {"source": "api", "base_url": self.slack.base_url, "max_retries": 2},
            "pipeline": {"timezone": TIMEZONE, "candidate_threshold": 0.5},
            "digest": {
                "output_dir": str(self.output_dir),
                "calendar_path": str(self.output_dir / "events.ics"),
                "timezone": TIMEZONE,
                "alert_channel": f"#{ALERT_CHANNEL}",
            },
        }
        if fake_llm is not None:
            overrides["llm"] = {
                "provider": "openai",
                "base_url": fake_llm.base_url,
                "batch_size": 8,
            }
        for section, values in sections.items():
            overrides[section] = {**overrides.get(section, {}), **values}
        overrides["slack"]["token"] = DEFAULT_TOKEN
        overrides["llm"] = {**overrides.get("llm", {}), "api_key": "sk-test-key"}
        url = self.repository.engine.url.render_as_string(hide_password=False)
        overrides["database"] = {"url": url}
        return build_resources(load_settings(**overrides))

    def run(
        self, job_name: str, resources: dict[str, Any], start: str, end: str
    ) -> dg.ExecuteInProcessResult:
        # The jobs only; the resources given replace the definitions' own.
        job = build_definitions(load_settings()).resolve_job_def(job_name)
        return job.execute_in_process(
            instance=self.instance,
            resources=resources,
            tags={RANGE_START: start, RANGE_END: end},
            raise_on_error=False,
        )

    def ingest(
        self,
        resources: dict[str, Any],
        channel: str = ENGINEERING,
        first: date = FIRST,
        last: date = LAST,
    ) -> dict[str, dg.AssetCheckEvaluation]:
        result = self.run("ingest_job", resources, f"{channel}|{first}", f"{channel}|{last}")
        return evaluations(result)

    def digest(self, resources: dict[str, Any], day: date) -> dict[str, dg.AssetCheckEvaluation]:
        return evaluations(self.run("digest_job", resources, day.isoformat(), day.isoformat()))

    def tick_alerts(self) -> list[str]:
        """One alert sensor tick; returns the alerts it posted."""
        before = len(self.slack.posted)
        with dg.build_sensor_context(
            instance=self.instance, resources=self.resources(), cursor=self.alert_cursor
        ) as context:
            result = alert_sensor(context)
        if isinstance(result, dg.SensorResult) and result.cursor is not None:
            self.alert_cursor = result.cursor
        return [str(post["text"]) for post in self.slack.posted[before:]]


def evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    found: dict[str, dg.AssetCheckEvaluation] = {}
    for event in result.all_events:
        data = event.event_specific_data
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            assert isinstance(data, dg.AssetCheckEvaluation)
            found[data.check_name] = data
    return found


def assert_passes(world: World, evaluation: dg.AssetCheckEvaluation) -> None:
    assert evaluation.passed, evaluation.description
    alerts = world.tick_alerts()
    assert not [a for a in alerts if f"`{evaluation.check_name}`" in a], alerts


def assert_fails_and_alerts_once(
    world: World, evaluation: dg.AssetCheckEvaluation, severity: dg.AssetCheckSeverity
) -> None:
    """Failed at ``severity``, posted once by the next tick and never again."""
    assert evaluation.passed is False, evaluation.description
    assert evaluation.severity is severity
    alerts = [a for a in world.tick_alerts() if f"`{evaluation.check_name}`" in a]
    assert len(alerts) == 1, alerts
    assert f"*{severity.value}*" in alerts[0]
    assert world.tick_alerts() == []
    assert world.tick_alerts() == [], "a later tick posts nothing twice"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack.from_export(SAMPLE_WORKSPACE, team_domain="lumenlabs")
    fake.add_channel({"id": "C0ALERTS01", "name": ALERT_CHANNEL})
    with fake.serve():
        yield fake


@pytest.fixture
def make_world(fake_slack: FakeSlack, tmp_path: Path) -> Callable[[SqlRepository], World]:
    def make(repository: SqlRepository) -> World:
        instance = dg.DagsterInstance.ephemeral()
        world = World(repository, fake_slack, instance, tmp_path / "out")
        source = message_source(
            load_settings(
                slack={"source": "api", "base_url": fake_slack.base_url, "token": DEFAULT_TOKEN}
            ).slack
        )
        channels = steps.register_channels(source, repository)
        instance.add_dynamic_partitions("channels", [c.id for c in channels])
        # The first tick only sets the cursor (alerting starts from now).
        assert world.tick_alerts() == []
        return world

    return make


@pytest.fixture
def world(make_world: Callable[[SqlRepository], World], sqlite_repository: SqlRepository) -> World:
    return make_world(sqlite_repository)


def test_watermark_sanity(world: World) -> None:
    resources = world.resources()
    assert_passes(world, world.ingest(resources)["watermark_sanity"])
    # A watermark ahead of every stored message (here: tomorrow) would make the
    # next incremental run skip whatever was posted in between.
    tomorrow = datetime_to_ts(datetime.now(UTC) + timedelta(days=1))
    assert advance_watermark(world.repository, ENGINEERING, tomorrow)
    broken = world.ingest(resources)["watermark_sanity"]
    assert "in the future" in (broken.description or "")
    assert "ahead of the newest message" in (broken.description or "")
    assert_fails_and_alerts_once(world, broken, ERROR)


def test_channel_freshness(world: World) -> None:
    resources = world.resources()
    assert_passes(world, world.ingest(resources)["channel_freshness"])
    # #releases was last read five days ago: its sensor or token stopped working.
    world.repository.record_ingestion(
        IngestionState(
            channel_id=RELEASES,
            source="api",
            last_run_at=datetime.now(UTC) - timedelta(days=5),
            outcome=IngestionOutcome.OK,
        )
    )
    broken = world.ingest(resources)["channel_freshness"]
    assert RELEASES in (broken.description or "")
    assert_fails_and_alerts_once(world, broken, WARN)


def test_candidate_rate(world: World) -> None:
    assert_passes(world, world.ingest(world.resources())["candidate_rate"])
    # A limit of 0 %: the four candidates among 29 messages are too many (the scorer
    # passes "4.13 is slipping", the L&L plug, "moving this to Wednesday" and the Q2
    # planning kickoff; "the release last Tuesday was rough" is about the past).
    strict = world.resources(pipeline={"max_candidate_rate": 0.0})
    broken = world.ingest(strict)["candidate_rate"]
    assert broken.metadata["candidate_rate"].value == pytest.approx(4 / 29)
    assert_fails_and_alerts_once(world, broken, WARN)


def test_events_are_unique_and_sourced(
    make_world: Callable[[SqlRepository], World], repository: SqlRepository
) -> None:
    world = make_world(repository)
    resources = world.resources()
    assert_passes(world, world.ingest(resources)["events_are_unique_and_sourced"])
    # An event whose only source message was never stored.
    upsert_events(
        repository,
        [
            Event(
                event_id="orphan",
                dedup_key="orphan-key",
                title="Ghost launch",
                category=EventCategory.LAUNCH,
                start=date(2026, 3, 10),
                sources=[SourceRef(channel_id=ENGINEERING, ts="1.000001")],
            )
        ],
    )
    broken = world.ingest(resources)["events_are_unique_and_sourced"]
    assert "orphan" in (broken.description or "")
    assert_fails_and_alerts_once(world, broken, ERROR)


def test_llm_failure_rate(world: World) -> None:
    # Every answer is cut in half: not JSON, so every candidate fails extraction.
    with FakeOpenAIServer(oracle=next_day_oracle, fault_rate=1.0, faults=("invalid_json",)) as bad:
        broken = world.ingest(world.resources(fake_llm=bad))["llm_failure_rate"]
        assert bad.completion_requests >= 1
    assert broken.metadata["failure_rate"].value == 1.0
    assert_fails_and_alerts_once(world, broken, ERROR)
    # Once the model answers properly the failed candidates are retried and pass.
    with FakeOpenAIServer(oracle=next_day_oracle) as good:
        healed = world.ingest(world.resources(fake_llm=good))["llm_failure_rate"]
        assert good.completion_requests >= 1
    assert healed.metadata["failure_rate"].value == 0.0
    assert_passes(world, healed)


def test_llm_daily_spend(world: World) -> None:
    today = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
    # Fixed usage per call makes the spend exact: 10,000 prompt + 1,000 completion
    # tokens of gpt-4o-mini cost $0.0021 a call.
    with FakeOpenAIServer(oracle=next_day_oracle, fixed_usage=(10_000, 1_000)) as llm:
        within = world.ingest(world.resources(fake_llm=llm))["llm_daily_spend"]
        calls = llm.completion_requests
        spent = world.repository.llm_spend_usd(today, today + timedelta(days=1))
        assert calls >= 1 and spent == pytest.approx(calls * 0.0021)
        assert_passes(world, within)
        # Re-runs are served by the cache, so the spend stays put while the budget
        # shrinks: at 90 % of it the check warns, at the budget it is an error.
        near = world.ingest(world.resources(fake_llm=llm, llm={"daily_budget_usd": spent / 0.9}))
        assert_fails_and_alerts_once(world, near["llm_daily_spend"], WARN)
        over = world.ingest(world.resources(fake_llm=llm, llm={"daily_budget_usd": spent / 2}))
        assert "reached" in (over["llm_daily_spend"].description or "")
        assert_fails_and_alerts_once(world, over["llm_daily_spend"], ERROR)
        assert llm.completion_requests == calls, "no further calls were needed"


def test_digest_safety(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    resources = world.resources()
    assert all(check.passed for check in world.ingest(resources).values())
    # A title that pings everyone and a user when posted unescaped.
    source = world.repository.get_messages(ENGINEERING, *steps.day_bounds(FIRST, LAST, TIMEZONE))[0]
    upsert_events(
        world.repository,
        [
            Event(
                event_id="loud",
                dedup_key="loud-key",
                title="<!channel> deploy freeze, ask <@U0LENA0001>",
                category=EventCategory.MAINTENANCE,
                start=date(2026, 3, 12),
                sources=[SourceRef(channel_id=ENGINEERING, ts=source.ts)],
            )
        ],
    )
    assert_passes(world, world.digest(resources, date(2026, 3, 10))["digest_safety"])
    # Rendering escapes every message-derived string, so no data can break this
    # invariant; the check guards against a renderer regression. Simulate one: the
    # Slack escaper becomes a passthrough. (A fresh day, because a stored digest
    # whose content is unchanged is kept as it was rendered.)
    monkeypatch.setattr(blocks_module, "escape_slack", lambda text: text)
    broken = world.digest(resources, date(2026, 3, 11))["digest_safety"]
    assert "<!channel>" in (broken.description or "")
    assert_fails_and_alerts_once(world, broken, ERROR)
