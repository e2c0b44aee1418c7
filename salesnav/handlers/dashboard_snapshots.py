"""Dashboard snapshots: figures computed once and kept, so a page opens without recomputing them.

`cached` returns the kept figures while they are younger than `max_age`, and otherwise computes them, keeps
them and returns them. The clock refreshes the heavy ones ahead of expiry (salesnav/jobs/dashboards.py), so
a reader normally never waits; every page says when its figures were computed. Writes that change the past
in bulk (an Excel import and its undo, new index weights) call `drop`, and the next reader recomputes.

Figures are dataclasses, kept as JSON and rebuilt by pydantic from the dataclasses' own type hints: a
snapshot never holds code, only values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import DashboardSnapshot

T = TypeVar("T")
REFRESH_JOB = "salesnav.jobs.dashboards:refresh_executive"  # the job sits above the use cases: named by path
AGGREGATES_JOB = "salesnav.jobs.dashboards:refresh_metric_aggregates"


@dataclass(frozen=True)
class Snapshot(Generic[T]):
    figures: T
    as_of: datetime  # when the figures were computed (they describe the data up to then)
    compute_ms: int  # what computing them cost
    computed_now: bool  # computed for this reader rather than kept from before


def cached(
    session: Session,
    key: str,
    figures_type: type[T],
    compute: Callable[[datetime], T],
    now: datetime,
    max_age: timedelta,
) -> Snapshot[T]:
    """The kept figures under `key` if computed within `max_age` before `now`, else freshly computed ones."""
    kept = session.execute(
        select(DashboardSnapshot.as_of, DashboardSnapshot.compute_ms, DashboardSnapshot.figures).where(
            DashboardSnapshot.key == key
        )
    ).first()
    # A snapshot from the future (a clock set back) is as unusable as an old one.
    if kept is not None and now - max_age <= kept.as_of <= now:
        return Snapshot(_adapter(figures_type).validate_python(kept.figures), kept.as_of, kept.compute_ms, False)
    return refresh(session, key, compute, now)


def refresh(session: Session, key: str, compute: Callable[[datetime], T], now: datetime) -> Snapshot[T]:
    """Compute the figures as of `now` and keep them under `key` (replacing what was kept)."""
    started = time.perf_counter()
    figures = compute(now)
    compute_ms = round((time.perf_counter() - started) * 1000)
    values = {
        "key": key,
        "as_of": now,
        "compute_ms": compute_ms,
        "figures": _adapter(type(figures)).dump_python(figures, mode="json"),
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(DashboardSnapshot).values(**values)
    # Two readers may compute the same expired snapshot at once: the later write wins, both are right.
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["key"], set_={name: statement.excluded[name] for name in ("as_of", "compute_ms", "figures")}
        )
    )
    return Snapshot(figures, now, compute_ms, True)


def drop(session: Session, prefix: str = "") -> None:
    """Forget the snapshots whose key starts with `prefix` (all by default), and have the clock's refreshes run
    once this transaction commits (the forecast's and the Level 1 aggregates'), so that the next reader does not
    wait for the figures either.

    A snapshot is a cache, not a record, so it is deleted outright (the no-hard-delete rule guards records)."""
    session.execute(delete(DashboardSnapshot).where(DashboardSnapshot.key.startswith(prefix, autoescape=True)))
    enqueue_after_commit(session, REFRESH_JOB, queue="reports")
    # The Level 1 aggregates fold a bulk write in (its change markers) at once rather than at the next tick.
    enqueue_after_commit(session, AGGREGATES_JOB, queue="default")


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}  # per figures class: building one costs milliseconds


def _adapter(figures_type: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(figures_type)
    if adapter is None:
        adapter = _ADAPTERS[figures_type] = TypeAdapter(figures_type)
    return adapter
