"""Shared fixtures: real SQLite files, a real PostgreSQL server and the fake Slack.

PostgreSQL comes from ``SLACK_EVENTS_TEST_POSTGRES_URL`` (default: the local
server with trust auth). Without a reachable server the PostgreSQL cases skip
with the reason, unless ``SLACK_EVENTS_REQUIRE_POSTGRES=1`` (set by ``.ci/run``),
which turns that skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from slack_events_dagster.settings import SAMPLE_WORKSPACE
from slack_events_dagster.storage.engine import normalize_url
from slack_events_dagster.storage.repository import SqlRepository
from slack_events_dagster.storage.schema import TABLES_IN_DEPENDENCY_ORDER
from slack_events_dagster.testing.fake_slack import FakeSlack
from slack_events_dagster_tests.helpers.paths import REPO_ROOT

DEFAULT_POSTGRES_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"


def _postgres_required() -> bool:
    return os.environ.get("SLACK_EVENTS_REQUIRE_POSTGRES", "") == "1"


def _admin_url() -> URL:
    return normalize_url(os.environ.get("SLACK_EVENTS_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


@pytest.fixture(scope="session")
def postgres_admin_url() -> URL:
    """The server's maintenance database; skips (or fails in CI) when unreachable."""
    url = _admin_url()
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        reason = (
            f"PostgreSQL at {url.render_as_string(hide_password=True)} is not reachable "
            f"({type(exc).__name__}); start it or set SLACK_EVENTS_TEST_POSTGRES_URL"
        )
        if _postgres_required():
            pytest.fail(f"SLACK_EVENTS_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def make_postgres_database(postgres_admin_url: URL) -> Iterator[Callable[[], str]]:
    """Creates empty databases on demand; drops them all at the end of the session."""
    created: list[str] = []
    # Pre-ping: a test that restarts the server must not break database creation after it.
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)

    def make() -> str:
        name = f"slack_events_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return postgres_admin_url.set(database=name).render_as_string(hide_password=False)

    yield make
    with admin.connect() as conn:
        for name in created:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _session_postgres_repository(
    make_postgres_database: Callable[[], str],
) -> Iterator[SqlRepository]:
    repository = SqlRepository.from_url(make_postgres_database())
    repository.create_schema()
    yield repository
    repository.close()


@pytest.fixture
def postgres_repository(_session_postgres_repository: SqlRepository) -> SqlRepository:
    """A repository on a real PostgreSQL database, emptied before each test."""
    repository = _session_postgres_repository
    names = ", ".join(f'"{t.name}"' for t in TABLES_IN_DEPENDENCY_ORDER)
    with repository.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} CASCADE"))
    return repository


@pytest.fixture
def postgres_url(postgres_repository: SqlRepository) -> str:
    """URL of the (emptied) PostgreSQL test database, with the schema in place."""
    return postgres_repository.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'slack_events.db'}"


@pytest.fixture
def sqlite_repository(sqlite_url: str) -> Iterator[SqlRepository]:
    """A repository on a fresh SQLite file with the schema in place."""
    repository = SqlRepository.from_url(sqlite_url)
    repository.create_schema()
    yield repository
    repository.close()


@pytest.fixture(params=["sqlite", "postgres"])
def repository(request: pytest.FixtureRequest) -> SqlRepository:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_repository")  # type: ignore[no-any-return]
    return request.getfixturevalue("sqlite_repository")  # type: ignore[no-any-return]


@pytest.fixture
def shared_fixtures() -> Path:
    """``../shared/fixtures`` next to the repository; skips when it is not there."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"{SHARED_FIXTURES} is absent (it ships beside the repository, not in it)")
    return SHARED_FIXTURES


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """The sample workspace served by the fake Slack Web API."""
    fake = FakeSlack.from_export(SAMPLE_WORKSPACE, team_domain="lumenlabs")
    with fake.serve():
        yield fake
