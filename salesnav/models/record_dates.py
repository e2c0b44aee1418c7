"""The years a sales record can be dated in. Outside them a date is a typo or an attack: year 1 or 9999
cannot even be moved between time zones, and the week around 9999-12-31 has no end."""

from __future__ import annotations

from datetime import UTC, date, datetime

EARLIEST_YEAR, LATEST_YEAR = 2000, 2099
TIME_OUT_OF_RANGE = f"时间超出合理范围（须在 {EARLIEST_YEAR}–{LATEST_YEAR} 年之间）"
DAY_OUT_OF_RANGE = f"日期超出合理范围（须在 {EARLIEST_YEAR}–{LATEST_YEAR} 年之间）"


def day_in_range(day: date) -> bool:
    return EARLIEST_YEAR <= day.year <= LATEST_YEAR


def time_in_range(moment: datetime) -> bool:
    """An aware time whose UTC instant falls within the record years."""
    try:
        in_utc = moment.astimezone(UTC)  # "0001-01-01T00:00+08:00" has no UTC equivalent
    except OverflowError:
        return False
    return EARLIEST_YEAR <= in_utc.year <= LATEST_YEAR
