"""Chinese dates, numerals and amounts as people write them — the one module for all of it.

Used by the Excel import (dates in sheets and remark cells: Excel serials, 2025-09-18, 2025/9/18, 2025.9.18,
20250918, 9/3/2025, 25/9/18, 9月3日, 九月三日, 9.10, 10/27, 28号 after a dated entry, 昨天, 上周三, 3天前), by the
voice and chat drafts (下周二, 十五号: the weekday table and the numerals) and by the invoice reader (capital
amounts, 壹万零伍拾). Numerals and amounts in words (十五, 壹拾万元整) go through cn2an.

A date written without its year is kept as a `DayMention` with `year=None`; `infer_years` then gives each
one the year its surroundings say (the other dates of the cell, the sheet's title, the rows above, the file's
date), never after the file's date and never out of order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from itertools import pairwise
from typing import Any

# The weekday each word names (周三, 星期天, 礼拜日, 周末 = Saturday), Monday = 0.
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
WEEKDAYS.update({str(i + 1): i for i in range(7)})
# The characters of everyday numerals up to 99 (dates, hours, counts of days).
CN_NUMERALS = "零〇一二两三四五六七八九十"
# The capital numerals (大写) of amounts on invoices and contracts.
CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
CAPITAL_UNITS = "拾佰仟万亿"
_SPOKEN = str.maketrans({"两": "二", "〇": "零"})
_CN_NUMBER = re.compile(rf"[{CN_NUMERALS}]{{1,3}}")


def cn_number(token: str) -> int | None:
    """ "15" → 15, "十五" → 15, "二十三" → 23, "两" → 2, "三十" → 30; None when it is not a small number."""
    token = token.strip()
    if token.isdigit():
        return int(token)
    if not _CN_NUMBER.fullmatch(token):
        return None
    value = _cn2an(token.replace("〇", "零"))
    return int(value) if value is not None and value.is_integer() else None


def cn_integer(text: str) -> int | None:
    """A whole number in Chinese numerals, everyday (二十三) or capital (壹万零伍拾); None when it is none.
    cn2an's strict mode: 「二二」 or 「十十」 is no number rather than a guess."""
    if not text:
        return None
    import cn2an  # on first use, as below

    try:
        value = cn2an.cn2an(text.translate(_SPOKEN), "strict")
    except (ValueError, KeyError):
        return None
    return int(value)


def monday_of(day: date) -> date:
    """The Monday of `day`'s week (a Chinese week starts on Monday)."""
    return day - timedelta(days=day.weekday())


@lru_cache(maxsize=4096)
def _cn2an(words: str) -> float | None:
    """cn2an's reading of a numeral in words, or None. Imported on first use: cn2an takes about a second to load."""
    import cn2an  # cn2an takes about a second to load; loaded on first use

    try:
        return float(cn2an.cn2an(words, "normal"))
    except (ValueError, KeyError):
        return None


# --- amounts ---------------------------------------------------------------------------------------------

_CN_AMOUNT_CHARS = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟萬億"
_AMOUNT = re.compile(
    r"(?P<n>\d+(?:\.\d+)?)\s*(?P<u>亿元|亿|万元|万|w|W|千元|千|k|K|元|块)"
    rf"|(?P<cn>[{_CN_AMOUNT_CHARS}]{{2,}})\s*(?:元整|元|圆整|圆|块)?"
)
_BARE = re.compile(r"\s*[¥￥]?\s*(\d+(?:\.\d+)?)\s*(?:元|元整|块|RMB|rmb|CNY)?\s*")
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3})")  # 1,500,000
_FACTORS = {"亿元": 10**8, "亿": 10**8, "万元": 10**4, "万": 10**4, "w": 10**4, "W": 10**4}
_FACTORS.update({"千元": 1000, "千": 1000, "k": 1000, "K": 1000, "元": 1, "块": 1})


