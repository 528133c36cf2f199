"""Least privilege: the product works with exactly the Slack scopes the README names,
fails clearly without one, and runs on PostgreSQL as a role that owns only its schema
(``deploy/postgres-roles.sql``)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from slack_events_dagster import steps
from slack_events_dagster.domain.models import IngestionOutcome, SlackMessage
from slack_events_dagster.settings import SAMPLE_WORKSPACE, load_settings
from slack_events_dagster.slack.errors import SlackSourceError
from slack_events_dagster.slack.poster import SlackPoster
from slack_events_dagster.slack.webapi import WebApiSource
from slack_events_dagster.storage.engine import normalize_url
from slack_events_dagster.storage.migrate import upgrade
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.testing.fake_slack import FakeSlack
from slack_events_dagster_tests.helpers.stores import build_daily_digest

pytestmark = pytest.mark.reliability

TOKEN = "xoxb-least-privilege"
EXACT_SCOPES = ("channels:history", "channels:read", "users:read", "chat:write")
FIRST, LAST = date(2026, 3, 9), date(2026, 3, 11)
NOW = datetime(2026, 3, 23, 12, tzinfo=UTC)
ROLES_SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres-roles.sql"


def _run(fake: FakeSlack, repository: SqlRepository, tmp_path: Path) -> list[str]:
    settings = load_settings(
        slack={"source": "api", "base_url": fake.base_url, "token": TOKEN, "max_retries": 0},
        pipeline={"timezone": "America/New_York"},
        digest={
            "output_dir": str(tmp_path),
            "calendar_path": str(tmp_path / "e.ics"),
            "timezone": "America/New_York",
        },
    )
    source = WebApiSource(settings.slack)
    errors = []
    for channel in steps.register_channels(source, repository):
        report = steps.ingest_days(source, repository, settings, channel, FIRST, LAST, now=NOW)
        if report.outcome is not IngestionOutcome.OK:
            errors.append(str(report.error))
    digest = build_daily_digest(repository, settings, LAST, now=NOW)
    SlackPoster(settings.slack).post_digest(repository, digest, "#general")
    return errors


def test_exactly_the_documented_scopes_suffice(
    sqlite_repository: SqlRepository, tmp_path: Path
) -> None:
    fake = FakeSlack.from_export(SAMPLE_WORKSPACE, tokens={TOKEN: EXACT_SCOPES})
    with fake.serve():
        assert _run(fake, sqlite_repository, tmp_path) == []
    assert sqlite_repository.count_messages() > 30
    assert len(fake.posted) == 1
    stored = sqlite_repository.get_digest(LAST)
    assert stored is not None and stored.posted_ts == fake.posted[0]["ts"]


@pytest.mark.parametrize("missing", EXACT_SCOPES)
def test_a_missing_scope_fails_clearly(
    missing: str, sqlite_repository: SqlRepository, tmp_path: Path
) -> None:
    scopes = [s for s in EXACT_SCOPES if s != missing]
    fake = FakeSlack.from_export(SAMPLE_WORKSPACE, tokens={TOKEN: scopes})
    with fake.serve():
        try:
            errors = _run(fake, sqlite_repository, tmp_path)
        except SlackSourceError as exc:
            errors = [str(exc)]
    assert errors, f"without {missing} something must fail"
    assert all("missing_scope" in e and missing in e for e in errors), errors
    assert all(TOKEN not in e for e in errors)


# -- PostgreSQL role -------------------------------------------------------------------


@pytest.fixture
def role_database(postgres_admin_url: URL) -> Iterator[tuple[str, str]]:
    """A fresh database and the name of a fresh application role (both dropped after)."""
    suffix = uuid.uuid4().hex[:10]
    database, role = f"slack_events_roles_{suffix}", f"slack_events_app_{suffix}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield database, role
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def _apply_roles_script(admin_url: URL, database: str, role: str, password: str) -> None:
    """Apply the script with psql, exactly as the deployment instructions say."""
    url = admin_url.set(database=database, drivername="postgresql")
    result = subprocess.run(
        [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            f"app_role={role}",
            "-v",
            f"app_password={password}",
            "-v",
            f"app_database={database}",
            "-d",
            url.render_as_string(hide_password=False),
            "-f",
            str(ROLES_SQL),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.postgres
def test_application_role_owns_only_its_schema(
    postgres_admin_url: URL, role_database: tuple[str, str]
) -> None:
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed (deploy/postgres-roles.sql is a psql script)")
    database, role = role_database
    password = uuid.uuid4().hex
    _apply_roles_script(postgres_admin_url, database, role, password)
    # Applying it twice is harmless (deployments re-run it).
    _apply_roles_script(postgres_admin_url, database, role, password)
    app_url = normalize_url(
        make_url(postgres_admin_url.render_as_string(hide_password=False)).set(
            username=role, password=password, database=database
        )
    )
    url_text = app_url.render_as_string(hide_password=False)
    upgrade(url_text)
    repository = SqlRepository.from_url(url_text)
    try:
        with repository.engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            owners = conn.execute(
                text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = :s"),
                {"s": schema},
            ).scalars()
            assert set(owners) == {role}
        assert schema != "public"
        # The contract basics, as that role.
        message = SlackMessage(channel_id="C1", ts="1700000000.000100", text="Release Friday")
        assert repository.upsert_messages([message], watermarks={"C1": message.ts}).inserted == 1
        assert repository.upsert_messages([message]).inserted == 0
        assert repository.get_watermark("C1") == message.ts
        assert repository.count_messages() == 1
        # Nothing outside its schema.
        for statement in (
            "CREATE TABLE public.escape (id int)",
            "CREATE SCHEMA other_schema",
            f'CREATE DATABASE "{database}_x"',
            "CREATE ROLE sneaky",
        ):
            engine = create_engine(app_url, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn, pytest.raises(Exception, match="permission denied"):
                    conn.execute(text(statement))
            finally:
                engine.dispose()
    finally:
        repository.close()
