"""Working days: China's statutory holidays and adjusted working days (调休), for the battle pack and for rules
that count working days only (salesnav/handlers/working_time.py).

chinese-calendar knows each year once the State Council publishes it (usually in November for the
next year). For a year it does not know yet we fall back to Monday–Friday and log it once, so a
pack is never silently skipped for a whole year.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import cache

import chinese_calendar

log = logging.getLogger(__name__)

HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def is_working_day(day: date, *, chinese: bool = True) -> bool:
    if not chinese:
        return day.weekday() < 5
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_unknown_year(day.year)
        return day.weekday() < 5


def describe_day(day: date, *, chinese: bool = True) -> str:
    """「2026-10-01 国庆节」/「2026-10-10 调休上班」/「2026-03-07 周末」/「2026-03-02 工作日」."""
    working = is_working_day(day, chinese=chinese)
    name = None
    if chinese:
        try:
            _on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            name = None
    if working:
        kind = "调休上班" if day.weekday() >= 5 else "工作日"
    elif name:
        kind = HOLIDAY_NAMES.get(name, name)
    else:
        kind = "周末"
    return f"{day.isoformat()} {kind}"


@cache
def _warn_unknown_year(year: int) -> None:
    log.warning("chinese-calendar has no holidays for %s; using Monday–Friday (upgrade chinesecalendar)", year)
