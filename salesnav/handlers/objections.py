"""Objections (客户异议): which ones a touchpoint records, and which three a visit should expect.

One definition, used by the visit brief (handlers/visit_brief.py) and measured by bench/pool_brief.py.

- A 抵触 or 中性 touchpoint records an objection when its summary says one of `KINDS` (a few words each).
- The likely objections of a visit are those of similar deals — same product line, same customer grade,
  same stage at the time — counted over the history; when that group has fewer than `min_similar`
  objections the group widens (line and stage, then line, then the company), and the brief says which.
- Within the group, objections are ranked by their count plus `PRIOR_WEIGHT` pseudo-observations spread as the
  company's own shares (additive smoothing): a small group's chance differences do not outvote what the whole
  company hears, while a group that truly differs (say, price at every 三乙 CT deal in negotiation) does.
- With each objection: how often it came up in the group, and the answer that preceded a won deal — the next
  action most often written after it on deals that were later won.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

# Words of the customer's reaction, not of the topic: 「讨论配置清单」「回访售后满意度」「解答技术参数疑问」 are what
# the rep came for, so 配置, 售后满意度 and a bare 参数 say no objection.
KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("价格偏高", re.compile(r"贵|价格不|价格高|价格偏高|降价|便宜|性价比|折扣")),
    ("预算受限", re.compile(r"预算|经费|资金紧|冻结|批复")),
    ("倾向竞品或原供应商", re.compile(r"竞品|原供应商|两家|别家|其他厂家")),
    ("售后与维修顾虑", re.compile(r"维修|响应慢|故障|保修|担心售后|售后差")),
    ("交付周期顾虑", re.compile(r"交付|到货|工期|装机")),
    ("内部决策未定", re.compile(r"内部|再讨论|领导|院里|院办|再研究")),
    ("资料与参数不足", re.compile(r"补充|明细|发资料|要看参数|参数不|证明|资质")),
    ("采购时机未到", re.compile(r"延后|明年|暂不|不急|以后再|推迟")),
)
NAMES = tuple(name for name, _ in KINDS)
PRIOR_WEIGHT = 30.0  # pseudo-observations of the company's shares added to a group's counts


def objections_in(text: str | None) -> list[str]:
    """The objections a touchpoint's summary records, in `KINDS` order (none for an empty text)."""
    text = text or ""
    return [name for name, pattern in KINDS if pattern.search(text)]


@dataclass(frozen=True)
class ObjectionSignal:
    """One objection heard on one touchpoint, with what the miner needs to know about its deal."""

    occurred_at: datetime
    objection: str
    product_line: str | None
    grade: str | None
    stage_id: int | None  # the deal's stage when it was heard
    won: bool  # the deal was won afterwards
    answer: str | None  # the next action written with it
    touchpoint_id: int = 0  # where it was heard (the bench groups a visit's objections by it)


@dataclass(frozen=True)
class LikelyObjection:
    objection: str
    count: int
    share: float  # of the group's objections
    won_answer: str | None  # the next action most often written with it on deals later won
    won_answer_count: int


@dataclass(frozen=True)
class Prediction:
    objections: list[LikelyObjection]
    group: str  # 「同产品线、同等级、同阶段」… which group the counts come from
    group_size: int  # the group's objections counted


GROUPS: tuple[tuple[str, tuple[bool, bool, bool]], ...] = (
    ("同产品线、同客户等级、同阶段的商机", (True, True, True)),
    ("同产品线、同阶段的商机", (True, False, True)),
    ("同产品线的商机", (True, False, False)),
    ("全公司", (False, False, False)),
)


def predict(
    signals: Sequence[ObjectionSignal],
    *,
    product_line: str | None,
    grade: str | None,
    stage_id: int | None,
    before: datetime | None = None,
    min_similar: int = 5,
    top: int = 3,
) -> Prediction:
    """The `top` objections most likely for a deal of this line, grade and stage, from signals heard before
    `before` (all when None): the narrowest group with at least `min_similar` objections."""
    heard = [s for s in signals if before is None or s.occurred_at < before]
    for label, (by_line, by_grade, by_stage) in GROUPS:
        group = [
            s
            for s in heard
            if (not by_line or s.product_line == product_line)
            and (not by_grade or s.grade == grade)
            and (not by_stage or s.stage_id == stage_id)
        ]
        if len(group) >= min_similar or label == GROUPS[-1][0]:
            return Prediction(_rank(group, heard, top), label, len(group))
    raise AssertionError("the last group takes everything")


def company_top(signals: Iterable[ObjectionSignal], *, before: datetime | None = None, top: int = 3) -> list[str]:
    """The company's most frequent objections (the bench's baseline)."""
    counts = Counter(s.objection for s in signals if before is None or s.occurred_at < before)
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], NAMES.index(kv[0])))[:top]]


def _rank(group: list[ObjectionSignal], heard: list[ObjectionSignal], top: int) -> list[LikelyObjection]:
    counts = Counter(s.objection for s in group)
    total = sum(counts.values())
    company = Counter(s.objection for s in heard)
    everyone = sum(company.values()) or 1

    def smoothed(name: str) -> float:
        return counts[name] + PRIOR_WEIGHT * company[name] / everyone

    ranked = sorted(((n, counts[n]) for n in counts), key=lambda kv: (-smoothed(kv[0]), NAMES.index(kv[0])))[:top]
    out = []
    for name, n in ranked:
        answers = Counter((s.answer or "").strip() for s in group if s.objection == name and s.won and s.answer)
        answers.pop("", None)
        best = sorted(answers.items(), key=lambda kv: (-kv[1], kv[0]))[:1]
        out.append(
            LikelyObjection(
                name, n, n / total if total else 0.0, best[0][0] if best else None, best[0][1] if best else 0
            )
        )
    return out
