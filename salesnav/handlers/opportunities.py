"""Opportunities (商机推进卡): create from a touchpoint, advance a stage with its checklist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from salesnav import clock
from salesnav.handlers import collaboration, rule_settings
from salesnav.handlers import customer_events as ce
from salesnav.handlers.checklists import Evidence, apply_evidence, missing_items, stages_passed
from salesnav.handlers.errors import ChecklistIncomplete, DomainError, Forbidden, NotFound, OpportunityClosed
from salesnav.handlers.records import audit, audits, record_event, record_events
from salesnav.handlers.rules import credit_check, events
from salesnav.handlers.scope import CUSTOMER_NOT_FOUND, customer_for, customers_for, opportunity_for
from salesnav.handlers.stages import CONTRACT_APPROVAL, INITIAL, SAMPLE_TEST, stage_by_code
from salesnav.models import (
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
    at_touchpoint_time: bool = False  # history (an import): the deal opened when its touchpoint happened
    id: int | None = None  # taken up front, its touchpoint written already linked to it (NewTouchpoint.opens_deal)


def create_from_touchpoints(session: Session, actor: User, specs: list[NewOpportunity]) -> list[int | DomainError]:
    """`create_from_touchpoint` for many at once (imports): the same checks, the deals, their first history
    rows and audit entries written in one statement each, the touchpoints linked, events in bulk.
    Each spec gets its opportunity's id, or the DomainError that refused it."""
    now = clock.now()
    initial = stage_by_code(session, INITIAL)
    wanted = list({spec.touchpoint_id for spec in specs})
    touchpoints = {}
    if wanted:
        for row in session.execute(
            select(
                Touchpoint.id,
                Touchpoint.customer_id,
                Touchpoint.opportunity_id,
                Touchpoint.occurred_at,
                Touchpoint.deleted_at,
            ).where(bulk.among(Touchpoint.id, wanted))
        ):
            touchpoints[row.id] = row
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
            opened = touchpoint.occurred_at if spec.at_touchpoint_time else now
            deal = _opportunity_row(session, owner_id, touchpoint, spec, initial, opened)
            if spec.id is not None:
                deal["id"] = spec.id
            out.append(deal)
        except DomainError as exc:
            out.append(exc)
    new = [row for row in out if isinstance(row, dict)]
    unlinked = [row for row in new if "id" not in row]
    bulk.insert(session, Opportunity.__table__, [row for row in new if "id" in row])  # linked already
    bulk.insert_new(session, Opportunity.__table__, unlinked)
    _link_touchpoints(session, {row["last_touchpoint_id"]: row["id"] for row in unlinked})
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
    if touchpoint.opportunity_id is not None and touchpoint.opportunity_id != spec.id:
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
    evidence: Mapping[int, Evidence] | None = None,
    override_reason: str | None = None,
    override_reasons: Mapping[str, str] | None = None,
    occurred_at: datetime | None = None,
) -> StageTransition:
    """Move an opportunity to `to_stage` (code or Chinese name); every channel that moves a deal calls this.

    Refused when the opportunity is closed or frozen, when it is not linked to the customer's latest
    touchpoint, or when a checklist is incomplete — that of the stage it lands on and that of every stage it
    passes on the way (the missing items are listed, stage by stage). A manager or above may override with a
    reason for each stage whose checklist is incomplete (`override_reason` for the target, `override_reasons`
    by stage code or name for the stages passed); the move is then kept as non-compliant. Passing or landing
    on 样品测试 opens the collaboration ticket; passing or landing on 合同审批 or later runs the credit check.
    `occurred_at` dates a move that happened earlier (history brought in by an import; it opens no ticket,
    that sample test is long past); default now.
    """
    opp = opportunity_for(session, actor, opportunity_id)
    current = opp.stage
    target = stage_by_code(session, to_stage)
    check_move(opp, target)

    touchpoint = _latest_touchpoint(session, opp, touchpoint_id)
    path = [*stages_passed(session, current, target), target]
    apply_evidence(session, actor, opp, path, evidence or {})
    missing = {stage.code: _missing_items(session, opp, stage) for stage in path}
    reasons = _override_reasons(session, target, override_reason, override_reasons)
    skipped = [stage for stage in path if missing[stage.code]]
    unexplained = [stage for stage in skipped if stage.code not in reasons]
    if unexplained:
        raise ChecklistIncomplete(
            target.name,
            [name for stage in unexplained for name in missing[stage.code]],
            {stage.name: missing[stage.code] for stage in unexplained},
        )
    if skipped and actor.role not in OVERRIDE_ROLES:
        raise Forbidden("只有销售主管及以上可以跳过检查清单")
    if _reaches_contract_approval(session, path):
        credit_check.check_before_contract_approval(session, actor, opp)  # big deals: may refuse and freeze

    now = min(occurred_at, clock.now()) if occurred_at else clock.now()
    before = _snapshot(opp, current)
    transition = StageTransition(
        opportunity_id=opp.id,
        from_stage_id=current.id,
        to_stage_id=target.id,
        actor_id=actor.id,
        touchpoint_id=touchpoint.id,
        occurred_at=now,
        checklist_complete=not skipped,
        override_reason=_joined_reasons(target, skipped, reasons) if skipped else None,
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
        events.STAGE_ADVANCED,
        "opportunity",
        opp.id,
        actor,
        from_stage=current.code,
        to_stage=target.code,
        passed=[stage.code for stage in path[:-1]],
        checklist_complete=not skipped,
        overridden=[stage.code for stage in skipped],
        amount_fen=opp.expected_amount_fen,
    )
    ce.record_stage_move(session, opp, transition, current, target, history=occurred_at is not None)
    sample_test = next((stage for stage in path if stage.code == SAMPLE_TEST), None)
    if sample_test is not None and occurred_at is None:  # history (an import): its sample test is long past
        reason = "商机进入样品测试" if target is sample_test else f"商机越过样品测试，直接推进到「{target.name}」"
        collaboration.open_ticket(session, actor, opp, reason=reason)
    if opp.status is OpportunityStatus.WON:
        _award_incentive_points(session, actor, opp)
    return transition