def amount_fen(value: Any, *, bare_yuan: bool = True) -> int | None:
    """An amount in fen from a cell or a phrase: 58万, 1,500,000, 150万元, 1.2亿, 壹拾万元整, ¥80,000.

    A bare number is yuan when `bare_yuan` (an amount column); in free text only a number with its unit
    counts. None when nothing in it reads as a positive amount (the caller says so to the user)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return round(float(value) * 100) if value > 0 else None
    text = _THOUSANDS.sub("", str(value)).strip()
    if not text:
        return None
    if bare_yuan and (bare := _BARE.fullmatch(text)):
        fen = round(float(bare.group(1)) * 100)
        return fen if fen > 0 else None
    for match in _AMOUNT.finditer(text):
        if match.group("n"):
            fen = round(float(match.group("n")) * _FACTORS[match.group("u")] * 100)
        else:
            words = match.group("cn").replace("〇", "零").replace("萬", "万").replace("億", "亿")
            if not any(c in words for c in "十百千万亿拾佰仟") or not (bare_yuan or words.endswith(("万", "亿"))):
                continue  # 一二 is no amount; in free text only 十万 / 五十万 and the like
            value = _cn2an(words)
            if value is None:
                continue
            fen = round(value * 100)
        if fen > 0:
            return fen
    return None


# --- dates -------------------------------------------------------------------------------------------------

EXCEL_EPOCH = date(1899, 12, 30)  # Excel's 1900 date system, counting its phantom 29 Feb 1900
SERIAL_RANGE = (20000, 80000)  # 1954 … 2119: a number in a date column outside this is not a date
DAY_TIME = time(9, 0)
_RELATIVE_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2, "大前天": 3}
_PART_DAY = {"中旬": 15, "下旬": 21, "底": 28, "末": 28}  # 份, 初, 上旬 and a bare month: its first day
_MONTHS_BACK = {"上上个月": 2, "上上月": 2, "上个月": 1, "上月": 1, "本月": 0, "这个月": 0, "这月": 0}
_N = rf"(?:\d{{1,2}}|[{CN_NUMERALS}]{{1,3}})"
# What follows a number that is a quantity, not a day: 9.5万, 3.5折, 1.5T (a scanner), 2.3版, 9.10%.
_NOT_A_DAY = (
    r"(?!\s*(?:万|千|元|块|w|W|k|K|%|‰|个|台|套|件|人|次|倍|亿|折|月|年|版|寸|米|厘米|毫米|公斤|斤|克|吨|升|度"
    r"|级|期|楼|层|床|岁|小时|分钟|分(?!别)|公里|瓶|盒|支|箱|排|页|条))(?![A-Za-z])"
)
_DAY_MARK = r"(?:\s*[日号](?![楼床线院机位房]))?"  # 9.10号, 2025/9/18日: the mark is part of the date

# One named alternative per spelling, so a remark can be split where a date starts.
DATE_PATTERN = re.compile(
    r"(?P<ymd>(?:(?<!\d)(?P<y>(?:19|20)\d{2})\s*[-./年]|(?<![\d./])(?P<y2>\d{2})\s*年)"
    rf"\s*(?P<m>\d{{1,2}})\s*[-./月]\s*(?P<d>\d{{1,2}})(?![\d./]){_DAY_MARK})"
    r"|(?P<compact>(?<!\d)(?P<cy>(?:19|20)\d{2})(?P<cm>0[1-9]|1[0-2])(?P<cd>0[1-9]|[12]\d|3[01])(?!\d))"
    rf"|(?P<mdy>(?<![\d./])(?P<xm>\d{{1,2}})\s*(?P<xs>[/.])\s*(?P<xd>\d{{1,2}})\s*(?P=xs)\s*(?P<xy>(?:19|20)\d{{2}})(?![\d./]){_DAY_MARK})"
    r"|(?P<short>(?<![\d./])(?P<sy>\d{2})/(?P<sm>\d{1,2})/(?P<sd>\d{1,2})(?![\d/]))"
    rf"|(?P<md>(?<![\d{CN_NUMERALS}])(?P<mm>{_N})\s*月\s*(?P<md_d>{_N})\s*[日号]?)"
    rf"|(?P<mon>(?:(?<!\d)(?P<mon_y>(?:19|20)\d{{2}})\s*年\s*)?(?<![\d{CN_NUMERALS}])(?P<mon_m>{_N})\s*月\s*"
    r"(?P<mon_p>份|初|上旬|中旬|下旬|底|末|(?=\s|[，,；;。]|$)))"
    rf"|(?P<dot>(?<![\d./A-Za-z])(?P<dm>\d{{1,2}})[./](?P<dd>\d{{1,2}})(?![\d./]){_NOT_A_DAY}{_DAY_MARK})"
    r"|(?P<rel>大前天|前天|昨天|昨日|今天|今日)"
    rf"|(?P<mrel>(?P<mr>上上个?月|上个?月|本月|这个?月)(?:\s*(?P<mr_d>{_N})\s*[日号])?)"
    r"|(?P<week>(?P<wprefix>上上|上|本|这)?(?:个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7]))"
    r"|(?P<wrel>(?P<wr>上上|上)(?:个)?(?:周|星期|礼拜))"
    r"|(?P<ago>(?P<n>\d{1,3}|[一二两三四五六七八九十]{1,3}|半)\s*(?P<unit>天|周|个星期|个礼拜|星期|个月)\s*(?:之|以)?前)"
)
# A day of the month alone (「15号 电话」): its month comes from the entry before it in the cell (`day_alone`).
# Not 3号楼, 2号床, 1号线, 5号院, 2号机, 号码.
DAY_ALONE = re.compile(rf"(?<![\d{CN_NUMERALS}月])(?P<d>{_N})\s*号(?![楼床线院机位房码称召])")
_TITLE_YEAR = re.compile(r"((?:19|20)\d{2})\s*年?\s*(上半年|下半年|[第]?[一二三四1-4]\s*季度|Q[1-4])?")
_SERIAL_TEXT = re.compile(r"\d{5}(\.\d+)?")


@dataclass(frozen=True)
class DayMention:
    """A date as written: a whole day, or a month and day whose year is still to be inferred (year None).
    `approx`: the words name only a month or a week (上个月, 上周, 9月份, 9月中旬, 2025年9月): the day is a guess
    (its first; 中旬 the 15th, 下旬 the 21st, 底 the 28th)."""

    year: int | None
    month: int
    day: int
    approx: bool = False
    month_guessed: bool = False  # 「15号」 alone, first in its cell: the month is the file date's (or the one before)

    def on(self, year: int) -> date | None:
        return _safe(year, self.month, self.day)

    @property
    def full(self) -> date | None:
        return self.on(self.year) if self.year else None

    def __str__(self) -> str:
        """As a person reads it: 2025年9月18日, 9月3日."""
        return f"{self.year}年{self.month}月{self.day}日" if self.year else f"{self.month}月{self.day}日"


def from_serial(value: float) -> date | None:
    if not SERIAL_RANGE[0] <= value <= SERIAL_RANGE[1]:
        return None
    return EXCEL_EPOCH + timedelta(days=int(value))


def _safe(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def mention(match: re.Match[str], reference: date) -> DayMention | None:
    """What a DATE_PATTERN match names: a full day (relative words resolve against `reference`), or a month
    and day without a year. None when it is no real day (13/45)."""
    g = match.groupdict()
    found: DayMention | None = None
    if g["ymd"]:
        year = int(g["y"]) if g["y"] else 2000 + int(g["y2"])
        found = DayMention(year, int(g["m"]), int(g["d"]))
    elif g["compact"]:  # 20250918, as exported by some systems
        found = DayMention(int(g["cy"]), int(g["cm"]), int(g["cd"]))
    elif g["mdy"]:  # 9/3/2025: month first, as a Chinese date is read, the year last
        found = DayMention(int(g["xy"]), int(g["xm"]), int(g["xd"]))
    elif g["short"]:
        found = DayMention(2000 + int(g["sy"]), int(g["sm"]), int(g["sd"]))
    elif g["md"]:
        month, day = cn_number(g["mm"]), cn_number(g["md_d"])
        if month is None or day is None:
            return None
        found = DayMention(None, month, day)
    elif g["dot"]:
        found = DayMention(None, int(g["dm"]), int(g["dd"]))
    elif g["mon"]:  # 2025年9月, 9月份, 9月中旬, 9月底: only the month (and part) is known
        month = cn_number(g["mon_m"])
        if month is None or not 1 <= month <= 12:
            return None
        day = _PART_DAY.get(g["mon_p"], 1)
        return DayMention(int(g["mon_y"]) if g["mon_y"] else None, month, day, approx=True)
    elif g["mrel"]:
        return _month_relative(g, reference)
    elif g["ago"]:
        return _ago(g, reference)
    elif g["wrel"]:
        monday = monday_of(reference) - timedelta(weeks=2 if g["wr"] == "上上" else 1)
        return DayMention(monday.year, monday.month, monday.day, approx=True)
    else:
        relative = _relative(g, reference)
        return DayMention(relative.year, relative.month, relative.day) if relative else None
    probe = found.on(found.year or 2000)  # 2000: a leap year, so 2月29日 stays possible
    return found if probe else None


def day_alone(match: re.Match[str], before: DayMention | None, reference: date) -> DayMention | None:
    """「15号」 written after 「11.3 …」 in one cell: the 15th of that month, or of the next when 15 comes before
    the day above (「11.28 …；3号 …」 is 12月3日). With nothing above, the latest such day of a month not after
    `reference`, marked approximate: the month is a guess."""
    day = cn_number(match.group("d"))
    if day is None or not 1 <= day <= 31:
        return None
    if before is not None:
        month, year = before.month, before.year
        if day < before.day:
            month, year = month % 12 + 1, (year + 1 if year and month == 12 else year)
        guessed = before.month_guessed  # a month guessed above stays a guess here
        found = DayMention(year, month, day, approx=guessed, month_guessed=guessed)
        return found if found.on(found.year or 2000) else None
    index = reference.year * 12 + reference.month - 1
    for back in range(3):  # the 31st waits for a month that has one
        year, month = divmod(index - back, 12)
        if (candidate := _safe(year, month + 1, day)) and candidate <= reference:
            return DayMention(None, month + 1, day, approx=True, month_guessed=True)
    return None


def _month_relative(g: dict[str, Any], reference: date) -> DayMention | None:
    """上个月15号 → that day of the month before `reference`; 上个月 alone → its first day, approximately;
    本月3日 → that day of this month, if not after `reference`."""
    back = _MONTHS_BACK[g["mr"]]
    month_index = reference.year * 12 + reference.month - 1 - back
    year, month = divmod(month_index, 12)
    if not g["mr_d"]:  # 本月 alone is no day in the past (「本月底前签约」 is a plan)
        return DayMention(year, month + 1, 1, approx=True) if back else None
    day = cn_number(g["mr_d"])
    found = DayMention(year, month + 1, day) if day else None
    return found if found and found.full and found.full <= reference else None


def _ago(g: dict[str, Any], reference: date) -> DayMention | None:
    """3天前 → that day; 两周前, 半个月前, 2个月前 → about then (approx)."""
    n = 0.5 if g["n"] == "半" else cn_number(g["n"])
    if n is None:
        return None
    unit = g["unit"]
    if unit == "天":
        day = reference - timedelta(days=int(n))
    elif unit == "个月" and n != 0.5:
        index = reference.year * 12 + reference.month - 1 - int(n)
        day = _safe(index // 12, index % 12 + 1, min(reference.day, 28)) or reference
    else:  # weeks, or half a month
        day = reference - timedelta(days=15 if unit == "个月" else round(7 * n))
    return DayMention(day.year, day.month, day.day, approx=unit != "天")


def _relative(g: dict[str, Any], reference: date) -> date | None:
    if g["rel"]:
        return reference - timedelta(days=_RELATIVE_DAYS[g["rel"]])
    if g["week"]:
        weekday = WEEKDAYS[g["wd"]]
        monday = monday_of(reference)
        prefix = g["wprefix"] or ""
        if prefix == "上":
            return monday - timedelta(weeks=1) + timedelta(days=weekday)
        if prefix == "上上":
            return monday - timedelta(weeks=2) + timedelta(days=weekday)
        day = monday + timedelta(days=weekday)
        # "周三" alone is the latest Wednesday not after the reference day.
        return day if prefix or day <= reference else day - timedelta(weeks=1)
    return None


def resolve(match: re.Match[str], reference: date) -> date | None:
    """The day a DATE_PATTERN match names on its own: a month-day takes the latest year not after `reference`."""
    found = mention(match, reference)
    if found is None:
        return None
    return found.full or latest_on_or_before(found, reference)


def latest_on_or_before(found: DayMention, limit: date) -> date | None:
    for year in (limit.year, limit.year - 1, limit.year - 2, limit.year - 3, limit.year - 4):
        day = found.on(year)  # 2月29日 waits up to four years for its leap year
        if day and day <= limit:
            return day
    return None


def first_on_or_after(found: DayMention, start: date, limit: date) -> date | None:
    """The first such day not before `start` and not after `limit`."""
    for year in range(start.year, limit.year + 1):
        day = found.on(year)
        if day and start <= day <= limit:
            return day
    return None


def nearest(found: DayMention, around: date, limit: date) -> date | None:
    """The such day closest to `around` (within a year either side), not after `limit`."""
    days = [d for y in (around.year - 1, around.year, around.year + 1) if (d := found.on(y)) and d <= limit]
    best = min(days, key=lambda d: abs((d - around).days), default=None)
    return best if best is not None and abs((best - around).days) <= 183 else None


@dataclass(frozen=True)
class YearHint:
    """Where a sheet's dates without a year are: its title's year (and half or quarter), else the rows above."""

    year: int | None = None
    months: tuple[int, int] = (1, 12)

    def place(self, found: DayMention, limit: date) -> date | None:
        if self.year is None:
            return None
        day = found.on(self.year)
        if day is None or day > limit:
            return None
        if not self.months[0] <= found.month <= self.months[1]:  # 2月 in 「2025年下半年」: the year after
            later = found.on(self.year + 1)
            return later if later and later <= limit and found.month < self.months[0] else day
        return day


def title_hint(texts: list[str]) -> YearHint:
    """The period a sheet's title (or name) names: 「2025年下半年客户跟进表」 → 2025, July to December."""
    for text in texts:
        match = _TITLE_YEAR.search(text or "")
        if not match:
            continue
        year, part = int(match.group(1)), (match.group(2) or "").replace("第", "").replace(" ", "")
        months = (1, 12)
        if part == "上半年":
            months = (1, 6)
        elif part == "下半年":
            months = (7, 12)
        elif part:
            quarter = "一二三四".find(part[0]) + 1 if part[0] in "一二三四" else int(part[-1])
            months = (3 * quarter - 2, 3 * quarter)
        return YearHint(year, months)
    return YearHint()


