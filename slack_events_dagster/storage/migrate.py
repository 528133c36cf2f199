"""Run the Alembic migrations in ``migrations/`` against a database URL."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

from slack_events_dagster.storage.base import RepositoryError
from slack_events_dagster.storage.engine import create_db_engine, redact_url

MIGRATIONS_ENV_VAR = "SLACK_EVENTS_MIGRATIONS"


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
