"""Secrets never leave the clients: the whole pipeline runs in Dagster with canary
credentials, then every log line, event record, run config and tag, materialization
metadata, database row and written file is searched for them.

Credentials come in the way deployments pass them (environment variables read through
``dg.EnvVar``); the fake OpenAI server echoes the presented key in its error messages,
as some servers do, so redaction on the client side is exercised.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from slack_events_dagster import steps
from slack_events_dagster.defs.definitions import build_definitions
from slack_events_dagster.settings import SAMPLE_WORKSPACE, load_settings
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import TABLES_IN_DEPENDENCY_ORDER
from slack_events_dagster.testing.fake_openai import FakeOpenAIServer
from slack_events_dagster.testing.fake_slack import ALL_SCOPES, FakeSlack, FaultPlan

pytestmark = pytest.mark.reliability

SLACK_SECRET = "xoxb-SECRET-CANARY-123"
LLM_SECRET = "sk-SECRET-CANARY-456"
CANARIES = (SLACK_SECRET, LLM_SECRET, "SECRET-CANARY")
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
# As deployments pass the credentials: environment variables the settings read.
SLACK_TOKEN, LLM_KEY = "SLACK_EVENTS_SLACK__TOKEN", "SLACK_EVENTS_LLM__API_KEY"
CHANNELS = ("C0Q3BGHK7PB", "C0HKM3VJAU8")
FIRST, LAST = date(2026, 3, 9), date(2026, 3, 11)


def _leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary in text]


def _table_dump(repository: SqlRepository) -> str:
    parts: list[str] = []
    with repository.engine.connect() as conn:
        for table in TABLES_IN_DEPENDENCY_ORDER:
            parts.extend(f"{table.name}: {tuple(row)}" for row in conn.execute(select(table)))
    return "\n".join(parts)


def _files_text(*roots: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                found[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return found


def test_canary_secrets_appear_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    output = tmp_path / "out"
    monkeypatch.setenv(SLACK_TOKEN, SLACK_SECRET)
    monkeypatch.setenv(LLM_KEY, LLM_SECRET)
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    database = tmp_path / "events.db"
    repository = SqlRepository.from_url(f"sqlite:///{database}")
    repository.create_schema()

    fake_slack = FakeSlack.from_export(
        SAMPLE_WORKSPACE,
        team_domain="lumenlabs",
        tokens={SLACK_SECRET: ALL_SCOPES},
        # Some Slack calls fail and are retried or reported: their errors are logged too.
        faults=FaultPlan(rate=0.1, seed=3, kinds=("500", "429"), retry_after_s=0),
    )
    llm = FakeOpenAIServer(
        require_api_key=LLM_SECRET,
        echo_api_key_in_errors=True,
        # Errors carrying the key, past the client's retries (max_retries 0 below).
        fault_schedule={1: "server_error", 2: "rate_limit"},
        retry_after_s=0,
    )
    with fake_slack.serve(), llm:
        defs = build_definitions(
            load_settings(
                database={"url": f"sqlite:///{database}"},
                slack={
                    "source": "api",
                    "base_url": fake_slack.base_url,
                    "max_retries": 2,
                    "retry_backoff_s": 0.01,
                },
                llm={
                    "provider": "openai",
                    "base_url": llm.base_url,
                    "max_retries": 0,
                    "batch_size": 4,
                },
                pipeline={"timezone": "America/New_York"},
                digest={
                    "post": True,
                    "channel": "#general",
                    "output_dir": str(output),
                    "calendar_path": str(output / "events.ics"),
                    "timezone": "America/New_York",
                },
            )
        )
        resources = dict(defs.resources or {})
        with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
            # Registration outside a run: the settings read the same variable.
            source = WebApiSource(
                load_settings(slack={"source": "api", "base_url": fake_slack.base_url}).slack
            )
            channels = steps.register_channels(source, repository)
            instance.add_dynamic_partitions("channels", [c.id for c in channels])
            results = []
            for channel in CHANNELS:
                job = defs.resolve_job_def("ingest_job")
                results.append(
                    job.execute_in_process(
                        instance=instance,
                        resources=resources,
                        tags={RANGE_START: f"{channel}|{FIRST}", RANGE_END: f"{channel}|{LAST}"},
                        raise_on_error=False,
                    )
                )
            digest_job = defs.resolve_job_def("digest_job")
            results.append(
                digest_job.execute_in_process(
                    instance=instance,
                    resources=resources,
                    tags={RANGE_START: LAST.isoformat(), RANGE_END: LAST.isoformat()},
                    raise_on_error=False,
                )
            )
            assert all(r.success for r in results)
            # The canaries did their job: the fakes accepted them and the LLM failed some.
            assert llm.completions_served > 0 and sum(llm.faults_injected.values()) > 0
            assert fake_slack.posted, "the digest was posted with the canary token"
            assert fake_slack.calls["conversations.history"] > 0

            places: dict[str, str] = {}
            for run in instance.get_runs():
                places[f"run {run.run_id} config"] = repr(run.run_config)
                places[f"run {run.run_id} tags"] = repr(run.tags)
                records = instance.all_logs(run.run_id)
                places[f"run {run.run_id} event log"] = "\n".join(repr(r) for r in records)
            materializations = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey("events")), limit=100
            ).records
            assert materializations
            places["materialization metadata"] = "\n".join(
                repr(r.asset_materialization.metadata if r.asset_materialization else None)
                for r in materializations
            )
    places["captured logs"] = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    places["database rows"] = _table_dump(repository)
    repository.close()
    places.update(_files_text(output, dagster_home, tmp_path))
    leaked = {where: _leaks(text) for where, text in places.items() if _leaks(text)}
    assert leaked == {}
    # The search did look at something: failed LLM calls are recorded and logged.
    assert "llm_calls" in places["database rows"]
    assert any("LLM call" in record.getMessage() for record in caplog.records)
