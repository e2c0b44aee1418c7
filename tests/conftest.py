"""Test fixtures: a real database (PostgreSQL in CI, SQLite by default), real Redis when configured.

Each test starts from empty tables (truncated after each test) so that code opening its own
sessions — jobs, web requests — sees exactly what the test committed.

The day the suite runs on: `--today 2026-12-01` (or `SALESNAV_TEST_TODAY`, a date or an ISO time with its
offset) runs it as if that were today — the whole session's clock is a `ShiftedClock` that starts there and
keeps running, and `today_clock` is frozen there — so a test that depends on the calendar (the first days of
a month, a statutory holiday) can be tried on any day. `make test-calendar` runs the date-sensitive part
(marked `calendar`: tests that read today from the clock rather than from a FrozenClock of their own) in the
first minutes of a month and on a Spring Festival day.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.adapters import register_adapters
from salesnav.bot import outbox
from salesnav.handlers.dashboards import executive
from salesnav.handlers.journeys import listening as journey_listening
from salesnav.jobs import queue as jobs_queue
from salesnav.models import Base, migrate
from salesnav.models import session as db
from salesnav.settings import Settings

REQUIRE_SERVICES = os.environ.get("SALESNAV_REQUIRE_SERVICES") == "1"
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_TODAY = datetime(2026, 3, 2, 9, 30, tzinfo=BUSINESS_TZ)  # a Monday, in working hours


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--today",
        default=os.environ.get("SALESNAV_TEST_TODAY", ""),
        help="run the suite as if today were this day: 2026-12-01 (09:30 in Shanghai) or an ISO time with its "
        "offset, 2026-12-01T00:30+08:00 (default: $SALESNAV_TEST_TODAY, else the real day)",
    )


def _test_today(config: pytest.Config) -> datetime | None:
    raw = str(config.getoption("--today") or "").strip()
    if not raw:
        return None
    try:
        if "T" not in raw:
            return datetime.combine(date.fromisoformat(raw), time(9, 30), BUSINESS_TZ)
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise pytest.UsageError(f"--today / SALESNAV_TEST_TODAY: not a date or ISO time: {raw!r}") from exc
    if moment.tzinfo is None:
        raise pytest.UsageError(f"--today / SALESNAV_TEST_TODAY: an ISO time needs its offset: {raw!r}")
    return moment


def pytest_configure(config: pytest.Config) -> None:
    _test_today(config)  # a bad value stops the run before anything is collected


def pytest_report_header(config: pytest.Config) -> str:
    moment = _test_today(config)
    return f"today: {moment.isoformat()} (--today)" if moment else "today: the real day"


@pytest.fixture(scope="session", autouse=True)
def _shifted_today(pytestconfig: pytest.Config) -> Iterator[None]:
    """With --today, the whole session runs on that day (a clock that starts there and keeps running)."""
    moment = _test_today(pytestconfig)
    if moment is None:
        yield
        return
    previous = clock.use(clock.ShiftedClock(moment))
    yield
    clock.use(previous)


@pytest.fixture(scope="session", autouse=True)
def _channels() -> None:
    """The ports' adapters, as every process registers them at start (salesnav/adapters.py)."""
    register_adapters()


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
        outbox._local_window.forget()  # the sends it counted are gone with their rows
        journey_listening.forget()  # the kinds the journeys hear were read from rows now gone
        executive.forget_kept()  # Level 1's parts read from the records were of rows now gone


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
    """Always Mon 2026-03-02 09:30 in Shanghai: for tests that build their own dated data around it."""
    fc = clock.FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    previous = clock.use(fc)
    yield fc
    clock.use(previous)


@pytest.fixture
def today_clock(pytestconfig: pytest.Config) -> Iterator[clock.FrozenClock]:
    """Frozen on the day the suite runs on (--today), else on Mon 2026-03-02 09:30 in Shanghai: for tests over
    data anchored to the clock, such as the demo company, which must hold on any day."""
    fc = clock.FrozenClock(_test_today(pytestconfig) or DEFAULT_TODAY)
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
