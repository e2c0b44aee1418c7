"""1 reusable material (素材) matched to what the rep is working on: the product lines, stages and
customer kinds of the rep's open opportunities.

Per material and open deal: product line equal 2, material for all lines 1, other line → no match;
stage equal 2, for all stages 1, other stage → no match; customer kind equal 1, for all kinds 0.5,
other kind → no match. A material's fit is its best deal; the best fit wins. Equally good materials
take turns day by day (so the rep sees the library, not the same file every morning). A rep without
open deals gets a general material (no product line).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from salesnav.handlers.battle_pack.snapshot import DealRow, MaterialRow, Snapshot, StageRow


@dataclass(frozen=True)
class MaterialPick:
    material_id: int
    title: str
    url: str | None
    attachment_id: int | None
    reason: str  # 「匹配您「CT球管」商机的「方案演示」阶段（2 个商机）」
    # The customers of the deals it was matched to (the largest first, at most SHARE_WITH): the pack gives the
    # rep a tracked 雷达 link for each, to forward (salesnav/handlers/radar.py).
    customers: tuple[tuple[int, str], ...] = ()


SHARE_WITH = 2


def _fit(material: MaterialRow, deal: DealRow, stage: StageRow | None) -> float | None:
    fit = 0.0
    if material.product_line is None:
        fit += 1
    elif material.product_line == deal.product_line:
        fit += 2
    else:
        return None
    if material.stage_code is None:
        fit += 1
    elif stage is not None and material.stage_code == stage.code:
        fit += 2
    else:
        return None
    if material.customer_kind is None:
        fit += 0.5
    elif material.customer_kind == deal.customer_kind:
        fit += 1
    else:
        return None
    return fit


def pick_material(snap: Snapshot, rep_id: int, day: date) -> MaterialPick | None:
    deals = snap.deals.get(rep_id, [])
    scored: list[tuple[float, MaterialRow, list[DealRow]]] = []
    for material in snap.materials:
        if not deals:
            if material.product_line is None:
                scored.append((0.0, material, []))
            continue
        fits = [(f, d) for d in deals if (f := _fit(material, d, snap.stages.get(d.stage_id))) is not None]
        if fits:
            top = max(f for f, _ in fits)
            scored.append((top, material, [d for f, d in fits if f == top]))
    if not scored:
        return None
    best = max(s for s, _, _ in scored)
    ties = sorted((m for s, m, _ in scored if s == best), key=lambda m: m.id)
    chosen = ties[(day.toordinal() + rep_id) % len(ties)]
    matched = next(ds for s, m, ds in scored if m is chosen)
    customers: dict[int, str] = {}
    for deal in sorted(matched, key=lambda d: (-d.amount_fen, d.id)):
        if len(customers) < SHARE_WITH:
            customers.setdefault(deal.customer_id, deal.customer_name)
    return MaterialPick(
        chosen.id,
        chosen.title,
        chosen.url,
        chosen.attachment_id,
        _reason(chosen, matched, snap.stages),
        tuple(customers.items()),
    )


def _reason(material: MaterialRow, matched: list[DealRow], stages: dict[int, StageRow]) -> str:
    if not matched:
        return "通用素材，适合开拓新客户"
    lines = sorted({d.product_line for d in matched}) if material.product_line is None else [material.product_line]
    stage_names = sorted({stages[d.stage_id].name for d in matched if d.stage_id in stages})
    stage_text = stage_names[0] if len(stage_names) == 1 else "、".join(stage_names[:2])
    return f"匹配您「{'、'.join(lines[:2])}」商机的「{stage_text}」阶段（{len(matched)} 个商机）"
