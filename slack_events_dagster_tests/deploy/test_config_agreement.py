"""docker-compose.yml, deploy/dagster.yaml, deploy/workspace.yaml, .env.example, the
Dockerfile and the image's requirements agree with each other and with the product."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from slack_events_dagster.dagster_storage import EVENT_BATCH_SIZE
from slack_events_dagster_tests.helpers.paths import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
INSTANCE = REPO_ROOT / "deploy" / "dagster.yaml"
WORKSPACE = REPO_ROOT / "deploy" / "workspace.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DAGSTER_SERVICES = ("code-server", "webserver", "daemon")
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}; $$ is a literal $."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        current = env.get(name)
        if operator in (":-", "-"):
            unset = current is None or (operator == ":-" and current == "")
            return argument if unset else str(current)
        if operator in (":?", "?"):
            if current is None or (operator == ":?" and current == ""):
                raise ValueError(f"{name}: {argument}")
            return current
        return current or ""

    return _INTERPOLATION.sub(one, value.replace("$$", "\0")).replace("\0", "$")


def service_env(service: str, env: dict[str, str]) -> dict[str, str]:
    raw = _yaml(COMPOSE)["services"][service].get("environment", {})
    return {k: interpolate(str(v), env) for k, v in raw.items()}


def _variables_used(text: str) -> set[str]:
    return {m.group(1) for m in _INTERPOLATION.finditer(text.replace("$$", ""))}


def test_every_compose_variable_is_declared_in_env_example() -> None:
    used = _variables_used(COMPOSE.read_text())
    declared = set(env_example())
    assert used, "docker-compose.yml uses no variables?"
    assert used <= declared, f"not in .env.example: {sorted(used - declared)}"


def test_every_env_example_variable_has_a_comment_and_is_used() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    compose_text = COMPOSE.read_text()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            name = line.split("=", 1)[0]
            assert lines[index - 1].startswith("#") or lines[index - 2].startswith("#"), name
            assert name in compose_text, f"{name} is in .env.example but compose never reads it"


def test_the_webserver_is_published_on_loopback_only() -> None:
    webserver = _yaml(COMPOSE)["services"]["webserver"]
    for env in (env_example(), {}):  # with the example .env and with none at all
        for port in webserver["ports"]:
            published = interpolate(str(port), env)
            host = published.rsplit(":", 2)[0] if published.count(":") == 2 else ""
            assert host == "127.0.0.1", f"webserver published on {host or '0.0.0.0'}"
    for name, service in _yaml(COMPOSE)["services"].items():
        if name != "webserver":
            assert not service.get("ports"), f"{name} publishes ports"


def test_workspace_points_at_the_code_server() -> None:
    server = _yaml(WORKSPACE)["load_from"][0]["grpc_server"]
    command = [str(part) for part in _yaml(COMPOSE)["services"]["code-server"]["command"]]
    assert server["host"] == "code-server"
    assert command[command.index("-p") + 1] == str(server["port"])
    assert command[command.index("-h") + 1] == "0.0.0.0"
    assert command[command.index("-m") + 1] == "slack_events_dagster.definitions"
    code_env = service_env("code-server", env_example())
    assert code_env["DAGSTER_GRPC_PORT"] == str(server["port"])
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert server["location_name"] == pyproject["tool"]["dagster"]["code_location_name"]
    for service in ("webserver", "daemon"):
        cmd = [str(part) for part in _yaml(COMPOSE)["services"][service]["command"]]
        assert cmd[cmd.index("-w") + 1] == "/opt/dagster/home/workspace.yaml"


def test_services_start_in_dependency_order_on_health() -> None:
    services = _yaml(COMPOSE)["services"]
    assert "healthcheck" in services["postgres"]
    assert services["postgres"]["image"] == "postgres:16"
    expected = {
        "code-server": {"postgres"},
        "webserver": {"postgres", "code-server"},
        "daemon": {"postgres", "code-server"},
        "listener": {"postgres", "code-server"},
    }
    for name, needs in expected.items():
        depends = services[name]["depends_on"]
        assert set(depends) == needs, name
        assert all(d["condition"] == "service_healthy" for d in depends.values()), name
    # The image's HEALTHCHECK checks the role each service names.
    assert "HEALTHCHECK" in DOCKERFILE.read_text()
    for name in DAGSTER_SERVICES:
        assert service_env(name, env_example())["SLACK_EVENTS_ROLE"] == name
    # Only the code server migrates; the others start after it is healthy.
    migrate = {n: service_env(n, env_example())["SLACK_EVENTS_MIGRATE"] for n in DAGSTER_SERVICES}
    assert migrate == {"code-server": "1", "webserver": "0", "daemon": "0"}
    networks = {tuple(s.get("networks", [])) for s in services.values()}
    assert networks == {("slack_events",)}


def _instance_env_names(node: Any) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {str(node["env"])}
        return set().union(*(_instance_env_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_instance_env_names(v) for v in node))
    return set()


def test_postgres_names_agree_between_compose_and_dagster_yaml() -> None:
    instance = _yaml(INSTANCE)
    read = _instance_env_names(instance["storage"])
    assert read == {
        "DAGSTER_POSTGRES_HOST",
        "DAGSTER_POSTGRES_PORT",
        "DAGSTER_POSTGRES_USER",
        "DAGSTER_POSTGRES_PASSWORD",
        "DAGSTER_POSTGRES_DB",
    }
    env = env_example()
    postgres = service_env("postgres", env)
    for name in DAGSTER_SERVICES:
        dagster_env = service_env(name, env)
        assert read <= set(dagster_env), name
        assert dagster_env["DAGSTER_POSTGRES_HOST"] == "postgres"
        assert dagster_env["DAGSTER_POSTGRES_PORT"] == "5432"
        assert dagster_env["DAGSTER_POSTGRES_USER"] == postgres["POSTGRES_USER"]
        assert dagster_env["DAGSTER_POSTGRES_PASSWORD"] == postgres["POSTGRES_PASSWORD"]
        # The postgres service creates that database (docker/postgres-init.sh).
        assert dagster_env["DAGSTER_POSTGRES_DB"] == postgres["DAGSTER_POSTGRES_DB"]
    for name in ("code-server", "daemon", "listener"):
        app = service_env(name, env)
        assert app["SLACK_EVENTS_DATABASE__POSTGRES__HOST"] == "postgres"
        assert app["SLACK_EVENTS_DATABASE__POSTGRES__DATABASE"] == postgres["POSTGRES_DB"]
        assert app["SLACK_EVENTS_DATABASE__POSTGRES__USER"] == postgres["POSTGRES_USER"]
        assert app["SLACK_EVENTS_DATABASE__POSTGRES__PASSWORD"] == postgres["POSTGRES_PASSWORD"]
    init = _yaml(COMPOSE)["services"]["postgres"]["volumes"]
    assert any(v.startswith("./docker/postgres-init.sh:/docker-entrypoint-initdb.d/") for v in init)


def test_the_webserver_gets_no_slack_or_llm_secret() -> None:
    webserver = service_env("webserver", env_example())
    assert not [k for k in webserver if k.startswith("SLACK_EVENTS_") and "__" in k]


def test_run_containers_get_every_variable_the_daemon_has() -> None:
    """DockerRunLauncher copies the named variables from the daemon's environment and
    fails the launch when one is not set there."""
    launcher = _yaml(INSTANCE)["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    names = [v for v in launcher["config"]["env_vars"] if "=" not in v]
    daemon = service_env("daemon", env_example())
    assert set(names) <= set(daemon), sorted(set(names) - set(daemon))
    code_server = service_env("code-server", env_example())
    settings = {k for k in code_server if k.startswith("SLACK_EVENTS_") and "__" in k}
    assert settings <= set(names), f"runs would miss {sorted(settings - set(names))}"
    assert "SLACK_EVENTS_MIGRATE=0" in launcher["config"]["env_vars"]
    assert launcher["config"]["network"] == _yaml(COMPOSE)["networks"]["slack_events"]["name"]
    volume = launcher["config"]["container_kwargs"]["volumes"][0].split(":")[0]
    assert volume == _yaml(COMPOSE)["volumes"]["slack-events-output"]["name"]
    assert code_server["DAGSTER_CURRENT_IMAGE"] == _yaml(COMPOSE)["services"]["code-server"][
        "image"
    ].replace("${SLACK_EVENTS_IMAGE:-slack-events-dagster:latest}", "slack-events-dagster:latest")


def test_the_listener_is_the_fifth_service_and_ends_quietly_without_socket_mode() -> None:
    services = _yaml(COMPOSE)["services"]
    assert set(services) == {"postgres", *DAGSTER_SERVICES, "listener"}
    listener = services["listener"]
    assert listener["command"] == ["slack-events", "listen", "--if-configured"]
    # Without an app token it exits 0 at once: restarting only on failure keeps it down.
    assert listener["restart"] == "on-failure"
    env = service_env("listener", env_example())
    assert env["SLACK_EVENTS_ROLE"] == "listener" and env["SLACK_EVENTS_MIGRATE"] == "0"
    # The same product settings as the code server, which decides the sensor's mode.
    code_server = service_env("code-server", env_example())
    settings = {k: v for k, v in code_server.items() if k.startswith("SLACK_EVENTS_") and "__" in k}
    assert {k: env[k] for k in settings} == settings
    assert "SLACK_EVENTS_SLACK__APP_TOKEN" in settings


def test_the_compose_settings_are_valid_product_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from slack_events_dagster.settings import load_settings

    for name in list(__import__("os").environ):
        if name.startswith("SLACK_EVENTS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(REPO_ROOT / "deploy")  # no config.yaml or .env here
    for name, value in service_env("code-server", env_example()).items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.database.type == "postgres"
    assert settings.database.postgres.host == "postgres"
    assert settings.slack.source == "api"
    assert settings.llm.provider == "openai"
    assert settings.llm.base_url == "https://api.openai.com/v1"


def test_instance_config_is_valid_for_each_class(monkeypatch: pytest.MonkeyPatch) -> None:
    import dagster._check  # noqa: F401  (dagster first: its config modules import it)
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config_schema
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import DagsterPostgresStorage

    # The environment the daemon gets from compose: the env: references resolve.
    for name, value in service_env("daemon", env_example()).items():
        monkeypatch.setenv(name, value)
    instance = _yaml(INSTANCE)
    result = process_config(dagster_instance_config_schema(), instance)
    assert result.success, result.errors
    coordinator = instance["run_coordinator"]
    assert coordinator["class"] == "QueuedRunCoordinator"
    result = process_config(QueuedRunCoordinator.config_type(), coordinator["config"])
    assert result.success, result.errors
    limits = {c["key"]: c["limit"] for c in coordinator["config"]["tag_concurrency_limits"]}
    assert limits["slack_events/llm"] < coordinator["config"]["max_concurrent_runs"]
    # The storage class the instance names is dagster-postgres's, taking its config.
    custom = instance["storage"]["custom"]
    storage_class = getattr(importlib.import_module(custom["module"]), custom["class"])
    assert issubclass(storage_class, DagsterPostgresStorage)
    result = process_config(storage_class.config_type(), custom["config"])
    assert result.success, result.errors
    dagster_docker = pytest.importorskip("dagster_docker")
    launcher = instance["run_launcher"]["config"]
    result = process_config(dagster_docker.DockerRunLauncher.config_type(), launcher)
    assert result.success, result.errors


def test_the_llm_tag_is_on_the_job_that_calls_the_llm() -> None:
    from slack_events_dagster.defs.automation import LLM_RUN_TAG, ingest_job
    from slack_events_dagster.settings import LLMSettings, Settings

    limits = _yaml(INSTANCE)["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert LLM_RUN_TAG in {c["key"] for c in limits}
    with_model = Settings(llm=LLMSettings(provider="openai", api_key=SecretStr("sk-test")))
    assert (ingest_job(with_model).tags or {}).get(LLM_RUN_TAG) == "true"
    # The rule extractor calls no model: its runs neither say so nor wait for the limit.
    assert LLM_RUN_TAG not in (ingest_job(Settings()).tags or {})


def test_dockerfile_runs_as_non_root_and_bakes_no_secret() -> None:
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    for line in re.findall(r"^(?:ENV|ARG)\b.*$", text, flags=re.M):
        assert not re.search(r"TOKEN|API_KEY|PASSWORD|SECRET", line), line
    assert "postgresql-client" in text
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored
    for needed in ("migrations", "alembic.ini", "pyproject.toml", "docker/requirements.txt"):
        assert needed in text, needed


def test_image_stores_events_in_batches_of_the_products_size() -> None:
    """Every container (code server, webserver, daemon, runs) has the image's ENV."""
    found = re.findall(r"DAGSTER_EVENT_BATCH_SIZE=(\S+)", DOCKERFILE.read_text())
    assert found == [EVENT_BATCH_SIZE]


def test_image_requirements_pin_what_pyproject_pins() -> None:
    pins = {}
    for line in (REPO_ROOT / "docker" / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{line} is not pinned"
            pins[name.lower().replace("_", "-")] = version
    assert "dagster-docker" in pins
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    for requirement in pyproject["project"]["dependencies"]:
        match = re.match(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?\s*==\s*([^,;\s]+)", requirement)
        if match:
            name = match.group(1).lower().replace("_", "-")
            assert pins.get(name) == match.group(3), requirement
        else:
            name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)  # type: ignore[union-attr]
            assert name.lower().replace("_", "-") in pins, requirement
    assert pins["dagster-docker"] == pins["dagster-postgres"]


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
    return found


def test_compose_file_follows_the_compose_specification() -> None:
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
