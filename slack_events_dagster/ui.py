"""``slack-events ui``: the Dagster UI on the settings and the instance of ``run`` and ``demo``.

It starts ``dagster dev`` (the webserver, the daemon and the code server) in a process
group of its own, prints the URL, and on Ctrl-C (or SIGTERM) stops that whole group.

- **Which data.** With a config file (``--config``, ``$SLACK_EVENTS_CONFIG`` or
  ``./config.yaml``) the code location reads that file (its path reaches the child as
  ``SLACK_EVENTS_CONFIG``), so it runs on what ``slack-events run`` runs on. Without one
  it opens the sample as ``slack-events demo`` left it: the child builds the same
  ``demo_settings`` from the folder named by ``SLACK_EVENTS_SAMPLE_DIR``. Nothing else of
  the settings goes through the environment: the child reads the same file, ``.env`` and
  variables as this process.
- **Which instance.** ``$DAGSTER_HOME`` when set, else the project-local home of
  :mod:`slack_events_dagster.instance`, the one ``run`` and ``demo`` record on; with
  Dagster's event batching on.
- **Trial states.** Over the sample (a fixed history: ``pipeline.end_date`` is its last
  day) the partitions are the sample's days, the digest schedule starts stopped (no new
  day will come), the watermark sensor is stopped as always (it polls Slack), and the
  channel discovery and alert sensors run: discovery finds the sample's channels
  registered and skips, alerts skip until an alert channel and a token are set.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from types import FrameType

import yaml

from slack_events_dagster.instance import DAGSTER_HOME_ENV, batching_environment, instance_home
from slack_events_dagster.settings import (
    CONFIG_ENV_VAR,
    Settings,
    load_settings,
    resolve_config_path,
)
from slack_events_dagster.storage.engine import redact_url, url_from_settings

SAMPLE_DIR_ENV = "SLACK_EVENTS_SAMPLE_DIR"
LOCATION_NAME = "slack_events_dagster"
LOCATION_MODULE = "slack_events_dagster.definitions"
# dagster dev stops its webserver, daemon and code server on SIGTERM within seconds.
STOP_TIMEOUT_S = 30.0


def location_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of the code location: the config file's, or the sample's as
    ``slack-events demo`` builds them when ``slack-events ui`` names a sample folder."""
    environ = os.environ if environ is None else environ
    settings = load_settings()
    sample_dir = environ.get(SAMPLE_DIR_ENV)
    if not sample_dir:
        return settings
    from slack_events_dagster.pipeline import demo_settings

    return demo_settings(settings, output_dir=sample_dir)


def write_workspace(folder: Path) -> Path:
    """A workspace file loading the code location under its deployment's name."""
    path = folder / "workspace.yaml"
    workspace = {
        "load_from": [
            {"python_module": {"module_name": LOCATION_MODULE, "location_name": LOCATION_NAME}}
        ]
    }
    path.write_text(yaml.safe_dump(workspace, sort_keys=False), encoding="utf-8")
    return path


def dagster_executable() -> str:
    beside = Path(sys.executable).parent / "dagster"
    return str(beside) if beside.exists() else "dagster"


def ui_environment(
    settings: Settings, config_path: Path | None, output_dir: Path, home: Path
) -> dict[str, str]:
    """The child's environment: this one, plus which settings and which instance."""
    env = dict(os.environ)
    env.pop(SAMPLE_DIR_ENV, None)
    if config_path is not None:
        env[CONFIG_ENV_VAR] = str(config_path.resolve())
    else:
        env[SAMPLE_DIR_ENV] = str(output_dir.resolve())
    env[DAGSTER_HOME_ENV] = str(home)
    env.update(batching_environment(env))
    # `dagster dev` is superseded by `dg dev` (dagster-dg-cli, not a dependency): say it once
    # here (docs), not on every start.
    quiet = "ignore:Function `dev_command` is superseded"
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), quiet]))
    return env


def _ready(url: str) -> bool:
    try:
        # An http:// URL this module built from --host and --port.
        with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def stop_group(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Ctrl-C for the child's process group (as a terminal sends it: ``dagster dev`` then
    stops its webserver, daemon and code servers), then SIGKILL whatever is left."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout_s)
    # Run workers and code servers the group left behind go too.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=timeout_s)
    # Until the last of them is gone (a killed process lingers until it is reaped).
    deadline = time.monotonic() + timeout_s
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def group_alive(group: int) -> bool:
    """Whether any process of the process group ``group`` still exists."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal: it exists
        return True
    return True


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def open_ui(
    settings: Settings,
    *,
    config: str | None,
    output_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 3000,
) -> int:
    """``slack-events ui``: the config file's deployment, else the sample in ``output_dir``."""
    from slack_events_dagster.pipeline import demo_settings

    config_path = resolve_config_path(config)
    folder = Path(output_dir)
    if config_path is None:
        settings = demo_settings(settings, output_dir=folder)
        if not (folder / "slack_events.db").exists():
            print(f"{folder} holds no demo yet: `slack-events demo` fills it (runs, events)")
    return run_ui(settings, config_path=config_path, output_dir=folder, host=host, port=port)


def run_ui(
    settings: Settings,
    *,
    config_path: Path | None,
    output_dir: Path,
    host: str = "127.0.0.1",
    port: int = 3000,
) -> int:
    """Start ``dagster dev`` and wait; Ctrl-C stops it. ``settings`` are the command's
    own (already the sample's when there is no config file)."""
    from slack_events_dagster.storage.repository import SqlRepository

    # Migrating announces each step at INFO; the outcome is what matters here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    home = instance_home(settings)
    with SqlRepository.from_settings(settings.database) as repository:
        problem = repository.prepare_schema()
    url = f"http://{host}:{port}"
    which = f"config {config_path}" if config_path else f"the sample workspace ({output_dir})"
    database = redact_url(url_from_settings(settings.database).render_as_string())
    print(f"settings: {which}; database {database}; Dagster instance {home}")
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="slack-events-ui-") as folder:
        workspace = write_workspace(Path(folder))
        command = [
            dagster_executable(),
            "dev",
            "-w",
            str(workspace),
            "-h",
            host,
            "-p",
            str(port),
        ]
        # Our handlers first: a child inherits an ignored SIGINT (a shell's background job)
        # and dagster dev maps SIGTERM to whatever SIGINT does; a handled one resets to
        # the default in the child, so Ctrl-C and SIGTERM stop it.
        previous = {
            signum: signal.signal(signum, _raise_interrupt)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        process = subprocess.Popen(  # noqa: S603 (our own dagster executable, fixed arguments)
            command,
            env=ui_environment(settings, config_path, output_dir, home),
            # Its own group: Ctrl-C reaches this process only, which stops the group.
            start_new_session=True,
        )
        print(f"Dagster UI: {url} (starting; process group {process.pid}; Ctrl-C stops it)")
        sys.stdout.flush()
        try:
            announced = False
            while process.poll() is None:
                if not announced and _ready(url):
                    print(f"Dagster UI ready: {url}")
                    sys.stdout.flush()
                    announced = True
                time.sleep(0.5)
            return process.returncode
        except KeyboardInterrupt:
            print("stopping the Dagster UI ...", file=sys.stderr)
            stop_group(process)
            print("stopped", file=sys.stderr)
            return 0
        finally:
            if process.poll() is None:
                stop_group(process)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