def infer_years(
    mentions: list[DayMention | None], limit: date, hint: YearHint, neighbour: date | None
) -> list[date | None]:
    """Each mention's day, in the order written (None: no day that fits).

    Full dates stand, unless after `limit` (the file's date): None. A month-day takes its year from
    1. the cell: the full date written after it (the latest such day not after it), else the day written
       before it (the first such day not before it);
    2. the sheet: its title's year (「2025年下半年」), else the rows above (`neighbour`: the nearest such day);
    3. the file: the latest such day not after `limit`.
    Never after `limit`, and never out of order: a cell's entries run forward in time, so when the clues
    would make one run backwards, the month-days before it move back a year; one that no year fits
    (「2025/12/18 …；1.5 …」 saved on 2025-12-20) gets None. A cell written newest first (its full dates
    descending, or its month-days closer together read backwards: 「12.1 …；11.5 …；10.3 …」) is read
    backwards."""
    if _newest_first(mentions):
        return infer_years(mentions[::-1], limit, hint, neighbour)[::-1]
    out: list[date | None] = [m.full if m and m.full and m.full <= limit else None for m in mentions]
    anchors = [i for i, m in enumerate(mentions) if m is not None and m.year is not None]
    for i, found in enumerate(mentions):
        if found is None or found.year is not None:
            continue
        earlier_at = next((j for j in range(i - 1, -1, -1) if out[j]), None)
        earlier = out[earlier_at] if earlier_at is not None else None
        later = next((out[j] for j in anchors if j > i and out[j]), None)
        day: date | None = None
        if later is not None:
            day = latest_on_or_before(found, later)
        elif earlier is not None:
            day = first_on_or_after(found, earlier, limit)
        else:
            day = (
                hint.place(found, limit)
                or (nearest(found, neighbour, limit) if neighbour else None)
                or latest_on_or_before(found, limit)
            )
        if day is not None and earlier is not None and day < earlier:
            day = _move_back(mentions, out, anchors, i, day)
        elif day is None and earlier is not None:
            # Past the file's date after the one before it: the month-days before it belong a year earlier.
            last = latest_on_or_before(found, later or limit)
            day = _move_back(mentions, out, anchors, i, last) if last else None
        out[i] = day
    return out


