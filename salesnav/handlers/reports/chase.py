"""催促补录 by the system: the records that do not count yet, listed to their rep once a day (and counted per rep in
the manager's report) instead of the manager chasing.

What makes a record count is the metrics' own definition:
- a touchpoint counts as 有效触点 with a customer-side person present and a next action with its due time
  (Touchpoint.is_effective); one of the last `reports.chase_lookback_days` days missing either is listed;
- an open deal counts when its current stage's checklist has its evidence: the required items of that stage not
  yet given (handlers/checklists.py: provided_items, the same test `outstanding_items` applies to a move).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, literal_column, or_, select
from sqlalchemy.orm import Session, selectinload

from salesnav import clock
from salesnav.handlers.checklists import Evidence, apply_evidence, provided_items
from salesnav.handlers.records import record_event
from salesnav.handlers.reports.schedule import ReportSettings
from salesnav.handlers.stages import required_items
from salesnav.metrics.scope import Scope
from salesnav.models import (
    ChecklistItem,
    Customer,
    DomainEvent,
    Opportunity,
    OpportunityStatus,
    Stage,
    Touchpoint,
    User,
)
from salesnav.models.touchpoints import ANY_CONTACT_BIT

NO_PERSON = "在场人员"
NO_NEXT_ACTION = "下一步及时间"


@dataclass(frozen=True)
class ChaseItem:
    kind: str  # touchpoint | deal
    subject_id: int
    rep_id: int
    label: str  # 「华山医院 · 3月2日面访」/「华山医院 · CT球管（方案演示）」
    missing: tuple[str, ...]


def _incomplete_touchpoint() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    no_person = Touchpoint.contact_roles.op("&")(ANY_CONTACT_BIT) == 0
    no_next = or_(
        Touchpoint.next_action.is_(None),
        func.trim(Touchpoint.next_action) == literal_column("''"),
        Touchpoint.next_action_due.is_(None),
    )
    return no_person, no_next


def _since(session: Session, now: datetime) -> datetime:
    return now - timedelta(days=ReportSettings.load(session).chase_lookback_days)


def _stages(session: Session) -> dict[int, Stage]:
    return {s.id: s for s in session.scalars(select(Stage).options(selectinload(Stage.checklist)))}


def _deals_missing(session: Session, scope: Scope) -> list[tuple[Opportunity, str, list[str]]]:
    """Open deals in scope whose current stage lacks required evidence: (deal, customer name, item names)."""
    stages = _stages(session)
    wanted = {sid for sid, stage in stages.items() if required_items(stage)}
    if not wanted:
        return []
    rows = session.execute(
        select(Opportunity, Customer.name)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.deleted_at.is_(None),
            Opportunity.stage_id.in_(sorted(wanted)),
            scope.covers(Opportunity.owner_id),
        )
        .order_by(Opportunity.id)
    ).all()
    provided = provided_items(session, [opp.id for opp, _ in rows])
    out = []
    for opp, customer in rows:
        missing = [item.name for item in required_items(stages[opp.stage_id]) if item.id not in provided[opp.id]]
        if missing:
            out.append((opp, customer, missing))
    return out


def incomplete_counts(session: Session, now: datetime, scope: Scope) -> dict[int, int]:
    """Per rep in scope: how many of their records do not count yet (what `items_for` would list to them)."""
    no_person, no_next = _incomplete_touchpoint()
    counts: dict[int, int] = defaultdict(int)
    for rep_id, n in session.execute(
        select(Touchpoint.rep_id, func.count())
        .where(
            Touchpoint.occurred_at >= _since(session, now),
            Touchpoint.occurred_at <= now,
            Touchpoint.deleted_at.is_(None),
            scope.covers(Touchpoint.rep_id),
            or_(no_person, no_next),
        )
        .group_by(Touchpoint.rep_id)
    ):
        counts[rep_id] += n
    for opp, _customer, _missing in _deals_missing(session, scope):
        counts[opp.owner_id] += 1
    return dict(counts)


def items_for(session: Session, now: datetime, scope: Scope, tz: ZoneInfo) -> dict[int, list[ChaseItem]]:
    """Per rep in scope, the records to complete: touchpoints first (oldest first), then deals."""
    no_person, no_next = _incomplete_touchpoint()
    out: dict[int, list[ChaseItem]] = defaultdict(list)
    for tp_id, rep_id, occurred, type_, customer, lacks_person, lacks_next in session.execute(
        select(
            Touchpoint.id, Touchpoint.rep_id, Touchpoint.occurred_at, Touchpoint.type, Customer.name, no_person, no_next
        )
        .join(Customer, Customer.id == Touchpoint.customer_id)
        .where(
            Touchpoint.occurred_at >= _since(session, now),
            Touchpoint.occurred_at <= now,
            Touchpoint.deleted_at.is_(None),
            scope.covers(Touchpoint.rep_id),
            or_(no_person, no_next),
        )
        .order_by(Touchpoint.occurred_at, Touchpoint.id)
    ):
        local = occurred.astimezone(tz)
        missing = tuple(m for m, lacking in ((NO_PERSON, lacks_person), (NO_NEXT_ACTION, lacks_next)) if lacking)
        label = f"{customer} · {local.month}月{local.day}日{type_.label}"
        out[rep_id].append(ChaseItem("touchpoint", tp_id, rep_id, label, missing))
    for opp, customer, missing_items in _deals_missing(session, scope):
        label = f"{customer} · {opp.title}（{opp.stage.name}）"
        out[opp.owner_id].append(ChaseItem("deal", opp.id, opp.owner_id, label, tuple(missing_items)))
    return dict(out)


# --- completing a deal's evidence from the list (one tap, then a message per item) -------------------------

EVIDENCE_STARTED = "record_chase.evidence_started"
EVIDENCE_GIVEN = "record_chase.evidence_given"
DONE_WORDS = ("已完成", "完成", "好了", "已勾选", "是", "有")


def missing_evidence(session: Session, opp: Opportunity) -> list[ChecklistItem]:
    """The required items of the deal's current stage it has no complete evidence for."""
    provided = provided_items(session, [opp.id])[opp.id]
    return [item for item in required_items(opp.stage) if item.id not in provided]


