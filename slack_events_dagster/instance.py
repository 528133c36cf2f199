"""The Dagster instance that ``slack-events run``, ``demo`` and ``ui`` record their runs on.

``$DAGSTER_HOME`` when it is set (its ``dagster.yaml`` is the user's). Otherwise a
project-local home, ``dagster/`` beside the application's SQLite file (``data/dagster``
by default, ``output/demo/dagster`` for the demo; beside ``database.path`` when the
application database is PostgreSQL), whose ``dagster.yaml`` this module writes:

- the product's ``KeptSqliteStorage`` (``dagster_storage.py``): Dagster's SQLite files
  and layout, connections kept, a batch of events stored in a few statements. Dagster's
  ephemeral instance stored a ranged run's events one by one, about 7 ms each;
- no telemetry and no "Join the Dagster community" dialog over the UI (``nux``);
- a run queue of two runs at a time for the UI's backfills (two processes writing one
  SQLite file at once is what SQLite does well; more only wait for its lock).

Dagster reads its event batching switch, ``DAGSTER_EVENT_BATCH_SIZE``, from the
environment only (no ``dagster.yaml`` key); :func:`batching_environment` is what this
process and ``dagster dev`` get. The instance is always SQLite files, whatever the
application database: a deployment that keeps Dagster's storage in PostgreSQL has its
own ``dagster.yaml`` (``deploy/dagster.yaml``) and sets ``DAGSTER_HOME``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import yaml

from slack_events_dagster.dagster_storage import EVENT_BATCH_SIZE
from slack_events_dagster.settings import Settings
from slack_events_dagster.storage.engine import url_from_settings

DAGSTER_HOME_ENV = "DAGSTER_HOME"
EVENT_BATCH_ENV = "DAGSTER_EVENT_BATCH_SIZE"
LOCAL_HOME_NAME = "dagster"
# The first line of a dagster.yaml this module wrote: only such a file is rewritten.
GENERATED_MARK = "# Written by slack-events (slack_events_dagster/instance.py)"
# Runs the local run queue starts at once (the UI's backfills).
LOCAL_MAX_CONCURRENT_RUNS = 2


def data_dir(settings: Settings) -> Path:
    """The folder of the application's SQLite file (of ``database.path`` on PostgreSQL)."""
    url = url_from_settings(settings.database)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).parent
    return Path(settings.database.path).parent


def local_home(settings: Settings) -> Path:
    """The project-local Dagster home of ``settings`` (absolute)."""
    return (data_dir(settings) / LOCAL_HOME_NAME).resolve()


def local_instance_config(home: Path) -> dict[str, object]:
    """The ``dagster.yaml`` of a project-local home."""
    return {
        "storage": {
            "custom": {
                "module": "slack_events_dagster.dagster_storage",
                "class": "KeptSqliteStorage",
                "config": {"base_dir": str(home)},
            }
        },
        "run_queue": {"max_concurrent_runs": LOCAL_MAX_CONCURRENT_RUNS},
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
    }


def write_local_home(home: Path) -> Path:
    """Create ``home`` with its ``dagster.yaml``; a file this module did not write stays."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    text = (
        f"{GENERATED_MARK}: the project-local Dagster instance of\n"
        "# `slack-events run`, `demo` and `ui`. Rewritten when it starts with this line;\n"
        "# delete this line to keep your own changes.\n"
        + yaml.safe_dump(local_instance_config(home), sort_keys=False)
    )
    if not config.exists() or (
        config.read_text(encoding="utf-8").startswith(GENERATED_MARK)
        and config.read_text(encoding="utf-8") != text
    ):
        config.write_text(text, encoding="utf-8")
    return home


def instance_home(settings: Settings, environ: Mapping[str, str] | None = None) -> Path:
    """``$DAGSTER_HOME`` when set, else the project-local home (created if needed)."""
    environ = os.environ if environ is None else environ
    configured = environ.get(DAGSTER_HOME_ENV)
    if configured:
        home = Path(configured).resolve()
        home.mkdir(parents=True, exist_ok=True)
        return home
    return write_local_home(local_home(settings))


def batching_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Dagster's event batching switch, unless the environment already chose a size."""
    environ = os.environ if environ is None else environ
    return {EVENT_BATCH_ENV: environ.get(EVENT_BATCH_ENV) or EVENT_BATCH_SIZE}


@contextmanager
def dagster_instance(settings: Settings) -> Iterator[dg.DagsterInstance]:
    """The instance of :func:`instance_home`, with event batching on in this process."""
    # Dagster reads the switch from the environment when it stores events, nowhere else.
    os.environ.update(batching_environment())
    instance = dg.DagsterInstance.from_config(str(instance_home(settings)))
    try:
        yield instance
    finally:
        instance.dispose()
