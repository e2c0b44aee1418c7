"""A touchpoint draft from what a rep said: summary, next action and its due time, a mood guess.

Plain rules over the transcript, no model: reps say the next step in a handful of ways ("下一步…",
"下周二送样", "明天下午三点回电", "3月5日前报价"). Everything filled here is a guess the rep confirms
or corrects in the form, and `guessed_fields` says which ones to look at.

Times without a clock time default to 18:00 (due by the end of that working day); a bare hour from 1 to
6 with no 上午/下午 is read as afternoon, since nobody schedules a customer call at 3 a.m.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from salesnav.cn_dates import CN_DIGITS, WEEKDAYS, cn_number

SUMMARY_MAX = 200
DEFAULT_DUE_TIME = time(18, 0)

_CN_NUM = CN_DIGITS
_NUM = rf"(?:\d{{1,2}}|[{_CN_NUM}]{{1,3}})"

_NEXT_STEP = re.compile(r"(?:下一步|下步|接下来|后续)(?:是|要|就|打算|计划)?[:：,，]?\s*([^。；;！!？?\n]+)")
_CLAUSE_SPLIT = re.compile(r"[。；;！!？?\n,，]")
_ACTION_VERBS = re.compile(
    r"送样|寄样|回电|回访|电话|报价|拜访|见面|约|跟进|发(?:送|给|一份|资料|方案|合同)?|签|演示|培训|"
    r"提交|确认|安排|汇报|走访|复诊|开会|会议|上门|交付|对接|催|申请|准备|联系"
)

_WEEK = re.compile(r"(下下|下个?|这个?|本)?(?:周|星期|礼拜)([一二三四五六日天末1-7])")
_NEXT_WEEK_ONLY = re.compile(r"下(?:个)?(?:周|星期|礼拜)(?![一二三四五六日天末1-7])")
_MONTH_DAY = re.compile(rf"({_NUM})\s*月\s*({_NUM})\s*[日号]?")
_NEXT_MONTH_DAY = re.compile(rf"下个?月\s*({_NUM})\s*[日号]")
_DAY_ONLY = re.compile(rf"(?<![月\d{_CN_NUM}])({_NUM})\s*[日号]")
_IN_DAYS = re.compile(rf"({_NUM})\s*(?:天|日)\s*(?:后|以后|之后|内|以内|之内)")
_RELATIVE_DAY = re.compile(r"大后天|后天|明天|明日|明早|明晚|今天|今日|今晚|今早")
_MONTH_END = re.compile(r"(下个?月)?(?:月底|月末)")
_CLOCK = re.compile(
    rf"(凌晨|早上|早晨|上午|中午|下午|傍晚|晚上)?\s*({_NUM})\s*[点时:：]\s*(半|一刻|三刻|({_NUM})\s*分?)?"
)
_PERIOD_ONLY = re.compile(r"(上午|中午|下午|晚上)")

_RELATIVE_OFFSETS = {
    "今天": 0, "今日": 0, "今晚": 0, "今早": 0,
    "明天": 1, "明日": 1, "明早": 1, "明晚": 1,
    "后天": 2, "大后天": 3,
}  # fmt: skip

_NEGATIVE = (
    "不感兴趣", "没兴趣", "没有兴趣", "不需要", "不考虑", "不同意", "不满意", "不认可", "不合作", "拒绝",
    "反感", "抵触", "排斥", "太贵", "嫌贵", "投诉", "推脱", "敷衍", "不耐烦", "没时间见", "冷淡", "不想",
)  # fmt: skip
_POSITIVE = (
    "感兴趣", "有兴趣", "很满意", "满意", "认可", "愿意", "同意", "有意向", "积极", "支持", "爽快",
    "很好", "不错", "想试试", "要试用", "尽快", "热情", "肯定", "赞同", "好评",
)  # fmt: skip
_NEUTRAL = ("一般", "还行", "再看看", "考虑一下", "再考虑", "再说", "观望", "犹豫")


@dataclass
class TouchpointDraft:
    summary: str
    next_action: str | None = None
    next_action_due: datetime | None = None  # aware, in the business time zone
    emotion: str | None = None  # "积极" / "中性" / "抵触", or None when nothing hints at it
    guessed_fields: list[str] = field(default_factory=list)


def _due_date(clause: str, today: date) -> tuple[date | None, int]:
    """The date a clause names and where it was found (-1 when none)."""
    if match := _WEEK.search(clause):
        prefix, day = match.group(1) or "", WEEKDAYS[match.group(2)]
        monday = today - timedelta(days=today.weekday())
        if prefix.startswith("下下"):
            return monday + timedelta(weeks=2, days=day), match.start()
        if prefix.startswith("下"):
            return monday + timedelta(weeks=1, days=day), match.start()
        target = monday + timedelta(days=day)
        if not prefix and target < today:  # a bare 周二 already past means the coming one
            target += timedelta(weeks=1)
        return target, match.start()
    if match := _NEXT_WEEK_ONLY.search(clause):
        return today - timedelta(days=today.weekday()) + timedelta(weeks=1), match.start()
    if match := _RELATIVE_DAY.search(clause):
        return today + timedelta(days=_RELATIVE_OFFSETS[match.group(0)]), match.start()
    if match := _IN_DAYS.search(clause):
        days = cn_number(match.group(1))
        if days is not None:
            return today + timedelta(days=days), match.start()
    if match := _NEXT_MONTH_DAY.search(clause):
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        day = cn_number(match.group(1))
        if day and day <= monthrange(year, month)[1]:
            return date(year, month, day), match.start()
    if match := _MONTH_DAY.search(clause):
        month, day = cn_number(match.group(1)), cn_number(match.group(2))
        if month and day and 1 <= month <= 12 and 1 <= day <= monthrange(today.year, month)[1]:
            target = date(today.year, month, day)
            if target < today - timedelta(days=31):  # "1月10日" said in December is next January
                target = date(today.year + 1, month, min(day, monthrange(today.year + 1, month)[1]))
            return target, match.start()
    if match := _MONTH_END.search(clause):
        year, month = today.year, today.month
        if match.group(1):
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return date(year, month, monthrange(year, month)[1]), match.start()
    if match := _DAY_ONLY.search(clause):
        day = cn_number(match.group(1))
        if day and 1 <= day <= 31:
            year, month = today.year, today.month
            if day < today.day:  # "5号" said on the 20th is next month's 5th
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            if day <= monthrange(year, month)[1]:
                return date(year, month, day), match.start()
    return None, -1


def _due_time(clause: str) -> time | None:
    if match := _CLOCK.search(clause):
        hour = cn_number(match.group(2))
        if hour is None or hour > 24:
            return None
        minute = 0
        if match.group(3) == "半":
            minute = 30
        elif match.group(3) == "一刻":
            minute = 15
        elif match.group(3) == "三刻":
            minute = 45
        elif match.group(4):
            minute = cn_number(match.group(4)) or 0
        period = match.group(1)
        if period in ("下午", "傍晚", "晚上") and hour < 12:
            hour += 12
        elif period == "中午" and hour < 6:
            hour += 12
        elif period is None and 1 <= hour <= 6:
            hour += 12
        if hour == 24:
            hour = 0
        if minute > 59:
            return None
        return time(hour, minute)
    if match := _PERIOD_ONLY.search(clause):
        return {"上午": time(10, 0), "中午": time(12, 0), "下午": time(15, 0), "晚上": time(19, 0)}[match.group(1)]
    return None


def _emotion(text: str) -> str | None:
    negatives = sum(text.count(word) for word in _NEGATIVE)
    rest = text
    for word in _NEGATIVE:  # "不感兴趣" must not also count as "感兴趣"
        rest = rest.replace(word, "")
    positives = sum(rest.count(word) for word in _POSITIVE)
    neutral = any(word in text for word in _NEUTRAL)
    if positives > negatives:
        return "积极"
    if negatives > positives:
        return "抵触"
    if positives or neutral:
        return "中性"
    return None


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ，,。；;")


def due_from(clause: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The deadline a clause names ("下周二", "明天下午三点", "3月5日前"), aware in `tz`; a day without a
    time is due at the end of the working day, a time without a day is the next such moment."""
    today = now.astimezone(tz).date()
    day, _ = _due_date(clause, today)
    at = _due_time(clause)
    if day is None and at is not None:
        day = today if datetime.combine(today, at, tz) > now.astimezone(tz) else today + timedelta(days=1)
    return None if day is None else datetime.combine(day, at or DEFAULT_DUE_TIME, tzinfo=tz)


