"""The deployment as real processes (see conftest.py): the entrypoint, the code server,
the webserver and the daemon on PostgreSQL; a run, a backfill and the digest submitted
through the GraphQL API and finished by the daemon; the rows they leave in the
application database; and `slack-events copy-db` from SQLite into the same server."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from slack_events_dagster import steps
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import TABLES_IN_DEPENDENCY_ORDER
from slack_events_dagster_tests.helpers.deployment import (
    DIGEST_DAY,
    ENGINEERING,
    HEALTHCHECK,
    INGEST_FIRST,
    INGEST_LAST,
    LLM_TAG,
    OPS,
    RELEASES,
    SAMPLE_START,
    SAMPLE_TIMEZONE,
    Channels,
    Deployment,
    SubmittedRun,
    free_port,
    run_entrypoint,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("deployment")]


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The SQLite application database that `slack-events demo` produces (whole sample)."""
    root = tmp_path_factory.mktemp("demo")
    result = subprocess.run(
        ["slack-events", "demo", "--output-dir", str(root / "out")],
        cwd=root,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return f"sqlite:///{root / 'out' / 'slack_events.db'}"


def _clean_env() -> dict[str, str]:
    import os
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_EVENTS_", "DAGSTER_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def cli_reference(root: Path, name: str, channels: list[str], first: str, last: str) -> str:
    """The same channels and days through `slack-events run` into SQLite: what the
    deployment must have stored."""
    env = {
        **_clean_env(),
        "SLACK_EVENTS_DATABASE__TYPE": "sqlite",
        "SLACK_EVENTS_DATABASE__PATH": str(root / f"{name}.db"),
        "SLACK_EVENTS_PIPELINE__START_DATE": SAMPLE_START,
        "SLACK_EVENTS_PIPELINE__TIMEZONE": SAMPLE_TIMEZONE,
        "SLACK_EVENTS_DIGEST__TIMEZONE": SAMPLE_TIMEZONE,
        "SLACK_EVENTS_DIGEST__OUTPUT_DIR": str(root / name),
        "SLACK_EVENTS_DIGEST__CALENDAR_PATH": str(root / name / "events.ics"),
    }
    command = ["slack-events", "run", "--from", first, "--to", last]
    for channel in channels:
        command += ["--channel", channel]
    result = subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return f"sqlite:///{root / f'{name}.db'}"


def _message_keys(url: str, channel_id: str, first: str, last: str) -> set[str]:
    start, end = steps.day_bounds(
        date.fromisoformat(first), date.fromisoformat(last), SAMPLE_TIMEZONE
    )
    with SqlRepository.from_url(url) as repository:
        return {m.ts for m in repository.get_messages(channel_id, start, end)}


def _rows(url: str, sql: str) -> set[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {tuple(row) for row in conn.execute(text(sql))}
    finally:
        engine.dispose()


def _candidates(url: str, channels: list[str]) -> set[tuple[object, ...]]:
    wanted = ", ".join(f"'{c}'" for c in channels)
    return _rows(
        url, f"SELECT channel_id, ts, status FROM event_candidates WHERE channel_id IN ({wanted})"
    )


def _count(url: str, table: str, where: str = "") -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar_one())
    finally:
        engine.dispose()


# -- entrypoint ----------------------------------------------------------------------------


def test_entrypoint_migrated_the_app_database_on_first_start(deployment: Deployment) -> None:
    assert "Running upgrade  -> 0001" in deployment.first_migration_output
    assert "is at the newest schema" in deployment.first_migration_output
    engine = create_engine(deployment.app_db_url)
    try:
        with engine.connect() as conn:
            head = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    finally:
        engine.dispose()
    assert len(head) == 1


def test_entrypoint_is_idempotent_on_a_second_start(deployment: Deployment) -> None:
    engine = create_engine(deployment.app_db_url)
    try:
        with engine.connect() as conn:
            before = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        result = run_entrypoint(deployment.env, "echo", "command ran")
        with engine.connect() as conn:
            after = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    finally:
        engine.dispose()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Running upgrade" not in output
    assert "is at the newest schema" in output
    assert result.stdout.strip().endswith("command ran")
    assert after == [before]


@pytest.mark.parametrize(
    ("host_var", "port_var"),
    [
        ("DAGSTER_POSTGRES_HOST", "DAGSTER_POSTGRES_PORT"),
        ("SLACK_EVENTS_DATABASE__POSTGRES__HOST", "SLACK_EVENTS_DATABASE__POSTGRES__PORT"),
    ],
)
def test_entrypoint_names_the_unreachable_server_and_the_variable(
    deployment: Deployment, host_var: str, port_var: str
) -> None:
    port = str(free_port())  # nothing listens there
    env = {**deployment.env, host_var: "127.0.0.1", port_var: port, "SLACK_EVENTS_DB_WAIT_S": "2"}
    result = run_entrypoint(env, "echo", "must not run", timeout=60)
    assert result.returncode != 0
    assert "must not run" not in result.stdout
    assert f"PostgreSQL at 127.0.0.1:{port} did not accept connections within 2s" in result.stderr
    assert host_var in result.stderr and port_var in result.stderr


@pytest.mark.parametrize("role", ["code-server", "webserver", "daemon"])
def test_healthcheck_of_each_role(deployment: Deployment, role: str) -> None:
    env = {
        **deployment.env,
        "SLACK_EVENTS_ROLE": role,
        "DAGSTER_GRPC_PORT": str(deployment.grpc_port),
        "DAGSTER_WEBSERVER_PORT": str(deployment.webserver_port),
    }
    deployment.wait_for(
        f"the {role} health check",
        lambda: (
            subprocess.run(
                ["bash", str(HEALTHCHECK)], env=env, capture_output=True, check=False, timeout=60
            ).returncode
            == 0
        ),
    )
    broken = {**env, "DAGSTER_GRPC_PORT": str(free_port()), "DAGSTER_WEBSERVER_PORT": "1"}
    if role != "daemon":
        result = subprocess.run(
            ["bash", str(HEALTHCHECK)], env=broken, capture_output=True, check=False, timeout=60
        )
        assert result.returncode != 0


# -- runs through the GraphQL API, finished by the daemon -----------------------------------


def test_discovery_sensor_registered_every_channel(
    deployment: Deployment, registered_channels: Channels
) -> None:
    assert {ENGINEERING, RELEASES, OPS} <= set(registered_channels.ids)
    with SqlRepository.from_url(deployment.app_db_url) as repository:
        stored = {c.id for c in repository.get_channels()}
    assert set(registered_channels.ids) <= stored


def test_ingest_run_through_the_queue_stores_the_channel_days(
    deployment: Deployment, ingest_run: SubmittedRun, tmp_path: Path
) -> None:
    assert ingest_run.status == "SUCCESS", deployment.logs()
    # Queued (QueuedRunCoordinator); the deployment runs the rule extractor, which calls
    # no model, so the run is not held to the LLM runs' limit (with llm.provider: openai
    # the job carries the tag: test_config_agreement).
    assert LLM_TAG not in ingest_run.tags
    reference = cli_reference(tmp_path, "ingest", [ENGINEERING], INGEST_FIRST, INGEST_LAST)
    stored = _message_keys(deployment.app_db_url, ENGINEERING, INGEST_FIRST, INGEST_LAST)
    assert stored and stored == _message_keys(reference, ENGINEERING, INGEST_FIRST, INGEST_LAST)
    assert _candidates(deployment.app_db_url, [ENGINEERING]) == _candidates(
        reference, [ENGINEERING]
    )
    # The first run on this database: the events are exactly the CLI's.
    events = _rows(deployment.app_db_url, "SELECT dedup_key, title, status FROM events")
    assert events and events == _rows(reference, "SELECT dedup_key, title, status FROM events")


BACKFILL_DAYS = ["2026-03-12", "2026-03-13"]
BACKFILL_CHANNELS = [RELEASES, OPS]


def test_backfill_of_two_days_and_two_channels(
    deployment: Deployment, registered_channels: Channels, tmp_path: Path
) -> None:
    partition_names = [f"{c}|{d}" for c in BACKFILL_CHANNELS for d in BACKFILL_DAYS]
    launched = deployment.graphql(
        """mutation($params: LaunchBackfillParams!) {
             launchPartitionBackfill(backfillParams: $params) {
               __typename
               ... on LaunchBackfillSuccess { backfillId }
               ... on PythonError { message stack }
               ... on UnauthorizedError { message }
             } }""",
        {
            "params": {
                "assetSelection": [
                    {"path": ["raw_slack_messages"]},
                    {"path": ["event_candidates"]},
                    {"path": ["events"]},
                ],
                "partitionNames": partition_names,
                "fromFailure": False,
                "tags": [{"key": LLM_TAG, "value": "true"}],
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]
    query = """query($id: String!) { partitionBackfillOrError(backfillId: $id) {
                 __typename
                 ... on PartitionBackfill {
                   status runs(limit: 50) { id status tags { key value } } }
                 ... on PythonError { message } } }"""

    def finished() -> dict[str, object] | None:
        backfill = deployment.graphql(query, {"id": backfill_id})["partitionBackfillOrError"]
        assert backfill["__typename"] == "PartitionBackfill", backfill
        runs = backfill["runs"]
        done = backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING")
        runs_done = all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs)
        return backfill if done and runs and runs_done else None

    from slack_events_dagster_tests.helpers.deployment import RUN_TIMEOUT_S

    backfill = deployment.wait_for(f"backfill {backfill_id}", finished, RUN_TIMEOUT_S)
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    runs = backfill["runs"]
    assert runs and all(r["status"] == "SUCCESS" for r in runs), runs
    # At most one run per partition (the daemon may range them), each with the LLM tag.
    assert len(runs) <= len(partition_names)
    for run in runs:
        assert {"key": LLM_TAG, "value": "true"} in run["tags"]
    first, last = BACKFILL_DAYS[0], BACKFILL_DAYS[-1]
    reference = cli_reference(tmp_path, "backfill", BACKFILL_CHANNELS, first, last)
    for channel in BACKFILL_CHANNELS:
        stored = _message_keys(deployment.app_db_url, channel, first, last)
        assert stored == _message_keys(reference, channel, first, last), channel
    assert any(_message_keys(deployment.app_db_url, c, first, last) for c in BACKFILL_CHANNELS)
    assert _candidates(deployment.app_db_url, BACKFILL_CHANNELS) == _candidates(
        reference, BACKFILL_CHANNELS
    )
    sourced = _rows(
        deployment.app_db_url,
        "SELECT DISTINCT channel_id FROM event_sources",
    )
    assert {(c,) for c in BACKFILL_CHANNELS} & sourced


def test_digest_run_writes_the_days_digest(
    deployment: Deployment, digest_run: SubmittedRun
) -> None:
    assert digest_run.status == "SUCCESS", deployment.logs()
    assert _count(deployment.app_db_url, "digests", f"WHERE day = '{DIGEST_DAY}'") == 1
    assert (deployment.root / "output" / f"digest-{DIGEST_DAY}.md").is_file()
    assert (deployment.root / "output" / "events.ics").is_file()


# -- SQLite -> PostgreSQL --------------------------------------------------------------------


def test_copy_db_from_the_demo_sqlite_into_postgres(
    deployment: Deployment,
    demo_database: str,
    make_postgres_database: Callable[[], str],
) -> None:
    # A fresh application database on the deployment's server, as when moving an
    # existing SQLite installation onto the deployment before its first start.
    target = make_postgres_database()
    result = subprocess.run(
        ["slack-events", "copy-db", "--source", demo_database, "--target", target],
        cwd=deployment.root,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "row counts match" in result.stdout
    source, copied = create_engine(demo_database), create_engine(target)
    try:
        for table in TABLES_IN_DEPENDENCY_ORDER:
            with source.connect() as a, copied.connect() as b:
                count = select(func.count()).select_from(table)
                assert a.execute(count).scalar_one() == b.execute(count).scalar_one(), table.name
        messages = next(t for t in TABLES_IN_DEPENDENCY_ORDER if t.name == "raw_slack_messages")
        with source.connect() as a:
            assert a.execute(select(func.count()).select_from(messages)).scalar_one() > 0
    finally:
        source.dispose()
        copied.dispose()
    # The deployment's entrypoint then finds the copied database at head.
    database = str(make_url(target).database)
    env = {**deployment.env, "SLACK_EVENTS_DATABASE__POSTGRES__DATABASE": database}
    again = run_entrypoint(env, "true")
    assert again.returncode == 0 and "Running upgrade" not in again.stdout + again.stderr