def _move_back(
    mentions: list[DayMention | None], out: list[date | None], anchors: list[int], i: int, day: date
) -> date | None:
    """Make room for `day` at `i`: the inferred month-days written before it (back to a full date) each take
    the latest such day not after the next; if a full date stands in the way, `i` fits nowhere (None)."""
    moved: dict[int, date] = {}
    bound = day
    for j in range(i - 1, -1, -1):
        current = out[j]
        if current is None or current <= bound:
            break
        written = mentions[j]
        if j in anchors or written is None:
            return None
        earlier_day = latest_on_or_before(written, bound)
        if earlier_day is None:
            return None
        moved[j] = bound = earlier_day
    for j, moved_day in moved.items():
        out[j] = moved_day
    return day


def _newest_first(mentions: list[DayMention | None]) -> bool:
    """Whether the cell reads newest first: its full dates descend, or, with fewer than two full dates, its
    dates lie closer together read backwards than forwards (days around the calendar)."""
    found = [m for m in mentions if m is not None]
    if len(found) < 2:
        return False
    fulls = [m.full for m in found if m.full]
    if len(fulls) >= 2:
        return all(a >= b for a, b in pairwise(fulls)) and fulls[0] > fulls[-1]
    ordinals = [m.month * 31 + m.day for m in found]
    forward = sum((b - a) % 372 for a, b in pairwise(ordinals))
    backward = sum((a - b) % 372 for a, b in pairwise(ordinals))
    return backward < forward


