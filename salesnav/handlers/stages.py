"""The default sales stages and their checklists (docs/product.md); admins edit them as data later."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.errors import DomainError
from salesnav.models import ChecklistItem, ChecklistItemKind, Stage, StageOutcome

INITIAL = "initial_contact"
SAMPLE_TEST = "sample_test"
CONTRACT_APPROVAL = "contract_approval"
WON = "won"
LOST = "lost"

F, T, C = ChecklistItemKind.FILE, ChecklistItemKind.TEXT, ChecklistItemKind.CHECKBOX

DEFAULT_STAGES: list[tuple[str, str, int, StageOutcome, list[tuple[str, ChecklistItemKind]]]] = [
    (INITIAL, "初步接触", 10, StageOutcome.OPEN, []),
    ("needs_confirmed", "需求确认", 20, StageOutcome.OPEN, [("客户需求记录", T)]),
    (
        "solution_demo",
        "方案演示",
        40,
        StageOutcome.OPEN,
        [("演示PPT", F), ("客户问题清单", F), ("内部资源协调记录", T)],
    ),
    (SAMPLE_TEST, "样品测试", 60, StageOutcome.OPEN, [("样品申请单", F)]),
    ("negotiation", "商务谈判", 75, StageOutcome.OPEN, [("报价单", F)]),
    (CONTRACT_APPROVAL, "合同审批", 90, StageOutcome.OPEN, [("合同草案", F)]),
    (WON, "赢单", 100, StageOutcome.WON, []),
    (LOST, "输单", 0, StageOutcome.LOST, [("输单原因", T)]),
]


def ensure_default_stages(session: Session) -> list[Stage]:
    """Create the default stages if none exist yet; never touches stages an admin has edited."""
    existing = list(session.scalars(select(Stage).order_by(Stage.position)))
    if existing:
        return existing
    stages = []
    for position, (code, name, probability, outcome, items) in enumerate(DEFAULT_STAGES, start=1):
        stage = Stage(code=code, name=name, position=position, win_probability=probability, outcome=outcome)
        stage.checklist = [
            ChecklistItem(name=item, kind=kind, required=True, position=i) for i, (item, kind) in enumerate(items)
        ]
        session.add(stage)
        stages.append(stage)
    session.flush()
    return stages


def stage_by_code(session: Session, code: str) -> Stage:
    stage = session.scalars(select(Stage).where(Stage.code == code, Stage.deleted_at.is_(None))).first()
    if stage is None:
        stage = session.scalars(select(Stage).where(Stage.name == code, Stage.deleted_at.is_(None))).first()
    if stage is None:
        raise DomainError(f"没有名为「{code}」的销售阶段")
    return stage


def required_items(stage: Stage) -> list[ChecklistItem]:
    return [item for item in stage.checklist if item.required and item.deleted_at is None]
