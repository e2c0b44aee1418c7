"""The 备注 column: split into dated entries, each a touchpoint whose type, emotion and deal stage are guessed.

Every guess is named in the touchpoint's `guessed_fields`, so the rep can see and correct it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from salesnav.handlers.excel_import.dates import DATE_PATTERN, resolve
from salesnav.models import Emotion, TouchpointType

_SEPARATORS = " \t\r\n;；,，。.、:：-—|/"

# First match wins: an expo visit is an expo, a phone call about a visit is still a call.
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
_AMOUNT = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<u>万元|万|w|W|千元|千|元|块)")


@dataclass
class Entry:
    day: date | None  # None: the row's date column, else the reference day, decides
    text: str
    touchpoint_type: TouchpointType = TouchpointType.PHONE
    emotion: Emotion = Emotion.NEUTRAL
    stage: str | None = None  # a deal stage the words suggest, or None when the text speaks of no deal
    amount_fen: int | None = None
    guessed: list[str] = field(default_factory=list)


def split_entries(text: str, reference: date) -> list[Entry]:
    """'3月5日 拜访张主任；3月12日 电话报价' → two entries. A date counts only where an entry can start."""
    text = (text or "").strip()
    if not text:
        return []
    starts = []
    for match in DATE_PATTERN.finditer(text):
        before = text[match.start() - 1] if match.start() else ""
        if match.start() == 0 or before in _SEPARATORS:
            day = resolve(match, reference)
            if day is not None:
                starts.append((match.start(), match.end(), day))
    entries: list[Entry] = []
    if not starts or starts[0][0] > 0:
        head = text[: starts[0][0] if starts else len(text)].strip(_SEPARATORS)
        if head:
            entries.append(Entry(None, head))
    for i, (_start, end, day) in enumerate(starts):
        stop = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        body = text[end:stop].strip(_SEPARATORS)
        if body:
            entries.append(Entry(day, body))
    for entry in entries:
        guess(entry)
    return entries


def guess(entry: Entry) -> Entry:
    text = entry.text
    entry.touchpoint_type = next((t for t, words in TYPE_WORDS if words.search(text)), TouchpointType.PHONE)
    entry.emotion = (
        Emotion.RESISTANT if RESISTANT.search(text) else Emotion.POSITIVE if POSITIVE.search(text) else Emotion.NEUTRAL
    )
    entry.guessed = ["type", "emotion"]
    entry.stage = infer_stage(text)
    entry.amount_fen = parse_amount(text)
    return entry


def infer_stage(text: str) -> str | None:
    found = [code for code, words in STAGE_WORDS if words.search(text)]
    return max(found, key=STAGE_ORDER.index) if found else None


def furthest(stages: list[str | None]) -> str | None:
    known = [s for s in stages if s]
    return max(known, key=STAGE_ORDER.index) if known else None


def parse_amount(value: Any) -> int | None:
    """An amount in fen: 35万 → 35,0000 元; a bare number in an amount column is yuan."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return round(float(value) * 100) if value > 0 else None
    text = str(value).replace(",", "").replace("，", "")
    match = _AMOUNT.search(text)
    if match is None:
        bare = re.fullmatch(r"\s*[¥￥]?\s*(\d+(?:\.\d+)?)\s*", text)
        return round(float(bare.group(1)) * 100) if bare and float(bare.group(1)) > 0 else None
    number, unit = float(match.group("n")), match.group("u")
    factor = 10000 if unit in ("万元", "万", "w", "W") else 1000 if unit in ("千元", "千") else 1
    fen = round(number * factor * 100)
    return fen if fen > 0 else None
