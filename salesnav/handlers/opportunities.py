"""Opportunities (商机推进卡): create from a touchpoint, advance a stage with its checklist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from salesnav import clock
from salesnav.handlers import collaboration, rule_settings
from salesnav.handlers.access import CUSTOMER_NOT_FOUND, customer_for, customers_for, opportunity_for
from salesnav.handlers.errors import ChecklistIncomplete, DomainError, Forbidden, NotFound, OpportunityClosed
from salesnav.handlers.records import audit, audits, record_event, record_events
from salesnav.handlers.rules import credit_check
from salesnav.handlers.stages import CONTRACT_APPROVAL, INITIAL, SAMPLE_TEST, required_items, stage_by_code
from salesnav.models import (
    Attachment,
    ChecklistEvidence,
    IncentivePoints,
    Opportunity,
    OpportunityStatus,
    PartStatus,
    Role,
    Stage,
    StageOutcome,
    StageTransition,
    Touchpoint,
    User,
    bulk,
)

OVERRIDE_ROLES = (Role.MANAGER, Role.DIRECTOR, Role.ADMIN)


@dataclass(frozen=True)
class Evidence:
    """What a user provides for one checklist item: text, an uploaded file, or a tick."""

    text: str | None = None
    attachment_id: int | None = None
    checked: bool = False

    @property
    def provided(self) -> bool:
        return bool((self.text and self.text.strip()) or self.attachment_id or self.checked)


def create_from_touchpoint(
    session: Session,
    actor: User,
    *,
    touchpoint_id: int,
    title: str,
    product_line: str,
    expected_amount_fen: int,
) -> Opportunity:
    touchpoint = session.get(Touchpoint, touchpoint_id)
    if touchpoint is None or touchpoint.deleted_at:
        raise NotFound("触点不存在")
    customer = customer_for(session, actor, touchpoint.customer_id)
    initial = stage_by_code(session, INITIAL)
    spec = NewOpportunity(touchpoint_id, title, product_line, expected_amount_fen)
    row = _opportunity_row(session, customer.owner_id, touchpoint, spec, initial, clock.now())
    opp = Opportunity(**row, stage=initial)
    session.add(opp)
    session.flush()
    touchpoint.opportunity_id = opp.id
    session.add(StageTransition(**_first_transition(opp.id, row, actor)))
    audit(session, actor, "opportunity", opp.id, "create", {}, _created_snapshot(row, initial))
    record_event(session, "opportunity.created", "opportunity", opp.id, actor, **_created_payload(row))
    return opp


@dataclass(frozen=True)
class NewOpportunity:
    """One deal to open from a touchpoint, as `create_from_touchpoint`'s arguments."""

    touchpoint_id: int
    title: str
    product_line: str
    expected_amount_fen: int


def create_from_touchpoints(session: Session, actor: User, specs: list[NewOpportunity]) -> list[int | DomainError]:
    """`create_from_touchpoint` for many at once (imports): the same checks, the deals, their first history
    rows and audit entries written in one statement each, the touchpoints linked, events in bulk.
    Each spec gets its opportunity's id, or the DomainError that refused it."""
    now = clock.now()
    initial = stage_by_code(session, INITIAL)
    wanted = list({spec.touchpoint_id for spec in specs})
    touchpoints = {}
    for start in range(0, len(wanted), 1000):
        for touchpoint in session.execute(
            select(
                Touchpoint.id,
                Touchpoint.customer_id,
                Touchpoint.opportunity_id,
                Touchpoint.occurred_at,
                Touchpoint.deleted_at,
            ).where(bulk.among(Touchpoint.id, wanted[start : start + 1000]))
        ):
            touchpoints[touchpoint.id] = touchpoint
    customers = customers_for(session, actor, [tp.customer_id for tp in touchpoints.values()])
    out: list[dict[str, Any] | DomainError] = []
    for spec in specs:
        touchpoint = touchpoints.get(spec.touchpoint_id)
        try:
            if touchpoint is None or touchpoint.deleted_at:
                raise NotFound("触点不存在")
            owner_id = customers.get(touchpoint.customer_id)
            if owner_id is None:
                raise NotFound(CUSTOMER_NOT_FOUND)
            out.append(_opportunity_row(session, owner_id, touchpoint, spec, initial, now))
        except DomainError as exc:
            out.append(exc)
    new = [row for row in out if isinstance(row, dict)]
    bulk.insert_new(session, Opportunity.__table__, new)
    _link_touchpoints(session, {row["last_touchpoint_id"]: row["id"] for row in new})
    bulk.insert_new(session, StageTransition.__table__, [_first_transition(row["id"], row, actor) for row in new])
    audits(session, actor, "opportunity", "create", [(row["id"], {}, _created_snapshot(row, initial)) for row in new])
    record_events(
        session, "opportunity.created", "opportunity", [(row["id"], _created_payload(row)) for row in new], actor
    )
    return [row["id"] if isinstance(row, dict) else row for row in out]