def check_move(opp: Opportunity, target: Stage) -> None:
    """What refuses a move before any checklist is read: a closed or frozen deal, no move, a move back."""
    current = opp.stage
    if opp.status is not OpportunityStatus.OPEN:
        raise OpportunityClosed(f"商机已关闭（{opp.status.label}），不能再推进")
    if target.id == current.id:
        raise DomainError(f"商机已处于「{target.name}」阶段")
    if target.outcome is StageOutcome.OPEN and target.position < current.position:
        raise DomainError(f"不能从「{current.name}」退回到「{target.name}」")
    if opp.approval_frozen and target.outcome is not StageOutcome.LOST:
        raise DomainError(f"该商机审批已冻结：{opp.approval_frozen_reason or '请联系销售总监'}")


def next_stage(session: Session, stage: Stage, *, missing_ok: bool = False) -> Stage | None:
    """The stage after `stage` on the way to 赢单 (输单 is never "next"); None (or a refusal) after the last."""
    following = session.scalars(
        select(Stage)
        .where(Stage.deleted_at.is_(None), Stage.outcome != StageOutcome.LOST, Stage.position > stage.position)
        .order_by(Stage.position)
        .limit(1)
    ).first()
    if following is None and not missing_ok:
        raise DomainError(f"「{stage.name}」之后没有可推进的阶段")
    return following


def _override_reasons(
    session: Session, target: Stage, override_reason: str | None, override_reasons: Mapping[str, str] | None
) -> dict[str, str]:
    """Stage code → the reason given to override its checklist (blank reasons count as none)."""
    out: dict[str, str] = {}
    for ref, reason in (override_reasons or {}).items():
        if (reason or "").strip():
            out[stage_by_code(session, ref).code] = reason.strip()
    if (override_reason or "").strip():
        out[target.code] = (override_reason or "").strip()
    return out


def _joined_reasons(target: Stage, skipped: list[Stage], reasons: dict[str, str]) -> str:
    """One line for the history row: the target's reason alone on a one-step move, each stage named otherwise."""
    if [stage.code for stage in skipped] == [target.code]:
        return reasons[target.code]
    return "；".join(f"{stage.name}：{reasons[stage.code]}" for stage in skipped)


def _reaches_contract_approval(session: Session, path: list[Stage]) -> bool:
    """Whether the move passes or lands on 合同审批 or any stage after it (赢单 included, 输单 never)."""
    target = path[-1]
    if target.outcome is StageOutcome.LOST:
        return False
    if any(stage.code == CONTRACT_APPROVAL for stage in path):
        return True
    approval = session.scalars(select(Stage).where(Stage.code == CONTRACT_APPROVAL, Stage.deleted_at.is_(None))).first()
    return approval is not None and target.position > approval.position


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


def _missing_items(session: Session, opp: Opportunity, target: Stage) -> list[str]:
    return missing_items(session, [opp.id], target)[opp.id]


def _award_incentive_points(session: Session, actor: User, opp: Opportunity) -> None:
    points = rule_settings.collaboration(session).incentive_points
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
