"""Portable SQL pieces the metrics need: time differences that compute the same on PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Float
from sqlalchemy.ext.compiler import compiles
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
