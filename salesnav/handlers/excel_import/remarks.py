"""The 备注 column: split into dated entries, each a touchpoint whose type, emotion and deal stage are guessed.

An entry starts where a date starts (any spelling salesnav.text.cn_dates reads: 9月3日, 2025/9/18,
20250918, 9/3/2025, 9.10, 10/27, 28号, 昨天, 上周三…). Dates written without a year get theirs from the cell, the
sheet and the file (`date_entries`).
Every guess is named in the touchpoint's `guessed_fields`, so the rep can see and correct it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from salesnav.models import Emotion, TouchpointType
from salesnav.text.cn_dates import (
    DATE_PATTERN,
    DAY_ALONE,
    DayMention,
    YearHint,
    amount_fen,
    day_alone,
    infer_years,
    mention,
)

_SEPARATORS = " \t\r\n;；,，。.．、:：-—|/①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_WIDE_DIGITS = str.maketrans("０１２３４５６７８９．／－", "0123456789./-")  # typed with a Chinese IME: ９．１０
_STARTS_AFTER = _SEPARATORS + ")）【["  # 「(1)9月3日」「【9.10】电话」: after a list mark or in a date's bracket
# Where a date may start an entry: the start, or after a separator, at a character a date can begin with.
_ENTRY_START = re.compile(
    rf"(?:^|(?<=[{re.escape(_STARTS_AFTER)}]))[\d〇零一二两三四五六七八九十大前昨今上本这周星礼半]"
)
# A list mark just before the next dated entry (「面谈 2.」「电话；(3)」) belongs to neither entry.
_LIST_MARK_TAIL = re.compile(
    r"[\s;；,，。、]*(?:(?<![\dA-Za-z.])[(（]?\d{1,2}\s*[)）.．、]|[①-⑳]|[(（]?[一二三四五六七八九十][)）、])?\s*[【\[]?\s*$"
)
# Words that make the date after them part of a plan inside the entry, not the start of a new one.
_PLANNED = re.compile(
    r"(?:约|约定|约好|约在|计划|预计|准备|下次|定于|定在|安排|预约|改到|改为|推迟到|延到|截止|截至|到|于|在|至)\s+$"
)
_WEEKDAY_AFTER = re.compile(
    r"\s*[（(]\s*(?:周|星期|礼拜)[一二三四五六日天1-7]\s*[)）]|(?:周|星期|礼拜)[一二三四五六日天1-7]"
    r"|\s+(?:周|星期|礼拜)[一二三四五六日天1-7](?=[\s;；,，。]|$)"
)
# A remark cell that says there is nothing to say (「无」「暂无」「/」): no touchpoint, not one named 「无」.
_BLANKISH = r"[\s/\\\-—_.。…]*"
_NOTHING = re.compile(rf"{_BLANKISH}(?:无|暂无|没有|空|无备注|暂无备注|无记录|未跟进|N/?A|null|none)?{_BLANKISH}", re.I)
_DEADLINE = re.compile(r"\s*(?:之前|以前|前|之后|以后|左右)")
_CLOSING = re.compile(r"\s*[】\]]")
_RANGE = re.compile(r"\s*(?:-|~|～|—|–|至|到)\s*")

# The word said first wins (「电话，约面访」 is a call, 「面访，电话跟进」 a visit); at one position, the first listed.
TYPE_WORDS: list[tuple[TouchpointType, re.Pattern[str]]] = [
    (TouchpointType.EXPO, re.compile(r"展会|会展|展台|展位|博览会|学术会")),
    (TouchpointType.VISIT, re.compile(r"面谈|拜访|上门|面访|见面|到访|走访|来访|现场|登门")),
    (TouchpointType.PHONE, re.compile(r"电话|致电|来电|通话|打给|语音通话")),
    (TouchpointType.WECHAT, re.compile(r"微信|企微|企业微信|发消息|留言|wx", re.IGNORECASE)),
]
RESISTANT = re.compile(r"拒绝|不满|投诉|抵触|不感兴趣|没兴趣|不需要|不考虑|嫌贵|太贵|推脱|冷淡|不接电话|生气|反感")
POSITIVE = re.compile(r"(?<!不)满意|认可|(?<![不没])有?兴趣|积极|同意|意向强|很好|肯定|支持|期待")

# Deal words → the stage they suggest (stage codes from handlers/stages.py); the furthest one mentioned wins.
STAGE_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("contract_approval", re.compile(r"合同|签约|盖章")),
    ("negotiation", re.compile(r"报价|议价|谈判|砍价|谈价|价格")),
    ("sample_test", re.compile(r"试用|样机|样品|试机|装机测试")),
    ("solution_demo", re.compile(r"演示|方案介绍|讲方案|产品介绍|demo", re.IGNORECASE)),
    ("needs_confirmed", re.compile(r"需求|预算|采购计划|立项|招标|采购意向")),
    ("initial_contact", re.compile(r"商机|意向|(?<![不没])有?兴趣")),
]
STAGE_ORDER = ["initial_contact", "needs_confirmed", "solution_demo", "sample_test", "negotiation", "contract_approval"]


@dataclass
class Entry:
    day: date | None  # None: undatable (no date in it, the cell or the row): kept, marked, never dated today
    text: str
    touchpoint_type: TouchpointType = TouchpointType.PHONE
    emotion: Emotion = Emotion.NEUTRAL
    stage: str | None = None  # a deal stage the words suggest, or None when the text speaks of no deal
    amount_fen: int | None = None
    guessed: list[str] = field(default_factory=list)
    written: DayMention | None = None  # the date as written at the entry's start (parsing only, not kept)


def split_entries(text: str, reference: date) -> list[Entry]:
    """'3月5日 拜访张主任；3.12 电话报价' → two entries, each with its date as written (`written`; years are
    inferred by `date_entries`) and only its own words.

    A date starts an entry only at the start or after a separator (；，。 a space, a list mark: 「1、」「2.」
    「（3）」), and not after words that make it a plan inside the entry (「约定 9月20日 面访」) nor before
    words that make it a deadline (「9月底前要报价」, 「10.15之前回复」). A weekday
    after a date (「9月3日（周三）」) and the end of a range (「9.10-9.12 展会」) belong to that date; the list mark
    before the next date (「面谈 2.」) is not part of the entry above it."""
    text = (text or "").strip().translate(_WIDE_DIGITS)
    if not text or _NOTHING.fullmatch(text):
        return []
    starts: list[tuple[int, int, DayMention]] = []
    taken_to = 0
    for candidate in _ENTRY_START.finditer(text):  # only where an entry can start: cheaper than every position
        start = candidate.start()
        if start < taken_to:
            continue  # the end of a range or a weekday already read with the date before it
        if start and _PLANNED.search(text, max(0, start - 8), start):
            continue
        match = DATE_PATTERN.match(text, start) or DAY_ALONE.match(text, start)
        if match is None:
            continue
        if _DEADLINE.match(text, match.end()):
            continue  # 「9月底前要报价」: a deadline inside the entry
        if match.re is DAY_ALONE:  # 「28号 电话」: the month of the entry before it
            found = day_alone(match, starts[-1][2] if starts else None, reference)
        else:
            found = mention(match, reference)
        if found is None:
            continue
        end = _extend(text, match.end(), reference, start)
        starts.append((start, end, found))
        taken_to = end
    entries: list[Entry] = []
    if not starts or starts[0][0] > 0:
        head = text[: starts[0][0] if starts else len(text)]
        head = (_LIST_MARK_TAIL.sub("", head) if starts else head).strip(_SEPARATORS)
        if head:
            entries.append(Entry(None, head))
    for i, (_start, end, found) in enumerate(starts):
        stop = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        body = text[end:stop]
        body = (_LIST_MARK_TAIL.sub("", body) if i + 1 < len(starts) else body).strip(_SEPARATORS)
        if body:
            entries.append(Entry(None, body, written=found))
    for entry in entries:
        guess(entry)
    return entries


def _extend(text: str, end: int, reference: date, start: int = 0) -> int:
    """Where a date ends, with its weekday (（周三）), the other end of a range (-9.12, 至9月15日) and the closing
    bracket of 【9.10】."""
    if start and text[start - 1] in "【[" and (closing := _CLOSING.match(text, end)):
        end = closing.end()
    if weekday := _WEEKDAY_AFTER.match(text, end):
        end = weekday.end()
    if joiner := _RANGE.match(text, end):
        other = DATE_PATTERN.match(text, joiner.end())
        if other is not None and mention(other, reference) is not None:
            end = other.end()
            if weekday := _WEEKDAY_AFTER.match(text, end):
                end = weekday.end()
    return end


def date_entries(
    entries: list[Entry],
    limit: date,
    hint: YearHint,
    neighbour: date | None,
    row_day: date | None,
    *,
    around: date | None = None,
) -> list[str]:
    """Each entry's day: as written, its year inferred (`infer_years`). An entry written without a date takes
    the row's date column where that keeps the order, else its neighbour's in the cell (the entry above, else
    below), else the rows above (`neighbour`) — marked as a guess (occurred_at). `around` (a full date further
    down the sheet) only helps years, when no row above has a date. An entry with none of these
    keeps day None (the file's date, marked). Every such guess is said in the returned notes."""
    notes: list[str] = []
    days = infer_years([e.written for e in entries], limit, hint, row_day or neighbour or around)
    unused: dict[int, str] = {}  # entries whose written date cannot be used: why
    for i, (entry, day) in enumerate(zip(entries, days, strict=True)):
        written = entry.written
        if written is not None and day is None:
            why = (
                f"晚于文件日期 {limit.isoformat()}"
                if written.full and written.full > limit
                else "在文件日期之前找不到与前后记录顺序一致的年份"
            )
            unused[i] = f"写的日期「{written}」{why}，未按该日期记录，"
            entry.written = None  # dated below like an entry without a date
        elif written is not None and written.approx and day is not None:
            entry.guessed = [*entry.guessed, "occurred_at"]
            what = f"只写了{written.day}号，按文件日期推测月份" if written.month_guessed else "只写了大概时间"
            notes.append(f"备注「{entry.text[:20]}」{what}，记为 {day.isoformat()}（推测）")
        entry.day = day
    for i, entry in enumerate(entries):
        if entry.day is not None and entry.written is not None:
            continue
        above = next((e.day for e in reversed(entries[:i]) if e.day and e.written), None)
        below = next((e.day for e in entries[i + 1 :] if e.day and e.written), None)
        entry.guessed = [*entry.guessed, "occurred_at"]
        fits = row_day and row_day <= limit and (not above or row_day >= above) and (not below or row_day <= below)
        entry.day = row_day if fits else (above or below)
        said = f"备注「{entry.text[:20]}」" + unused.get(i, "没有日期，")
        if fits and row_day and i in unused:
            notes.append(f"{said}按该行的日期记为 {row_day.isoformat()}（推测）")
        elif entry.day is not None and not fits:
            notes.append(f"{said}按同一格里相邻记录的日期记为 {entry.day.isoformat()}（推测）")
        elif entry.day is None and neighbour is not None:
            entry.day = neighbour
            notes.append(f"{said}按上方各行的日期记为 {neighbour.isoformat()}（推测）")
        elif entry.day is None:
            notes.append(f"{said}已保留并标为日期待定（暂记为文件日期 {limit.isoformat()}）")
    return notes


def guess(entry: Entry) -> Entry:
    text = entry.text
    said = [(m.start(), i, t) for i, (t, words) in enumerate(TYPE_WORDS) if (m := words.search(text))]
    entry.touchpoint_type = min(said)[2] if said else TouchpointType.PHONE
    entry.emotion = (
        Emotion.RESISTANT if RESISTANT.search(text) else Emotion.POSITIVE if POSITIVE.search(text) else Emotion.NEUTRAL
    )
    entry.guessed = ["type", "emotion"]
    entry.stage = infer_stage(text)
    entry.amount_fen = amount_fen(text, bare_yuan=False)
    return entry


def infer_stage(text: str) -> str | None:
    found = [code for code, words in STAGE_WORDS if words.search(text)]
    return max(found, key=STAGE_ORDER.index) if found else None


def furthest(stages: list[str | None]) -> str | None:
    known = [s for s in stages if s]
    return max(known, key=STAGE_ORDER.index) if known else None


def parse_amount(value: Any) -> int | None:
    """An amount in fen: 35万 → 35,0000 元; a bare number in an amount column is yuan (see cn_dates.amount_fen)."""
    return amount_fen(value)
