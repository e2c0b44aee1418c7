"""Portable SQL pieces the metrics need: time differences that compute the same on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float, Integer, text
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


def seconds_between(later: ColumnElement[Any], earlier: ColumnElement[Any]) -> ColumnElement[float]:
    return epoch_seconds(later) - epoch_seconds(earlier)


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
    """Turn PostgreSQL's JIT compilation off for the rest of this transaction (a dashboard's figures).

    The metrics' aggregates look costly to the planner, so JIT compiles each of them — about 200 ms per
    query on the benchmark, more than running it. SQLite has no JIT: nothing to do.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
