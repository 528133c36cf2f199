"""The deployment as real processes: its configuration (deploy/dagster.yaml and
workspace.yaml, the environment the image sets), its processes started through
docker/entrypoint.sh, and what the tests ask of it over GraphQL. The fixtures that start
it are in deploy/conftest.py."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from slack_events_dagster.dagster_storage import EVENT_BATCH_SIZE
from slack_events_dagster_tests.helpers.paths import REPO_ROOT

ENTRYPOINT = REPO_ROOT / "docker" / "entrypoint.sh"
HEALTHCHECK = REPO_ROOT / "docker" / "healthcheck.sh"
VENV_BIN = Path(sys.executable).parent
# Bounded waits: long enough for a loaded two-core CI machine, never asserted as timings.
START_TIMEOUT_S = 240.0
RUN_TIMEOUT_S = 420.0

# The bundled sample workspace: March 2026 in New York.
SAMPLE_START, SAMPLE_TIMEZONE = "2026-03-02", "America/New_York"
ENGINEERING, RELEASES, OPS = "C0VLNVAD8VE", "C0Q3BGHK7PB", "C0HKM3VJAU8"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
LLM_TAG = "slack_events/llm"


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """One query to the Dagster webserver at ``url``; its errors fail the test."""
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        payload: dict[str, Any] = json.loads(response.read())
    if payload.get("errors"):
        raise AssertionError(f"GraphQL errors: {payload['errors']}")
    data: dict[str, Any] = payload["data"]
    return data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def compose_command(service: str) -> list[str]:
    """The command docker-compose.yml gives ``service``."""
    compose = load_yaml(REPO_ROOT / "docker-compose.yml")
    return [str(part) for part in compose["services"][service]["command"]]


def replace_option(command: list[str], option: str, value: str) -> list[str]:
    """``command`` with the value after ``option`` (e.g. ``-p``) replaced."""
    index = command.index(option)
    return [*command[: index + 1], value, *command[index + 2 :]]


def run_entrypoint(
    env: dict[str, str], *command: str, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ENTRYPOINT), *command],
        env=env,
        cwd=env["SLACK_EVENTS_TEST_CWD"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 80) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Deployment:
    root: Path
    dagster_home: Path
    workspace: Path
    env: dict[str, str]
    grpc_port: int
    webserver_port: int
    app_db_url: str
    dagster_db_url: str
    first_migration_output: str
    processes: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    def logs(self, lines: int = 80) -> str:
        return "\n".join(
            f"----- {p.name} (exit {p.popen.poll()}) {p.log} -----\n{p.tail(lines)}"
            for p in self.processes
        )

    def check_alive(self) -> None:
        dead = [p for p in self.processes if p.popen.poll() is not None]
        if dead:
            names = ", ".join(f"{p.name} (exit {p.popen.returncode})" for p in dead)
            raise AssertionError(f"deployment process died: {names}\n{self.logs()}")

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return graphql(self.url, query, variables)

    def wait_for(
        self, what: str, probe: Callable[[], Any], timeout: float = START_TIMEOUT_S
    ) -> Any:
        """Polls ``probe`` until it returns something truthy; fails with the logs."""
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                result = probe()
            except (OSError, urllib.error.URLError, AssertionError) as exc:
                last_error, result = exc, None
            if result:
                return result
            time.sleep(1.0)
        raise AssertionError(
            f"timed out after {timeout:.0f} s waiting for {what} (last error: {last_error!r})\n"
            + self.logs()
        )

    @contextlib.contextmanager
    def environ(self) -> Iterator[None]:
        """This process's environment as the deployment's (for DagsterInstance)."""
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("DAGSTER_")})
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)

    def instance(self) -> Any:
        import dagster as dg

        with self.environ():
            return dg.DagsterInstance.from_config(str(self.dagster_home))


def base_env(root: Path, app_db_url: str, dagster_db_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_EVENTS_", "DAGSTER_", "PG", "PYTEST_"))
    }
    app, dagster = make_url(app_db_url), make_url(dagster_db_url)
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            "SLACK_EVENTS_TEST_CWD": str(root),
            "DAGSTER_HOME": str(root / "dagster_home"),
            # As the image sets it (Dockerfile ENV).
            "DAGSTER_EVENT_BATCH_SIZE": EVENT_BATCH_SIZE,
            "DAGSTER_POSTGRES_HOST": str(dagster.host or "127.0.0.1"),
            "DAGSTER_POSTGRES_PORT": str(dagster.port or 5432),
            "DAGSTER_POSTGRES_USER": str(dagster.username or "postgres"),
            "DAGSTER_POSTGRES_PASSWORD": str(dagster.password or ""),
            "DAGSTER_POSTGRES_DB": str(dagster.database),
            "SLACK_EVENTS_DB_WAIT_S": "30",
            "SLACK_EVENTS_DATABASE__TYPE": "postgres",
            "SLACK_EVENTS_DATABASE__POSTGRES__HOST": str(app.host or "127.0.0.1"),
            "SLACK_EVENTS_DATABASE__POSTGRES__PORT": str(app.port or 5432),
            "SLACK_EVENTS_DATABASE__POSTGRES__DATABASE": str(app.database),
            "SLACK_EVENTS_DATABASE__POSTGRES__USER": str(app.username or "postgres"),
            "SLACK_EVENTS_DATABASE__POSTGRES__PASSWORD": str(app.password or ""),
            "SLACK_EVENTS_SLACK__SOURCE": "export",
            "SLACK_EVENTS_SLACK__WORKSPACE_URL": "https://lumenlabs.slack.com/",
            "SLACK_EVENTS_LLM__PROVIDER": "rules",
            "SLACK_EVENTS_PIPELINE__START_DATE": SAMPLE_START,
            "SLACK_EVENTS_PIPELINE__TIMEZONE": SAMPLE_TIMEZONE,
            "SLACK_EVENTS_DIGEST__TIMEZONE": SAMPLE_TIMEZONE,
            "SLACK_EVENTS_DIGEST__OUTPUT_DIR": str(root / "output"),
            "SLACK_EVENTS_DIGEST__CALENDAR_PATH": str(root / "output" / "events.ics"),
        }
    )
    return env


def write_instance(dagster_home: Path) -> None:
    """deploy/dagster.yaml with the run launcher swapped for the default (subprocesses)."""
    config = load_yaml(REPO_ROOT / "deploy" / "dagster.yaml")
    del config["run_launcher"]
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def write_workspace(path: Path, port: int) -> None:
    """deploy/workspace.yaml pointing at the local code server."""
    workspace = load_yaml(REPO_ROOT / "deploy" / "workspace.yaml")
    server = workspace["load_from"][0]["grpc_server"]
    server.update({"host": "127.0.0.1", "port": port})
    path.write_text(yaml.safe_dump(workspace, sort_keys=False))


def start_process(deployment: Deployment, name: str, command: list[str], **extra_env: str) -> None:
    log = deployment.root / f"{name}.log"
    handle = log.open("wb")
    popen = subprocess.Popen(
        ["bash", str(ENTRYPOINT), *command],
        env={**deployment.env, **extra_env},
        cwd=deployment.root,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    deployment.processes.append(Process(name, popen, log))


def stop_processes(processes: list[Process]) -> None:
    """SIGTERM each process group (a run worker is a child of the code server), then KILL."""
    import signal

    for process in reversed(processes):
        if process.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGTERM)
    for process in reversed(processes):
        try:
            process.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGKILL)
            process.popen.wait(timeout=30)
        # Whatever the group left behind (run workers) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.popen.pid, signal.SIGKILL)


def location_loaded(deployment: Deployment) -> bool:
    data = deployment.graphql(
        """{ workspaceOrError { __typename ... on Workspace { locationEntries {
              name loadStatus
              locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
    )
    entries = data["workspaceOrError"].get("locationEntries") or []
    for entry in entries:
        error = entry["locationOrLoadError"]
        if error and error["__typename"] == "PythonError":
            raise AssertionError(f"code location failed to load: {error['message']}")
    return any(
        e["loadStatus"] == "LOADED"
        and (e["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation"
        for e in entries
    )


def wait_for_run(deployment: Deployment, run_id: str, timeout: float = RUN_TIMEOUT_S) -> str:
    query = """query($id: ID!) { runOrError(runId: $id) { __typename
                 ... on Run { status } ... on PythonError { message } } }"""

    def finished() -> str | None:
        run = deployment.graphql(query, {"id": run_id})["runOrError"]
        status = run.get("status")
        return status if status in ("SUCCESS", "FAILURE", "CANCELED") else None

    status: str = deployment.wait_for(f"run {run_id} to finish", finished, timeout)
    return status


@dataclass(frozen=True)
class Channels:
    ids: list[str]


@dataclass(frozen=True)
class SubmittedRun:
    run_id: str
    status: str
    tags: dict[str, str]


INGEST_FIRST, INGEST_LAST = "2026-03-09", "2026-03-11"
DIGEST_DAY = "2026-03-10"


def run_tags(deployment: Deployment, run_id: str) -> dict[str, str]:
    data = deployment.graphql(
        """query($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key value } } } }""",
        {"id": run_id},
    )
    return {t["key"]: t["value"] for t in data["runOrError"]["tags"]}
