"""Stage checklists: which stages a move passes, what each item accepts as evidence, what a deal still lacks.

A move over several stages is judged stage by stage: every stage it passes asks for its own checklist, so a
deal cannot reach 赢单 from 初步接触 by skipping the evidence in between (docs/product.md). What counts as given
depends on the item's kind: a file item needs a file (a tick or a sentence is not a 演示PPT), a text item
needs words, a checkbox a tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.attachments import DOCUMENTS, IMAGES, usable_attachment
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.stages import required_items
from salesnav.models import (
    ChecklistEvidence,
    ChecklistItem,
    ChecklistItemKind,
    Opportunity,
    Stage,
    StageOutcome,
    User,
    bulk,
)

# A file item is a document or its photo: a voice note or an unrecognised blob is not a 报价单.
FILE_TYPES = frozenset({*IMAGES.values(), *DOCUMENTS.values()})
FILE_TYPES_TEXT = "图片、PDF 或 PPT"


@dataclass(frozen=True)
class Evidence:
    """What a user provides for one checklist item: text, an uploaded file, or a tick."""

    text: str | None = None
    attachment_id: int | None = None
    checked: bool = False

    @property
    def provided(self) -> bool:
        return bool((self.text and self.text.strip()) or self.attachment_id or self.checked)


def satisfies(kind: ChecklistItemKind, *, text: str | None, attachment_id: int | None, checked: bool) -> bool:
    """Whether what was given completes an item of this kind."""
    has_text = bool(text and text.strip())
    if kind is ChecklistItemKind.FILE:
        return attachment_id is not None
    if kind is ChecklistItemKind.TEXT:
        return has_text or attachment_id is not None
    return checked or has_text or attachment_id is not None


def stages_passed(session: Session, current: Stage, target: Stage) -> list[Stage]:
    """The open stages a move from `current` to `target` goes through, in order, neither end included.

    None for a move to a lost outcome: 输单 is an exit from wherever the deal stands, not a step forward."""
    if target.outcome is StageOutcome.LOST or target.position <= current.position:
        return []
    return list(
        session.scalars(
            select(Stage)
            .where(
                Stage.deleted_at.is_(None),
                Stage.outcome == StageOutcome.OPEN,
                Stage.position > current.position,
                Stage.position < target.position,
            )
            .order_by(Stage.position)
        )
    )


def apply_evidence(
    session: Session, actor: User, opp: Opportunity, stages: list[Stage], evidence: Mapping[int, Evidence]
) -> None:
    """Keep what `actor` gave for items of `stages` (the stages a move passes and the one it lands on).

    Refused, naming the item, when the item is not on those stages' checklists, when a file item is only
    ticked or described, when its file is of the wrong kind, or when the file is not one the actor may use."""
    items: dict[int, ChecklistItem] = {
        item.id: item for stage in stages for item in stage.checklist if item.deleted_at is None
    }
    names = "」「".join(stage.name for stage in stages)
    now = clock.now()
    for item_id, given in evidence.items():
        item = items.get(item_id)
        if item is None:
            raise DomainError(f"检查项 {item_id} 不属于「{names}」阶段")
        if not given.provided:
            continue
        if given.attachment_id is not None:
            _check_attachment(session, actor, item, given.attachment_id)
        if not satisfies(item.kind, text=given.text, attachment_id=given.attachment_id, checked=given.checked):
            raise DomainError(_what_item_needs(item))
        row = session.scalars(
            select(ChecklistEvidence).where(
                ChecklistEvidence.opportunity_id == opp.id, ChecklistEvidence.checklist_item_id == item_id
            )
        ).first()
        if row is None:
            row = ChecklistEvidence(opportunity_id=opp.id, checklist_item_id=item_id)
            session.add(row)
        row.text, row.attachment_id, row.checked = given.text, given.attachment_id, given.checked
        row.provided_by_id, row.provided_at = actor.id, now
    session.flush()


def _what_item_needs(item: ChecklistItem) -> str:
    if item.kind is ChecklistItemKind.FILE:
        return f"「{item.name}」需要上传文件（{FILE_TYPES_TEXT}），勾选或文字不能代替"
    return f"「{item.name}」需要填写文字说明"


def _check_attachment(session: Session, actor: User, item: ChecklistItem, attachment_id: int) -> None:
    """The file exists, is one the actor may use (theirs, their team's for a manager, or the material library's),
    and fits the item."""
    try:
        attachment = usable_attachment(session, actor, attachment_id)
    except NotFound as exc:
        raise DomainError(f"「{item.name}」的附件不存在或您无权使用，请重新上传") from exc
    if item.kind is ChecklistItemKind.FILE and attachment.content_type not in FILE_TYPES:
        raise DomainError(f"「{item.name}」的附件类型不符：请上传{FILE_TYPES_TEXT}")


def provided_items(session: Session, opportunity_ids: list[int]) -> dict[int, set[int]]:
    """The checklist items each deal has complete evidence for, judged by each item's kind; in one query."""
    provided: dict[int, set[int]] = {oid: set() for oid in opportunity_ids}
    if not opportunity_ids:
        return provided
    rows = session.execute(
        select(
            ChecklistEvidence.opportunity_id,
            ChecklistEvidence.checklist_item_id,
            ChecklistEvidence.text,
            ChecklistEvidence.attachment_id,
            ChecklistEvidence.checked,
            ChecklistItem.kind,
        )
        .join(ChecklistItem, ChecklistItem.id == ChecklistEvidence.checklist_item_id)
        .where(bulk.among(ChecklistEvidence.opportunity_id, opportunity_ids))
    )
    for opp_id, item_id, text, attachment_id, checked, kind in rows:
        if satisfies(kind, text=text, attachment_id=attachment_id, checked=checked):
            provided[opp_id].add(item_id)
    return provided


def missing_items(session: Session, opportunity_ids: list[int], target: Stage) -> dict[int, list[str]]:
    """The checklist items of `target` each deal still lacks (what makes `advance_stage` refuse), in one query."""
    required = required_items(target)
    provided = provided_items(session, opportunity_ids)
    return {oid: [item.name for item in required if item.id not in provided[oid]] for oid in opportunity_ids}


def outstanding_items(session: Session, opp: Opportunity, current: Stage, target: Stage) -> list[ChecklistItem]:
    """The required items a move of `opp` from `current` to `target` still lacks, stage by stage in path order
    (what a channel asks for before it calls `advance_stage`)."""
    provided = provided_items(session, [opp.id])[opp.id]
    path = [*stages_passed(session, current, target), target]
    return [item for stage in path for item in required_items(stage) if item.id not in provided]


def item_prompt(item: ChecklistItem) -> str:
    """How to ask a person for one item, in their words."""
    if item.kind is ChecklistItemKind.FILE:
        return f"「{item.name}」：请拍照或发送文件（{FILE_TYPES_TEXT}）"
    if item.kind is ChecklistItemKind.TEXT:
        return f"「{item.name}」：请直接回复文字"
    return f"「{item.name}」：完成后点「已完成」，或回复一句说明"