def start_evidence(session: Session, rep: User, opp: Opportunity) -> list[ChecklistItem]:
    """The rep tapped 补 on a deal: their next messages give its current stage's missing items, one by one."""
    missing = missing_evidence(session, opp)
    if missing:
        record_event(session, EVIDENCE_STARTED, "opportunity", opp.id, rep, item_ids=[i.id for i in missing])
    return missing


@dataclass(frozen=True)
class PendingEvidence:
    opportunity: Opportunity
    item: ChecklistItem
    left: int  # items still missing, this one included


def pending_evidence(session: Session, rep: User, window: timedelta) -> PendingEvidence | None:
    """The deal whose evidence the rep is giving (started within `window` of the last step), and its next item."""
    started = session.scalars(
        select(DomainEvent)
        .where(
            DomainEvent.kind.in_((EVIDENCE_STARTED, EVIDENCE_GIVEN)),
            DomainEvent.actor_id == rep.id,
            DomainEvent.occurred_at >= clock.now() - window,
        )
        .order_by(DomainEvent.id.desc())
        .limit(1)
    ).first()
    if started is None:
        return None
    opp = session.get(Opportunity, started.subject_id)
    if opp is None or opp.status is not OpportunityStatus.OPEN:
        return None
    missing = missing_evidence(session, opp)
    return PendingEvidence(opp, missing[0], len(missing)) if missing else None


def give_evidence(session: Session, rep: User, pending: PendingEvidence, given: Evidence) -> list[ChecklistItem]:
    """Keep what the rep gave for the pending item (refused, in Chinese, when it is not what the item needs);
    returns what the stage still lacks."""
    apply_evidence(session, rep, pending.opportunity, [pending.opportunity.stage], {pending.item.id: given})
    record_event(session, EVIDENCE_GIVEN, "opportunity", pending.opportunity.id, rep, item_id=pending.item.id)
    return missing_evidence(session, pending.opportunity)
