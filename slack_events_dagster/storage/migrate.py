"""Run the Alembic migrations in ``migrations/`` against a database URL, and make sure a
database is at the newest schema before the code uses it (:func:`prepare_schema`)."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from slack_events_dagster.storage.base import RepositoryError
from slack_events_dagster.storage.engine import create_db_engine, redact_url

MIGRATIONS_ENV_VAR = "SLACK_EVENTS_MIGRATIONS"
MIGRATE_COMMAND = "slack-events migrate"


class SchemaNotReadyError(RepositoryError):
    """The database is empty or at an older schema, and this process may not migrate it."""

    def __init__(self, detail: str) -> None:
        super().__init__("schema", detail)
        self.detail = detail


def migrations_dir() -> Path:
    """``migrations/`` of the checkout (or of the image), or $SLACK_EVENTS_MIGRATIONS."""
    configured = os.environ.get(MIGRATIONS_ENV_VAR)
    path = Path(configured) if configured else Path(__file__).resolve().parents[2] / "migrations"
    if not (path / "env.py").is_file():
        raise RepositoryError(
            "migrate",
            f"no Alembic migrations at {path}; run from a checkout of the project "
            f"or set {MIGRATIONS_ENV_VAR} to its migrations folder",
        )
    return path


def alembic_config(url: str | URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["url"] = url
    return config


def _run(command_name: str, url: str | URL, revision: str) -> None:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            getattr(command, command_name)(config, revision)
    except RepositoryError:
        raise
    except Exception as exc:
        raise RepositoryError("migrate", redact_url(str(exc)).splitlines()[0]) from None
    finally:
        engine.dispose()


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Bring the database to ``revision``; running it again changes nothing."""
    _run("upgrade", url, revision)


def downgrade(url: str | URL, revision: str = "base") -> None:
    """Take the database back to ``revision`` (``-1``: one migration back)."""
    _run("downgrade", url, revision)


# Databases (URLs, password hidden) this process found at the newest schema: checked once.
_at_head: set[str] = set()
_at_head_lock = threading.Lock()


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "migrations/ has no revision"
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is stamped with; None for one never migrated."""
    return MigrationContext.configure(connection).get_current_revision()


def stamp_head(connection: Connection) -> None:
    """Record that the database is at the newest schema (tables made from the metadata)."""
    MigrationContext.configure(connection).stamp(_scripts(), "head")


@contextmanager
def _file_lock(database: str) -> Iterator[None]:
    """One migrating process per SQLite file (a sensor tick and a run may start together)."""
    lock_path = Path(f"{database}.migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prepare_schema(engine: Engine) -> str | None:
    """Make sure the database of ``engine`` is at the newest schema before it is used.

    SQLite (a local file, one user) is migrated here. A PostgreSQL database is migrated
    by its operator or the deployment's code server (``SLACK_EVENTS_MIGRATE=1``), never
    by a sensor or a run (their roles need not own the schema): this returns the one
    message to show instead, naming the command to run. None when the database is ready.
    """
    url = engine.url
    key = url.render_as_string(hide_password=True)
    if key in _at_head:
        return None
    head = head_revision()
    with engine.connect() as connection:
        current = current_revision(connection)
    if current != head:
        if current is not None:
            try:
                _scripts().get_revision(current)
            except CommandError:
                return (
                    f"database {redact_url(key)} is at schema revision {current}, which this "
                    f"version of the code does not know (it needs {head}): upgrade the code"
                )
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            state = "has no tables yet" if current is None else f"is at schema revision {current}"
            return (
                f"database {redact_url(key)} {state}; this code needs revision {head}: "
                f"run `{MIGRATE_COMMAND}` with the same settings"
            )
        with _file_lock(url.database):
            upgrade(url)
    with _at_head_lock:
        _at_head.add(key)
    return None


def ensure_schema(engine: Engine) -> None:
    """:func:`prepare_schema`, raising :class:`SchemaNotReadyError` with its message."""
    problem = prepare_schema(engine)
    if problem is not None:
        raise SchemaNotReadyError(problem)