_WHEN_PATTERNS = (_WEEK, _NEXT_WEEK_ONLY, _RELATIVE_DAY, _IN_DAYS, _NEXT_MONTH_DAY, _MONTH_DAY, _MONTH_END, _DAY_ONLY)


def strip_when(clause: str) -> str:
    """The clause without its date and clock phrases ("下周二前送样" → "送样"), for showing the action alone."""
    for pattern in _WHEN_PATTERNS:
        if match := pattern.search(clause):
            end = match.end()
            for suffix in ("之前", "以前", "前"):  # "周五前报价": the deadline word belongs to the date
                if clause.startswith(suffix, end):
                    end += len(suffix)
                    break
            clause = clause[: match.start()] + clause[end:]
            break
    for pattern in (_CLOCK, _PERIOD_ONLY):
        if match := pattern.search(clause):
            clause = clause[: match.start()] + clause[match.end() :]
            break
    return clause.strip(" ：:，,")


def draft_from_transcript(text: str, now: datetime, tz: ZoneInfo) -> TouchpointDraft:
    """Guess a touchpoint draft from a transcript; `now` is the moment the rep spoke (any tz)."""
    text = _clean(text)
    today = now.astimezone(tz).date()
    guessed: list[str] = []

    next_action: str | None = None
    if match := _NEXT_STEP.search(text):
        next_action = _clean(match.group(1))
    else:
        for clause in _CLAUSE_SPLIT.split(text):
            if _ACTION_VERBS.search(clause) and (_due_date(clause, today)[0] is not None or _due_time(clause)):
                next_action = _clean(clause)
                break

    due: datetime | None = None
    if next_action:
        guessed.append("next_action")
        due = due_from(next_action, now, tz)
        if due is not None:
            guessed.append("next_action_due")

    emotion = _emotion(text)
    if emotion is not None:
        guessed.append("emotion")

    summary = text
    if len(summary) > SUMMARY_MAX:
        summary = summary[: SUMMARY_MAX - 1] + "…"
    return TouchpointDraft(
        summary=summary, next_action=next_action, next_action_due=due, emotion=emotion, guessed_fields=guessed
    )