def _opportunity_row(
    session: Session, owner_id: int, touchpoint: Any, spec: NewOpportunity, initial: Stage, now: datetime
) -> dict[str, Any]:
    """The checks and the column values of a deal opened from a touchpoint (a Touchpoint, or a row with its
    id, customer_id, opportunity_id and occurred_at), owned by the customer's owner."""
    title, product_line = (spec.title or "").strip(), (spec.product_line or "").strip()
    amount = spec.expected_amount_fen
    if not title:
        raise DomainError("请填写商机名称")
    if not product_line:
        raise DomainError("请填写产品线")
    if not isinstance(amount, int) or amount <= 0:
        raise DomainError("预计成交金额必须大于 0")
    if touchpoint.opportunity_id is not None:
        existing = session.get(Opportunity, touchpoint.opportunity_id)
        if existing and existing.status is OpportunityStatus.OPEN:
            raise DomainError(f"该触点已关联商机「{existing.title}」")
    return {
        "customer_id": touchpoint.customer_id,
        "owner_id": owner_id,
        "title": title,
        "product_line": product_line,
        "expected_amount_fen": amount,
        "stage_id": initial.id,
        "status": OpportunityStatus.OPEN,
        "last_touchpoint_id": touchpoint.id,
        "last_follow_up_at": touchpoint.occurred_at,
        "stage_entered_at": now,
    }


def _link_touchpoints(session: Session, deal_of: dict[int, int]) -> None:
    """Each touchpoint (id → its new deal's id) now belongs to its deal: one statement, many rows."""
    bulk.set_column(session, Touchpoint.__table__, "opportunity_id", deal_of)
    for tp_id in deal_of:  # a caller holding one of these touchpoints reads the link afresh
        loaded = session.identity_map.get(identity_key(Touchpoint, tp_id))
        if loaded is not None:
            session.expire(loaded, ["opportunity_id", "updated_at"])


def _first_transition(opportunity_id: int, row: dict[str, Any], actor: User) -> dict[str, Any]:
    """The deal's first history row: it entered its first stage, from the touchpoint it was opened on."""
    return {
        "opportunity_id": opportunity_id,
        "from_stage_id": None,
        "to_stage_id": row["stage_id"],
        "actor_id": actor.id,
        "touchpoint_id": row["last_touchpoint_id"],
        "occurred_at": row["stage_entered_at"],
        "checklist_complete": True,
    }


def _created_snapshot(row: dict[str, Any], stage: Stage) -> dict[str, object]:
    return {"stage": stage.code, "status": row["status"].value, "owner_id": row["owner_id"]}


def _created_payload(row: dict[str, Any]) -> dict[str, object]:
    return {
        "customer_id": row["customer_id"],
        "touchpoint_id": row["last_touchpoint_id"],
        "amount_fen": row["expected_amount_fen"],
    }


def advance_stage(
    session: Session,
    actor: User,
    *,
    opportunity_id: int,
    to_stage: str,
    touchpoint_id: int | None = None,
    evidence: dict[int, Evidence] | None = None,
    override_reason: str | None = None,
) -> StageTransition:
    """Move an opportunity to `to_stage` (code or Chinese name).

    Refused when the opportunity is closed or frozen, when it is not linked to the customer's
    latest touchpoint, or when the target stage's checklist is incomplete (the missing items are
    listed) — unless a manager overrides with a reason, which is kept and lowers compliance.
    """
    opp = opportunity_for(session, actor, opportunity_id)
    current = opp.stage
    if opp.status is not OpportunityStatus.OPEN:
        raise OpportunityClosed(f"商机已关闭（{opp.status.label}），不能再推进")
    target = stage_by_code(session, to_stage)
    if target.id == current.id:
        raise DomainError(f"商机已处于「{target.name}」阶段")
    if target.outcome is StageOutcome.OPEN and target.position < current.position:
        raise DomainError(f"不能从「{current.name}」退回到「{target.name}」")
    if opp.approval_frozen and target.outcome is not StageOutcome.LOST:
        raise DomainError(f"该商机审批已冻结：{opp.approval_frozen_reason or '请联系销售总监'}")

    touchpoint = _latest_touchpoint(session, opp, touchpoint_id)
    _apply_evidence(session, actor, opp, target, evidence or {})
    missing = _missing_items(session, opp, target)
    override_reason = (override_reason or "").strip() or None
    if missing and not override_reason:
        raise ChecklistIncomplete(target.name, missing)
    if missing and actor.role not in OVERRIDE_ROLES:
        raise Forbidden("只有销售主管及以上可以跳过检查清单")
    if target.code == CONTRACT_APPROVAL:
        credit_check.check_before_contract_approval(session, actor, opp)  # big deals: may refuse and freeze

    now = clock.now()
    before = _snapshot(opp, current)
    transition = StageTransition(
        opportunity_id=opp.id,
        from_stage_id=current.id,
        to_stage_id=target.id,
        actor_id=actor.id,
        touchpoint_id=touchpoint.id,
        occurred_at=now,
        checklist_complete=not missing,
        override_reason=override_reason if missing else None,
    )
    session.add(transition)
    opp.stage = target
    opp.stage_entered_at = now
    opp.last_touchpoint_id = touchpoint.id
    opp.last_follow_up_at = max(opp.last_follow_up_at, touchpoint.occurred_at)
    if target.outcome is not StageOutcome.OPEN:
        opp.status = OpportunityStatus(target.outcome.value)
        opp.closed_at = now
    session.flush()
    audit(session, actor, "opportunity", opp.id, "stage_change", before, _snapshot(opp, target))
    record_event(
        session,
        "opportunity.stage_advanced",
        "opportunity",
        opp.id,
        actor,
        from_stage=current.code,
        to_stage=target.code,
        checklist_complete=not missing,
        amount_fen=opp.expected_amount_fen,
    )
    if target.code == SAMPLE_TEST:
        collaboration.open_ticket(session, actor, opp, reason="商机进入样品测试")
    if opp.status is OpportunityStatus.WON:
        _award_incentive_points(session, actor, opp)
    return transition


