"""The small typed results every metric returns; `value` is None when there is nothing to measure."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


def as_float(number: float | int | Decimal | None) -> float:
    """SQL sums come back as int, float or Decimal (PostgreSQL numeric) and as None over no rows."""
    return 0.0 if number is None else float(number)


@dataclass(frozen=True)
class Ratio:
    """numerator ÷ denominator; `value` is None when the denominator is 0 (a dashboard shows "—")."""

    value: float | None
    numerator: float
    denominator: float

    @classmethod
    def of(cls, numerator: float | int | Decimal | None, denominator: float | int | Decimal | None) -> Ratio:
        num, den = as_float(numerator), as_float(denominator)
        return cls(num / den if den else None, num, den)


@dataclass(frozen=True)
class Count:
    """A count of events in the window, and the same per week of window (None for an empty window)."""

    value: int
    per_week: float | None

    @classmethod
    def of(cls, count: int | None, window_days: float) -> Count:
        n = int(count or 0)
        return cls(n, n / (window_days / 7) if window_days > 0 else None)


@dataclass(frozen=True)
class Duration:
    """A typical duration in seconds (a median or a mean) over `count` records; None over no records."""

    value: float | None
    count: int
