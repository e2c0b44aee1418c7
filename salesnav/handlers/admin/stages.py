"""Stages and their checklists, edited as data.

History is never rewritten: transitions and evidence point at stage and item ids, so renaming
keeps the past readable under the new name, and an item is retired (`deleted_at`), never deleted —
`advance_stage` only asks for live required items, so an edit applies to the next transition on.
The closed stages (赢单, 输单) stay last; only open stages are added and reordered.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.admin.guard import require_admin
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import audit
from salesnav.handlers.stages import DEFAULT_STAGES
from salesnav.models import (
    ChecklistItem,
    ChecklistItemKind,
    Opportunity,
    OpportunityStatus,
    Stage,
    StageOutcome,
    User,
)

MAX_NAME = 40
BUILT_IN = frozenset(code for code, *_ in DEFAULT_STAGES)
MAX_ITEM_NAME = 100


def stages(session: Session) -> list[Stage]:
    return list(session.scalars(select(Stage).where(Stage.deleted_at.is_(None)).order_by(Stage.position)))


def _stage(session: Session, stage_id: int) -> Stage:
    stage = session.get(Stage, stage_id)
    if stage is None or stage.deleted_at is not None:
        raise NotFound("销售阶段不存在")
    return stage


def _name(raw: str, limit: int, what: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise DomainError(f"请填写{what}")
    if len(name) > limit:
        raise DomainError(f"{what}最多 {limit} 个字")
    return name


def _probability(raw: Any) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError) as exc:
        raise DomainError("赢单概率必须是 0 到 100 之间的整数") from exc
    if not 0 <= value <= 100:
        raise DomainError("赢单概率必须是 0 到 100 之间的整数")
    return value


def _snapshot(stage: Stage) -> dict[str, Any]:
    return {
        "code": stage.code,
        "name": stage.name,
        "position": stage.position,
        "win_probability": stage.win_probability,
    }


def add_stage(session: Session, actor: User, *, name: str, win_probability: Any) -> Stage:
    """A new open stage, placed after the last open stage (before 赢单 / 输单)."""
    require_admin(actor)
    name = _name(name, MAX_NAME, "阶段名称")
    probability = _probability(win_probability)
    current = stages(session)
    if any(s.name == name for s in current):
        raise DomainError(f"已有名为「{name}」的阶段")
    open_stages = [s for s in current if s.outcome is StageOutcome.OPEN]
    position = (open_stages[-1].position + 1) if open_stages else 1
    for later in current:
        if later.position >= position:
            later.position += 1
    count = session.scalar(select(func.count(Stage.id))) or 0
    stage = Stage(
        code=f"custom_{count + 1}", name=name, position=position, win_probability=probability, outcome=StageOutcome.OPEN
    )
    while session.scalar(select(Stage.id).where(Stage.code == stage.code)) is not None:
        count += 1
        stage.code = f"custom_{count + 1}"
    session.add(stage)
    session.flush()
    audit(session, actor, "stage", stage.id, "create", {}, _snapshot(stage))
    return stage


def update_stage(session: Session, actor: User, stage_id: int, *, name: str, win_probability: Any) -> Stage:
    require_admin(actor)
    stage = _stage(session, stage_id)
    name = _name(name, MAX_NAME, "阶段名称")
    probability = _probability(win_probability)
    if any(s.name == name and s.id != stage.id for s in stages(session)):
        raise DomainError(f"已有名为「{name}」的阶段")
    before = _snapshot(stage)
    stage.name, stage.win_probability = name, probability
    if _snapshot(stage) != before:
        audit(session, actor, "stage", stage.id, "update", before, _snapshot(stage))
    return stage


def move_stage(session: Session, actor: User, stage_id: int, *, direction: str) -> Stage:
    """Swap an open stage with its open neighbour ("up" or "down")."""
    require_admin(actor)
    stage = _stage(session, stage_id)
    if stage.outcome is not StageOutcome.OPEN:
        raise DomainError("赢单、输单阶段固定在最后，不能调整顺序")
    open_stages = [s for s in stages(session) if s.outcome is StageOutcome.OPEN]
    index = next(i for i, s in enumerate(open_stages) if s.id == stage.id)
    other_index = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other_index < len(open_stages):
        raise DomainError("已经是第一个或最后一个阶段")
    other = open_stages[other_index]
    before = {stage.code: stage.position, other.code: other.position}
    stage.position, other.position = other.position, stage.position
    audit(
        session, actor, "stage", stage.id, "reorder", before, {stage.code: stage.position, other.code: other.position}
    )
    return stage


def retire_stage(session: Session, actor: User, stage_id: int) -> Stage:
    """Retire a stage the company added: it is no longer offered, and its history stays as it was.

    The built-in stages stay (they can be renamed and reordered): new deals start at 初步接触, the big-deal
    credit check watches 合同审批, a deal entering 样品测试 opens a collaboration ticket, the Excel import
    infers the others from remarks. A stage that open deals are in stays until they have moved on."""
    require_admin(actor)
    stage = _stage(session, stage_id)
    if stage.code in BUILT_IN:
        raise DomainError(f"「{stage.name}」是内置阶段，规则和导入依赖它，不能停用；可以改名或调整顺序")
    in_stage = session.scalar(
        select(func.count(Opportunity.id)).where(
            Opportunity.stage_id == stage.id,
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.deleted_at.is_(None),
        )
    )
    if in_stage:
        raise DomainError(f"还有 {in_stage} 个进行中的商机处于「{stage.name}」，请先推进或关闭后再停用")
    before = _snapshot(stage)
    stage.deleted_at = clock.now()
    audit(session, actor, "stage", stage.id, "retire", before, {**_snapshot(stage), "retired": True})
    return stage


# --- checklist items ----------------------------------------------------------------------------------


def _item_snapshot(item: ChecklistItem) -> dict[str, Any]:
    return {
        "stage_id": item.stage_id,
        "name": item.name,
        "kind": item.kind.value,
        "required": item.required,
        "position": item.position,
        "deleted_at": item.deleted_at and item.deleted_at.isoformat(),
    }


def _kind(raw: str) -> ChecklistItemKind:
    kind = ChecklistItemKind.from_label(raw or "")
    if not isinstance(kind, ChecklistItemKind):
        raise DomainError("检查项类型只能是：上传文件、文字或勾选")
    return kind


def add_item(session: Session, actor: User, stage_id: int, *, name: str, kind: str, required: bool) -> ChecklistItem:
    require_admin(actor)
    stage = _stage(session, stage_id)
    name = _name(name, MAX_ITEM_NAME, "检查项名称")
    live = [i for i in stage.checklist if i.deleted_at is None]
    if any(i.name == name for i in live):
        raise DomainError(f"「{stage.name}」已有检查项「{name}」")
    item = ChecklistItem(
        stage_id=stage.id,
        name=name,
        kind=_kind(kind),
        required=bool(required),
        position=max((i.position for i in stage.checklist), default=-1) + 1,
    )
    stage.checklist.append(item)  # the loaded collection too: a transition in this session must see it
    session.flush()
    audit(session, actor, "checklist_item", item.id, "create", {}, _item_snapshot(item))
    return item


def update_item(session: Session, actor: User, item_id: int, *, name: str, kind: str, required: bool) -> ChecklistItem:
    require_admin(actor)
    item = session.get(ChecklistItem, item_id)
    if item is None or item.deleted_at is not None:
        raise NotFound("检查项不存在或已停用")
    name = _name(name, MAX_ITEM_NAME, "检查项名称")
    before = _item_snapshot(item)
    item.name, item.kind, item.required = name, _kind(kind), bool(required)
    if _item_snapshot(item) != before:
        audit(session, actor, "checklist_item", item.id, "update", before, _item_snapshot(item))
    return item


def retire_item(session: Session, actor: User, item_id: int) -> ChecklistItem:
    """Stop asking for the item from the next transition on; evidence already given stays."""
    require_admin(actor)
    item = session.get(ChecklistItem, item_id)
    if item is None or item.deleted_at is not None:
        raise NotFound("检查项不存在或已停用")
    before = _item_snapshot(item)
    item.deleted_at = clock.now()
    audit(session, actor, "checklist_item", item.id, "retire", before, _item_snapshot(item))
    return item
