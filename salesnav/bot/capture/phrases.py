"""Read a rep's free text: summary, next action and its due time ("下一步：下周二送样").

Dates are understood in the business time zone (Asia/Shanghai by default); a day without a
time means the end of the working day, 18:00 there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DUE_TIME = time(18, 0)
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
RELATIVE_DAYS = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}

_WEEK = r"(?:周|星期|礼拜)"
_DATE_PATTERNS = [
    ("relative", re.compile(r"大后天|后天|明天|明日|今天|今日")),
    ("next_week", re.compile(rf"下(?:个)?{_WEEK}([一二三四五六日天末])")),
    ("this_week", re.compile(rf"(?:本|这)?{_WEEK}([一二三四五六日天末])")),
    ("in_days", re.compile(r"([0-9]+|[一二两三四五六七八九十])天(?:后|内|之内)")),
    ("month_day", re.compile(r"([0-9]{1,2})月([0-9]{1,2})[日号]?")),
]
_NEXT_STEP = re.compile(r"下一步(?:计划|动作)?\s*[:：,，]?\s*")
_CLAUSE_SPLIT = re.compile(r"[，,。；;！!？?\n]")


@dataclass(frozen=True)
class NextStep:
    summary: str
    action: str | None
    due: datetime | None  # aware, UTC


def parse_due(text: str, now: datetime, tz: ZoneInfo) -> tuple[datetime | None, str]:
    """The first date phrase in `text` as an aware UTC datetime, and the text without it."""
    today = now.astimezone(tz).date()
    for kind, pattern in _DATE_PATTERNS:
        match = pattern.search(text)
        if not match:
            continue
        day = _resolve(kind, match, today)
        if day is None:
            continue
        end = match.end()
        for suffix in ("之前", "以前", "前"):  # "周五前报价": the deadline word belongs to the date
            if text.startswith(suffix, end):
                end += len(suffix)
                break
        rest = (text[: match.start()] + text[end:]).strip(" ：:，,")
        return datetime.combine(day, DUE_TIME, tz).astimezone(UTC), rest
    return None, text


def split_next_step(text: str, now: datetime, tz: ZoneInfo) -> NextStep:
    """Summary and next action from one message.

    "下一步…" marks the action explicitly; otherwise the clause holding a date phrase is the action.
    Without either there is no next action and the whole text is the summary.
    """
    text = (text or "").strip()
    marker = _NEXT_STEP.search(text)
    if marker:
        action_text = text[marker.end() :].strip()
        summary = text[: marker.start()].strip(" ，,。；;")
        due, action = parse_due(action_text, now, tz)
        return NextStep(summary or text, action or action_text or None, due)
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(text) if c.strip()]
    for clause in clauses:
        due, action = parse_due(clause, now, tz)
        if due is not None:
            return NextStep(text, action or clause, due)
    return NextStep(text, None, None)


def _resolve(kind: str, match: re.Match[str], today: date) -> date | None:
    if kind == "relative":
        return today + timedelta(days=RELATIVE_DAYS[match.group(0)])
    if kind == "next_week":
        monday_next = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return monday_next + timedelta(days=WEEKDAYS[match.group(1)])
    if kind == "this_week":
        # "周五" on a Saturday means the coming Friday, never a day already past.
        target = today - timedelta(days=today.weekday()) + timedelta(days=WEEKDAYS[match.group(1)])
        return target if target >= today else target + timedelta(days=7)
    if kind == "in_days":
        raw = match.group(1)
        days = int(raw) if raw.isdigit() else CN_DIGITS[raw]
        return today + timedelta(days=days)
    if kind == "month_day":
        month, day = int(match.group(1)), int(match.group(2))
        for year in (today.year, today.year + 1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                return None
            if candidate >= today:
                return candidate
    return None