def _latest_touchpoint(session: Session, opp: Opportunity, touchpoint_id: int | None) -> Touchpoint:
    latest = session.scalars(
        select(Touchpoint)
        .where(Touchpoint.customer_id == opp.customer_id, Touchpoint.deleted_at.is_(None))
        .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        raise DomainError("推进商机前请先记录一次客户触点")
    if touchpoint_id is not None and touchpoint_id != latest.id:
        chosen = session.get(Touchpoint, touchpoint_id)
        if chosen is None or chosen.customer_id != opp.customer_id:
            raise DomainError("关联的触点不属于该商机的客户")
        raise DomainError("请关联该客户最新的一条触点记录后再推进")
    return latest


def _apply_evidence(
    session: Session, actor: User, opp: Opportunity, target: Stage, evidence: dict[int, Evidence]
) -> None:
    items = {item.id: item for item in target.checklist if item.deleted_at is None}
    now = clock.now()
    for item_id, given in evidence.items():
        item = items.get(item_id)
        if item is None:
            raise DomainError(f"检查项 {item_id} 不属于「{target.name}」阶段")
        if not given.provided:
            continue
        if given.attachment_id is not None:
            attachment = session.get(Attachment, given.attachment_id)
            if attachment is None or attachment.deleted_at:
                raise DomainError(f"「{item.name}」的附件不存在")
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


def _missing_items(session: Session, opp: Opportunity, target: Stage) -> list[str]:
    return missing_items(session, [opp.id], target)[opp.id]


def missing_items(session: Session, opportunity_ids: list[int], target: Stage) -> dict[int, list[str]]:
    """The checklist items of `target` each deal still lacks (what makes `advance_stage` refuse), in one query."""
    provided: dict[int, set[int]] = {oid: set() for oid in opportunity_ids}
    for start in range(0, len(opportunity_ids), 1000):
        chunk = opportunity_ids[start : start + 1000]
        for ev in session.scalars(select(ChecklistEvidence).where(bulk.among(ChecklistEvidence.opportunity_id, chunk))):
            if (ev.text and ev.text.strip()) or ev.attachment_id or ev.checked:
                provided[ev.opportunity_id].add(ev.checklist_item_id)
    required = required_items(target)
    return {oid: [item.name for item in required if item.id not in provided[oid]] for oid in opportunity_ids}


def _award_incentive_points(session: Session, actor: User, opp: Opportunity) -> None:
    points = int(rule_settings.get(session, "collaboration.incentive_points"))
    now = clock.now()
    for ticket in collaboration.tickets_of(session, opp.id):
        for part in ticket.parts:
            if part.status is PartStatus.CLOSED and part.first_valid_response_at is not None:
                session.add(
                    IncentivePoints(
                        department_id=part.department_id,
                        ticket_part_id=part.id,
                        opportunity_id=opp.id,
                        points=points,
                        awarded_at=now,
                    )
                )
                record_event(
                    session,
                    "collaboration.points_awarded",
                    "ticket_part",
                    part.id,
                    actor,
                    department_id=part.department_id,
                    points=points,
                    opportunity_id=opp.id,
                )


def _snapshot(opp: Opportunity, stage: Stage) -> dict[str, object]:
    return {"stage": stage.code, "status": opp.status.value, "owner_id": opp.owner_id}
