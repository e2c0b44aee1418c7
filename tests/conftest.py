"""Test fixtures: a real database (PostgreSQL in CI, SQLite by default), real Redis when configured.

Each test starts from empty tables (truncated after each test) so that code opening its own
sessions — jobs, web requests — sees exactly what the test committed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.jobs import queue as jobs_queue
from salesnav.models import Base, migrate
from salesnav.models import session as db
from salesnav.settings import Settings

REQUIRE_SERVICES = os.environ.get("SALESNAV_REQUIRE_SERVICES") == "1"


def _database_url(tmp_root: Path) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    return url or f"sqlite:///{tmp_root / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("salesnav")
    env = dict(os.environ)
    env["DATABASE_URL"] = _database_url(root)
    env["SALESNAV_DATA_DIR"] = str(root / "var")
    env.setdefault("REDIS_URL", "")
    for name in ("WECOM_SECRET", "WECOM_EMULATOR", "WECOM_CORP_ID", "WECOM_TOKEN", "WECOM_AES_KEY", "SECRET_KEY"):
        env.pop(name, None)
    return Settings.from_env(env)


@pytest.fixture(scope="session")
def database(settings: Settings) -> Iterator[str]:
    """The schema, migrated from empty to head once per run."""
    engine = db.make_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:
        if REQUIRE_SERVICES:
            pytest.exit(f"database unreachable ({settings.database_url}): {exc}", returncode=3)
        raise
    engine.dispose()
    migrate.upgrade(settings.database_url)
    db.configure(settings.database_url)
    yield settings.database_url


def _truncate_all() -> None:
    engine = db.get_engine()
    tables = [t.name for t in Base.metadata.sorted_tables]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("PRAGMA defer_foreign_keys=ON"))
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty tables and a restored clock and queue after every test that used the database."""
    yield
    if "database" in request.fixturenames:
        backend = jobs_queue.backend()
        if isinstance(backend, jobs_queue.CommandBackend):  # a CLI command ran in this test
            backend = backend.inner
        if isinstance(backend, jobs_queue.InProcessBackend):
            backend.drain()  # a job still running would hold locks that TRUNCATE waits on
        jobs_queue.configure("")
        _truncate_all()


@pytest.fixture
def session(database: str) -> Iterator[Session]:
    s = db.new_session()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


@pytest.fixture
def frozen_clock() -> Iterator[clock.FrozenClock]:
    fc = clock.FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))  # Mon 09:30 in Shanghai
    previous = clock.use(fc)
    yield fc
    clock.use(previous)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A dedicated Redis database, flushed before and after the test."""
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        if REQUIRE_SERVICES:
            pytest.fail("REDIS_URL is required in CI")
        pytest.skip("REDIS_URL not set: Redis tests run in CI (make test with REDIS_URL)")
    from redis import Redis

    client = Redis.from_url(url)
    try:
        client.flushdb()
    except Exception as exc:
        pytest.fail(f"Redis unreachable at {url}: {exc}")
    yield url
    client.flushdb()
    client.close()
