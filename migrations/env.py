"""Alembic environment: migrates the application database described by the settings.

The URL comes, in order, from ``-x url=...``, from a caller that set
``config.attributes["url"]`` (the ``slack-events migrate`` command), or from
the product settings. Migrations are generated from ``storage.schema.metadata``.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Engine

from slack_events_dagster.settings import load_settings
from slack_events_dagster.storage.engine import create_db_engine, url_from_settings
from slack_events_dagster.storage.schema import UTCDateTime, metadata

config = context.config


def _render_item(kind: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations stay free of application imports: UTCDateTime is a plain DateTime(tz).
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _engine() -> Engine:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("url")
    if url is None:
        url = url_from_settings(load_settings().database)
    return create_db_engine(url)


def run_migrations_offline() -> None:
    context.configure(
        url=_engine().url,
        target_metadata=metadata,
        literal_binds=True,
        render_item=_render_item,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = _engine()
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=_render_item,
        # SQLite cannot ALTER most things: batch mode rebuilds tables instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
