"""1 lead to review: the rep's open opportunity that lags most behind the path of similar won deals.

Similar won deals (closed won in `battle_pack.history_days`) are taken from the most specific group
that has at least `battle_pack.min_similar_won` of them: same product line and customer grade, else
same product line, else same grade, else all won deals. From that group we know the typical stage
path (the most frequent sequence), the mean days to win, and the mean days spent in each stage.

Lag = days the lead has been in its current stage − the group's mean days in that stage (when the won
deals never passed that stage: days since the lead started − their mean days to win). The lead with
the largest lag is recommended (ties: the larger amount); if none lags, the one closest to lagging,
said to be on track. The explanation names the similarity, the path and its duration, and the lag.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean

from salesnav.handlers.battle_pack.snapshot import DealRow, Snapshot, StageRow, WonDeal

DAY = 86_400.0


@dataclass(frozen=True)
class WonGroup:
    basis: str  # 「同产品线「CT球管」、同为三甲客户」
    deals: int
    path: tuple[int, ...]  # the most frequent stage path, ending in 赢单
    mean_days_to_win: float
    mean_days_in: dict[int, float]  # stage id → mean days the won deals spent there

    def next_stage_after(self, stage_id: int) -> int | None:
        if stage_id in self.path:
            i = self.path.index(stage_id)
            return self.path[i + 1] if i + 1 < len(self.path) else None
        return None


@dataclass(frozen=True)
class LeadReview:
    opportunity_id: int
    customer_name: str
    title: str
    amount_fen: int
    stage_name: str
    similarity: str  # 同产品线「CT球管」、同为三甲客户的 4 个赢单
    path_text: str  # 初步接触→需求确认→…→赢单，平均用时 46 天
    days_in_stage: float
    won_days_in_stage: float | None
    lag_days: float
    lagging: bool
    suggestion: str  # 「尽快推进到「样品测试」」


class WonReference:
    """Won deals grouped once per snapshot, looked up per lead."""

    def __init__(self, won: list[WonDeal], min_deals: int) -> None:
        self.min_deals = max(min_deals, 1)
        by_both: dict[tuple[str, str | None], list[WonDeal]] = defaultdict(list)
        by_line: dict[str, list[WonDeal]] = defaultdict(list)
        by_grade: dict[str | None, list[WonDeal]] = defaultdict(list)
        for deal in won:
            by_both[(deal.product_line, deal.customer_grade)].append(deal)
            by_line[deal.product_line].append(deal)
            by_grade[deal.customer_grade].append(deal)
        self._by_both, self._by_line, self._by_grade, self._all = by_both, by_line, by_grade, won
        self._cache: dict[tuple[str, str | None], WonGroup | None] = {}

    def similar(self, product_line: str, grade: str | None) -> WonGroup | None:
        key = (product_line, grade)
        if key not in self._cache:
            self._cache[key] = self._similar(product_line, grade)
        return self._cache[key]

    def _similar(self, product_line: str, grade: str | None) -> WonGroup | None:
        grade_text = f"同为{grade}客户" if grade else "同为未定级客户"
        candidates = [
            (self._by_both.get((product_line, grade), []), f"同产品线「{product_line}」、{grade_text}"),
            (self._by_line.get(product_line, []), f"同产品线「{product_line}」"),
            (self._by_grade.get(grade, []) if grade else [], grade_text),
            (self._all, "全公司"),
        ]
        for deals, basis in candidates:
            if len(deals) >= self.min_deals:
                return _group(basis, deals)
        return None


def _group(basis: str, deals: list[WonDeal]) -> WonGroup:
    paths = Counter(tuple(stage for stage, _ in d.path) for d in deals)
    # The most frequent path; among equally frequent ones the shortest, then a stable order.
    path = min(paths, key=lambda p: (-paths[p], len(p), p))
    spent: dict[int, list[float]] = defaultdict(list)
    to_win: list[float] = []
    for d in deals:
        per_stage: dict[int, float] = defaultdict(float)
        for (stage, entered), (_next, left) in zip(d.path, d.path[1:], strict=False):
            per_stage[stage] += (left - entered).total_seconds() / DAY
        for stage, days in per_stage.items():
            spent[stage].append(days)
        to_win.append((d.closed_at - d.path[0][1]).total_seconds() / DAY)
    return WonGroup(basis, len(deals), path, fmean(to_win), {s: fmean(v) for s, v in spent.items()})


def recommend_lead(snap: Snapshot, rep_id: int, reference: WonReference) -> LeadReview | None:
    best: tuple[tuple[float, int], LeadReview] | None = None
    for deal in snap.deals.get(rep_id, []):
        group = reference.similar(deal.product_line, deal.customer_grade)
        if group is None:
            continue
        review = _review(deal, group, snap.stages, snap.now)
        key = (review.lag_days, deal.amount_fen)
        if best is None or key > best[0]:
            best = (key, review)
    return best[1] if best else None


def _review(deal: DealRow, group: WonGroup, stages: dict[int, StageRow], now: datetime) -> LeadReview:
    stage = stages.get(deal.stage_id)
    stage_name = stage.name if stage else "当前阶段"
    days_in_stage = max((now - deal.stage_entered_at).total_seconds() / DAY, 0.0)
    won_in_stage = group.mean_days_in.get(deal.stage_id)
    if won_in_stage is not None:
        lag = days_in_stage - won_in_stage
    else:
        started = deal.started_at or deal.stage_entered_at
        lag = (now - started).total_seconds() / DAY - group.mean_days_to_win
    path_names = "→".join(stages[s].name if s in stages else "?" for s in group.path)
    following = group.next_stage_after(deal.stage_id)
    suggestion = f"按赢单路径推进到「{stages[following].name}」" if following in stages else "对照赢单路径补齐缺失环节"
    return LeadReview(
        opportunity_id=deal.id,
        customer_name=deal.customer_name,
        title=deal.title,
        amount_fen=deal.amount_fen,
        stage_name=stage_name,
        similarity=f"{group.basis}的 {group.deals} 个赢单",
        path_text=f"{path_names}，平均用时 {group.mean_days_to_win:.0f} 天",
        days_in_stage=days_in_stage,
        won_days_in_stage=won_in_stage,
        lag_days=lag,
        lagging=lag > 0.5,
        suggestion=suggestion,
    )
