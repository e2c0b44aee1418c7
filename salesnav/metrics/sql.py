"""Portable SQL pieces the metrics need: time differences that compute the same on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement


class epoch_seconds(FunctionElement[float]):
    """Seconds since 1970-01-01 UTC of a UTC timestamp column, exact to the millisecond on both databases.

    Differences of two of these are durations, which neither database can subtract portably otherwise
    (PostgreSQL yields an interval, SQLite stores text).
    """

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "postgresql")
def _epoch_seconds_postgresql(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_seconds_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # julianday() arithmetic loses exactness at the second; whole seconds plus the millisecond digits of
    # '%f' ('SS.SSS') keep durations exact, so a response at exactly 24 h compares as exactly 24 h.
    arg = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', {arg}) AS INTEGER) + CAST(substr(strftime('%f', {arg}), 4) AS INTEGER) / 1000.0)"


class seconds_between(FunctionElement[float]):
    """Seconds from `earlier` to `later` (two UTC timestamp columns), exact to the millisecond on both databases.

    PostgreSQL takes the epoch of the interval as a double (date_part): one cheap float per row rather than two
    exact numerics, which counts over a dashboard's hundred thousand stays. It is still exact where it matters:
    the interval is a whole number of microseconds, so exactly 24 h is exactly 86400.0 and 1 ms more is more.
    SQLite subtracts the two `epoch_seconds`.
    """

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"date_part('epoch', ({later}) - ({earlier}))"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = element.clauses
    return compiler.process(epoch_seconds(later) - epoch_seconds(earlier), **kw)


class bit_or(FunctionElement[int]):
    """The bitwise OR of a small non-negative integer column over a group (an aggregate).

    PostgreSQL has BIT_OR; SQLite has none, but for values below 32 the OR equals the sum of each bit's MAX,
    since MAX(x & b) is either 0 or b.
    """

    type = Integer()
    inherit_cache = True
    name = "bit_or"


@compiles(bit_or, "postgresql")
def _bit_or_postgresql(element: bit_or, compiler: Any, **kw: Any) -> str:
    return f"BIT_OR({compiler.process(element.clauses, **kw)})"


@compiles(bit_or, "sqlite")
def _bit_or_sqlite(element: bit_or, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return "(" + " + ".join(f"MAX(({arg}) & {bit})" for bit in (1, 2, 4, 8, 16)) + ")"


def without_jit(session: Session) -> None:
    """Tune PostgreSQL for a dashboard's figures for the rest of this transaction: JIT off, more sort memory.

    The metrics' aggregates look costly to the planner, so JIT compiles each of them — about 200 ms per
    query on the benchmark, more than running it. The company-wide groupings (20,000 customers × a few dozen
    sums) outgrow the default 4 MB work_mem and spill to disk; 64 MB keeps them in memory. psycopg prepares a
    statement run five times on a connection, after which PostgreSQL may switch to a generic plan that ignores
    how wide the window is (a week or a year of touchpoints): the dashboards' ranges are always planned for
    their values. SQLite has none of these: nothing to do.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
