"""The deployment as real processes: the gRPC code server, dagster-webserver and
dagster-daemon, each started through ``docker/entrypoint.sh`` as in the containers,
with the deployment's ``deploy/dagster.yaml`` (only the run launcher swapped for the
default one, so runs are subprocesses of the code server) on a fresh PostgreSQL
database for Dagster and another for the application.

The process tests and the browser test share the deployment of their pytest session
(one per xdist worker: ``xdist_group("deployment")`` with ``--dist loadgroup`` would keep
them on one worker, but pytest-xdist 3.8 does not group under pytest 9.2). Every
fixture here is self-contained, so any split of the tests across workers is correct.
"""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from slack_events_dagster_tests.helpers.deployment import (
    DIGEST_DAY,
    ENGINEERING,
    INGEST_FIRST,
    INGEST_LAST,
    RANGE_END,
    RANGE_START,
    Channels,
    Deployment,
    SubmittedRun,
    base_env,
    compose_command,
    free_port,
    location_loaded,
    replace_option,
    run_entrypoint,
    run_tags,
    start_process,
    stop_processes,
    wait_for_run,
    write_instance,
    write_workspace,
)


@pytest.fixture(scope="session")
def deployment(
    make_postgres_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("deployment")
    app_db_url, dagster_db_url = make_postgres_database(), make_postgres_database()
    env = base_env(root, app_db_url, dagster_db_url)
    dagster_home = root / "dagster_home"
    write_instance(dagster_home)
    workspace = root / "workspace.yaml"
    grpc_port, webserver_port = free_port(), free_port()
    write_workspace(workspace, grpc_port)

    # What every container does first: wait for PostgreSQL, migrate, run the command.
    first = run_entrypoint(env, "true")
    assert first.returncode == 0, f"entrypoint failed:\n{first.stdout}\n{first.stderr}"

    deployment = Deployment(
        root=root,
        dagster_home=dagster_home,
        workspace=workspace,
        env=env,
        grpc_port=grpc_port,
        webserver_port=webserver_port,
        app_db_url=app_db_url,
        dagster_db_url=dagster_db_url,
        first_migration_output=first.stdout + first.stderr,
    )
    code_server = replace_option(
        replace_option(compose_command("code-server"), "-h", "127.0.0.1"), "-p", str(grpc_port)
    )
    webserver = replace_option(
        replace_option(
            replace_option(compose_command("webserver"), "-h", "127.0.0.1"),
            "-p",
            str(webserver_port),
        ),
        "-w",
        str(workspace),
    )
    daemon = replace_option(compose_command("daemon"), "-w", str(workspace))
    try:
        start_process(deployment, "code-server", code_server, SLACK_EVENTS_MIGRATE="1")
        deployment.wait_for(
            "the code server's health check",
            lambda: (
                subprocess.run(
                    [
                        "dagster",
                        "api",
                        "grpc-health-check",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        str(grpc_port),
                    ],
                    env=env,
                    capture_output=True,
                    check=False,
                ).returncode
                == 0
            ),
        )
        start_process(deployment, "webserver", webserver, SLACK_EVENTS_MIGRATE="0")
        start_process(deployment, "daemon", daemon, SLACK_EVENTS_MIGRATE="0")
        deployment.wait_for(
            "GET /server_info",
            lambda: (
                urllib.request.urlopen(f"{deployment.url}/server_info", timeout=10).status == 200
            ),
        )
        deployment.wait_for("the code location to load", lambda: location_loaded(deployment))
        yield deployment
    finally:
        stop_processes(deployment.processes)


@pytest.fixture(autouse=True)
def _print_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and "deployment" in request.fixturenames:
        deployment: Deployment = request.getfixturevalue("deployment")
        print(deployment.logs(200))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]


# -- what the deployment does, shared by the process and browser tests ---------------------


@pytest.fixture(scope="session")
def registered_channels(deployment: Deployment) -> Channels:
    """The daemon's first tick of the channel discovery sensor registers the channels."""

    def partitions() -> list[str]:
        instance = deployment.instance()
        try:
            return list(instance.get_dynamic_partitions("channels"))
        finally:
            instance.dispose()

    ids: list[str] = deployment.wait_for(
        "the channel discovery sensor to add the channel partitions", partitions
    )
    return Channels(sorted(ids))


@pytest.fixture(scope="session")
def ingest_run(deployment: Deployment, registered_channels: Channels) -> SubmittedRun:
    """One ranged run of ingest_job: #engineering, three days, through the run queue."""
    from dagster_graphql import DagsterGraphQLClient

    assert ENGINEERING in registered_channels.ids
    client = DagsterGraphQLClient("127.0.0.1", port_number=deployment.webserver_port)
    run_id = client.submit_job_execution(
        "ingest_job",
        tags={
            RANGE_START: f"{ENGINEERING}|{INGEST_FIRST}",
            RANGE_END: f"{ENGINEERING}|{INGEST_LAST}",
        },
    )
    status = wait_for_run(deployment, run_id)
    return SubmittedRun(run_id, status, run_tags(deployment, run_id))


@pytest.fixture(scope="session")
def digest_run(deployment: Deployment, ingest_run: SubmittedRun) -> SubmittedRun:
    """daily_digest (and the calendar) for one day, after that day's events exist."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=deployment.webserver_port)
    run_id = client.submit_job_execution("digest_job", tags={"dagster/partition": DIGEST_DAY})
    status = wait_for_run(deployment, run_id)
    return SubmittedRun(run_id, status, run_tags(deployment, run_id))
