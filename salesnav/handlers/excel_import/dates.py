"""Dates as people put them in sheets: Excel serials, 2024-03-05, 2024.3.5, 24/3/5, 3月5日, 昨天, 上周三.

Relative dates resolve against a reference day (the file's save date, else the import date), in the
business time zone; a day becomes a moment at 09:00 local time, never later than now.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

EXCEL_EPOCH = date(1899, 12, 30)  # Excel's 1900 date system, counting its phantom 29 Feb 1900
SERIAL_RANGE = (20000, 80000)  # 1954 … 2119: a number in a date column outside this is not a date
DAY_TIME = time(9, 0)
_WEEKDAYS = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "5": 4,
    "6": 5,
    "7": 6,
}
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2, "大前天": 3}

# One pattern per spelling; every one is named so a remark can be split where a date starts.
DATE_PATTERN = re.compile(
    r"(?P<ymd>(?P<y>(?:19|20)\d{2})\s*[-./年]\s*(?P<m>\d{1,2})\s*[-./月]\s*(?P<d>\d{1,2})\s*[日号]?)"
    r"|(?P<short>(?<!\d)(?P<sy>\d{2})/(?P<sm>\d{1,2})/(?P<sd>\d{1,2})(?!\d))"
    r"|(?P<md>(?<!\d)(?P<mm>\d{1,2})\s*月\s*(?P<md_d>\d{1,2})\s*[日号]?)"
    r"|(?P<rel>大前天|前天|昨天|昨日|今天|今日)"
    r"|(?P<week>(?P<wprefix>上上|上|本|这)?(?:个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7]))"
    r"|(?P<ago>(?P<n>\d{1,3})\s*天前)"
)


def from_serial(value: float) -> date | None:
    if not SERIAL_RANGE[0] <= value <= SERIAL_RANGE[1]:
        return None
    return EXCEL_EPOCH + timedelta(days=int(value))


def _safe(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def resolve(match: re.Match[str], reference: date) -> date | None:
    """The day a DATE_PATTERN match names, relative to `reference`."""
    g = match.groupdict()
    if g["ymd"]:
        return _safe(int(g["y"]), int(g["m"]), int(g["d"]))
    if g["short"]:
        return _safe(2000 + int(g["sy"]), int(g["sm"]), int(g["sd"]))
    if g["md"]:
        day = _safe(reference.year, int(g["mm"]), int(g["md_d"]))
        if day and day > reference:  # "12月28日" written in January means last December
            day = _safe(reference.year - 1, int(g["mm"]), int(g["md_d"]))
        return day
    if g["rel"]:
        return reference - timedelta(days=_RELATIVE_DAYS[g["rel"]])
    if g["week"]:
        weekday = _WEEKDAYS[g["wd"]]
        monday = reference - timedelta(days=reference.weekday())
        prefix = g["wprefix"] or ""
        if prefix == "上":
            return monday - timedelta(weeks=1) + timedelta(days=weekday)
        if prefix == "上上":
            return monday - timedelta(weeks=2) + timedelta(days=weekday)
        day = monday + timedelta(days=weekday)
        # "周三" alone is the latest Wednesday not after the reference day.
        return day if prefix or day <= reference else day - timedelta(weeks=1)
    if g["ago"]:
        return reference - timedelta(days=int(g["n"]))
    return None


def parse_date(value: Any, reference: date, *, serials: bool = False) -> date | None:
    """The day a cell means, or None. Numbers count as Excel serials only when `serials` (a date column)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        return from_serial(float(value)) if serials else None
    text = str(value).strip()
    if not text:
        return None
    if serials and re.fullmatch(r"\d{5}(\.\d+)?", text):
        return from_serial(float(text))
    match = DATE_PATTERN.search(text)
    if match is None or match.start() > 2:
        return None
    return resolve(match, reference)


def at_business_day(day: date, tz: tzinfo, now: datetime) -> datetime:
    """09:00 business time on `day`, in UTC; a day that is today but not yet 09:00 becomes now."""
    moment = datetime.combine(day, DAY_TIME, tzinfo=tz).astimezone(UTC)
    return min(moment, now)


def reference_day(file_date: datetime | None, now: datetime, tz: tzinfo) -> date:
    """Relative dates (上周三) mean relative to when the sheet was last saved, if known and not in the future."""
    moment = file_date if file_date and file_date <= now else now
    return moment.astimezone(tz).date()