_FULL_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})(?!\d)")


def first_full_date(values: Iterable[Any], limit: date) -> date | None:
    """The first day written with its year among `values` (date cells, text), not after `limit`: what the rows
    below say of the year, for the rows above them that write none."""
    for value in values:
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            if value <= limit:
                return value
            continue
        if isinstance(value, str):
            for match in _FULL_DATE.finditer(value):
                day = _safe(int(match.group(1)), int(match.group(2)), int(match.group(3)))
                if day and day <= limit:
                    return day
    return None


def parse_date(
    value: Any,
    reference: date,
    *,
    serials: bool = False,
    hint: YearHint | None = None,
    neighbour: date | None = None,
) -> date | None:
    """The day a cell means, or None. Numbers count as Excel serials only when `serials` (a date column).
    A month-day takes its year as in `infer_years` (the sheet's `hint`, the rows above, the file's date)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float):
        if not serials:
            return None
        if float(value).is_integer() and 19000101 <= value <= 21001231:  # 20250918 typed as a number
            return _safe(int(value) // 10000, int(value) // 100 % 100, int(value) % 100)
        return from_serial(float(value))
    text = str(value).strip()
    if not text:
        return None
    if serials and _SERIAL_TEXT.fullmatch(text):
        return from_serial(float(text))
    match = DATE_PATTERN.search(text)
    if match is None or match.start() > 2:
        return None
    found = mention(match, reference)
    if found is None:
        return None
    if found.full:
        return found.full
    return infer_years([found], reference, hint or YearHint(), neighbour)[0]


def at_business_day(day: date, tz: tzinfo, now: datetime) -> datetime:
    """09:00 business time on `day`, in UTC; a day that is today but not yet 09:00 becomes now."""
    moment = datetime.combine(day, DAY_TIME, tzinfo=tz).astimezone(UTC)
    return min(moment, now)


def reference_day(file_date: datetime | None, now: datetime, tz: tzinfo) -> date:
    """Relative dates (上周三) mean relative to when the sheet was last saved, if known and not in the future."""
    moment = file_date if file_date and file_date <= now else now
    return moment.astimezone(tz).date()
