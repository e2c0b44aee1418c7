"""Engine and session factory. Nothing connects at import time: call `configure()` from the app or CLI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from salesnav.models import bulk
from salesnav.models.base import SoftDeleteMixin
from salesnav.models.json_text import json_text


class HardDeleteForbidden(RuntimeError):
    """Nothing is hard-deleted: set `deleted_at` (or a status) instead."""


def make_engine(database_url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("json_serializer", json_text)  # JSON columns (an import's progress: thousands of notes)
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database_url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)
    bulk.watch(engine)  # the bulk writers' COPYs run behind their callers, waited for before the next statement
    return engine


def _forbid_hard_delete(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in session.deleted:
        raise HardDeleteForbidden(f"{type(obj).__name__} rows are never hard-deleted; retire them instead")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(factory, "before_flush", _forbid_hard_delete)
    return factory


_factory: sessionmaker[Session] | None = None
_engine: Engine | None = None


def configure(database_url: str) -> Engine:
    global _factory, _engine
    if _engine is not None:
        _engine.dispose()
    _engine = make_engine(database_url)
    _factory = make_session_factory(_engine)
    return _engine


def get_engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database not configured: call salesnav.models.session.configure() first")
    return _engine


def new_session() -> Session:
    if _factory is None:
        raise RuntimeError("database not configured: call salesnav.models.session.configure() first")
    return _factory()


@contextmanager
def transaction() -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on error, always closes."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


__all__ = ["HardDeleteForbidden", "SoftDeleteMixin", "configure", "get_engine", "new_session", "transaction"]
