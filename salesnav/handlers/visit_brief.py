"""The brief before a visit (拜访简报) and the newest talk track (话术) for a deal's stage.

- A visit is due when a touchpoint's next action (the customer's latest touchpoint) or an open task about a
  customer or deal falls due; `brief.lead_minutes` before it, the rep gets one brief: the three objections
  most likely (handlers/objections.py: similar deals' 抵触 and 中性 touchpoints, how often, and the answer
  that preceded a won deal), the open items (tasks, the next stage's missing checklist), the people and their
  decision roles, and the talk track of the deal's line and stage. One brief per visit (a unique row).
- A talk track is a material tagged 话术 with a product line (or none: every line) and a stage. The newest one
  of each line and stage reaches every rep with an open deal there, once per rep (a unique row): a newer one
  published later reaches them again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from salesnav import clock
from salesnav.handlers import rule_settings
from salesnav.handlers.checklists import missing_items
from salesnav.handlers.deal_words import customer_and_deal
from salesnav.handlers.objections import ObjectionSignal, objections_in, predict
from salesnav.handlers.rules.texts import local_time
from salesnav.handlers.scope import customer_for
from salesnav.models import (
    LOCAL_USERID_PREFIX,
    TALK_TRACK_TAG,
    Contact,
    Customer,
    Emotion,
    Material,
    Opportunity,
    OpportunityStatus,
    Stage,
    StageOutcome,
    StageTransition,
    TalkTrackDelivery,
    Task,
    TaskStatus,
    Touchpoint,
    User,
    VisitBrief,
)
from salesnav.ports.notifications import TextToMember, notify

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DueVisit:
    source_type: str  # touchpoint | task
    source_id: int
    rep_id: int
    customer_id: int
    opportunity_id: int | None
    due_at: datetime
    what: str


# --- which visits are due ---------------------------------------------------------------------------------


def due_visits(session: Session, now: datetime, lead: timedelta) -> list[DueVisit]:
    """Visits due in (now, now + lead] that have no brief yet."""
    later = aliased(Touchpoint)
    superseded = exists().where(
        later.customer_id == Touchpoint.customer_id,
        later.deleted_at.is_(None),
        later.occurred_at > Touchpoint.occurred_at,
    )
    briefed_tp = exists().where(
        VisitBrief.source_type == "touchpoint",
        VisitBrief.source_id == Touchpoint.id,
        VisitBrief.due_at == Touchpoint.next_action_due,
    )
    out = [
        DueVisit("touchpoint", tp.id, tp.rep_id, tp.customer_id, tp.opportunity_id, tp.next_action_due, tp.next_action)
        for tp in session.scalars(
            select(Touchpoint).where(
                Touchpoint.deleted_at.is_(None),
                Touchpoint.next_action_due > now,
                Touchpoint.next_action_due <= now + lead,
                Touchpoint.has_next_step,
                ~superseded,
                ~briefed_tp,
            )
        )
        if tp.next_action_due is not None and tp.next_action
    ]
    briefed_task = exists().where(
        VisitBrief.source_type == "task", VisitBrief.source_id == Task.id, VisitBrief.due_at == Task.due_at
    )
    tasks = session.scalars(
        select(Task).where(
            Task.status == TaskStatus.OPEN,
            Task.due_at > now,
            Task.due_at <= now + lead,
            Task.subject_type.in_(("customer", "opportunity")),
            Task.subject_id.is_not(None),
            ~briefed_task,
        )
    ).all()
    deals = {
        o.id: o
        for o in session.scalars(
            select(Opportunity).where(
                Opportunity.id.in_([t.subject_id for t in tasks if t.subject_type == "opportunity"])
            )
        )
    }
    for task in tasks:
        assert task.due_at is not None and task.subject_id is not None
        if task.subject_type == "opportunity":
            deal = deals.get(task.subject_id)
            if deal is None:
                continue
            out.append(DueVisit("task", task.id, task.assignee_id, deal.customer_id, deal.id, task.due_at, task.title))
        else:
            out.append(DueVisit("task", task.id, task.assignee_id, task.subject_id, None, task.due_at, task.title))
    return out


# --- the objections history -------------------------------------------------------------------------------


def objection_signals(
    session: Session, since: datetime, product_line: str | None = None, until: datetime | None = None
) -> list[ObjectionSignal]:
    """Every objection heard on a 抵触 or 中性 touchpoint since `since` (of one product line's deals when given),
    with its deal's line, the customer's grade, the deal's stage then, and whether the deal was won."""
    q = (
        select(
            Touchpoint.id,
            Touchpoint.occurred_at,
            Touchpoint.summary,
            Touchpoint.next_action,
            Touchpoint.opportunity_id,
            Customer.grade,
            Opportunity.product_line,
            Opportunity.status,
        )
        .join(Customer, Customer.id == Touchpoint.customer_id)
        .outerjoin(Opportunity, Opportunity.id == Touchpoint.opportunity_id)
        .where(
            Touchpoint.deleted_at.is_(None),
            Touchpoint.emotion.in_((Emotion.RESISTANT, Emotion.NEUTRAL)),
            Touchpoint.occurred_at >= since,
        )
    )
    if product_line is not None:
        q = q.where(Opportunity.product_line == product_line)
    if until is not None:
        q = q.where(Touchpoint.occurred_at < until)
    rows = session.execute(q).all()
    moves: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    deal_ids = list({r.opportunity_id for r in rows if r.opportunity_id})
    for start in range(0, len(deal_ids), 1000):
        for opp_id, at, to_stage in session.execute(
            select(StageTransition.opportunity_id, StageTransition.occurred_at, StageTransition.to_stage_id)
            .where(StageTransition.opportunity_id.in_(deal_ids[start : start + 1000]))
            .order_by(StageTransition.occurred_at, StageTransition.id)
        ):
            moves[opp_id].append((at, to_stage))
    out = []
    for r in rows:
        names = objections_in(r.summary)
        if not names:
            continue
        stage_id = None
        for at, to_stage in moves.get(r.opportunity_id or 0, []):
            if at <= r.occurred_at:
                stage_id = to_stage
        won = r.status is OpportunityStatus.WON
        for name in names:
            out.append(
                ObjectionSignal(r.occurred_at, name, r.product_line, r.grade, stage_id, won, r.next_action, r.id)
            )
    return out


# --- the brief --------------------------------------------------------------------------------------------


def recent_signals(session: Session, now: datetime) -> list[ObjectionSignal]:
    """The objections of the last `brief.history_days`: read once per run of the sender, for all its briefs."""
    return objection_signals(session, now - timedelta(days=rule_settings.visit_brief(session).history_days))


def build_brief(
    session: Session, visit: DueVisit, now: datetime, signals: list[ObjectionSignal] | None = None
) -> dict[str, Any]:
    """What the rep should know before this visit, as plain values (stored with the brief, rendered by
    `brief_text` and by the client). `signals`: `recent_signals`, when the caller builds several briefs."""
    customer = session.get(Customer, visit.customer_id)
    assert customer is not None
    deal = session.get(Opportunity, visit.opportunity_id) if visit.opportunity_id else None
    if deal is None:  # a visit to a customer: its most recently followed open deal, if any
        deal = session.scalars(
            select(Opportunity)
            .where(
                Opportunity.customer_id == customer.id,
                Opportunity.status == OpportunityStatus.OPEN,
                Opportunity.deleted_at.is_(None),
            )
            .order_by(Opportunity.last_follow_up_at.desc())
        ).first()
    min_similar = rule_settings.visit_brief(session).min_similar
    if signals is None:
        signals = recent_signals(session, now)
    prediction = predict(
        signals,
        product_line=deal.product_line if deal else None,
        grade=customer.grade,
        stage_id=deal.stage_id if deal else None,
        before=now,
        min_similar=min_similar,
    )
    return {
        "customer": {"id": customer.id, "name": customer.name, "grade": customer.grade},
        "deal": (
            {"id": deal.id, "title": deal.title, "product_line": deal.product_line, "stage": deal.stage.name}
            if deal
            else None
        ),
        "due_at": visit.due_at.isoformat(),
        "what": visit.what,
        "objections": [
            {
                "objection": o.objection,
                "count": o.count,
                "share": round(o.share, 3),
                "won_answer": o.won_answer,
                "won_answer_count": o.won_answer_count,
            }
            for o in prediction.objections
        ],
        "objection_group": prediction.group,
        "objection_group_size": prediction.group_size,
        "open_items": _open_items(session, visit, customer, deal),
        "people": _people(session, customer),
        "talk_track": _talk_track(session, deal),
    }


def _open_items(session: Session, visit: DueVisit, customer: Customer, deal: Opportunity | None) -> list[str]:
    deal_ids = list(
        session.scalars(
            select(Opportunity.id).where(
                Opportunity.customer_id == customer.id, Opportunity.status == OpportunityStatus.OPEN
            )
        )
    )
    tasks = session.scalars(
        select(Task)
        .where(
            Task.status == TaskStatus.OPEN,
            or_(
                and_(Task.subject_type == "customer", Task.subject_id == customer.id),
                and_(Task.subject_type == "opportunity", Task.subject_id.in_(deal_ids)),
            ),
        )
        .order_by(Task.due_at)
    ).all()
    items = [
        f"待办：{t.title}" + (f"（{local_time(t.due_at)} 到期）" if t.due_at else "")
        for t in tasks
        if not (visit.source_type == "task" and t.id == visit.source_id)
    ]
    if deal is not None:
        following = session.scalars(
            select(Stage)
            .where(Stage.position > deal.stage.position, Stage.outcome == StageOutcome.OPEN, Stage.deleted_at.is_(None))
            .order_by(Stage.position)
        ).first()
        if following is not None:
            missing = missing_items(session, [deal.id], following)[deal.id]
            if missing:
                items.append(f"进入「{following.name}」还缺：{'、'.join(missing)}")
    return items[:8]


def _people(session: Session, customer: Customer) -> list[dict[str, Any]]:
    contacts = session.scalars(
        select(Contact).where(Contact.customer_id == customer.id, Contact.deleted_at.is_(None)).order_by(Contact.id)
    ).all()
    return [
        {
            "name": c.name,
            "title": c.title,
            "role": c.decision_role.label if c.decision_role else None,
            "role_guessed": c.decision_role_guessed,
        }
        for c in contacts[:10]
    ]


def _is_talk_track(material: Material) -> bool:
    return TALK_TRACK_TAG in (material.tags or [])


def _live_talk_tracks(session: Session, now: datetime) -> list[Material]:
    materials = session.scalars(
        select(Material).where(
            Material.deleted_at.is_(None), Material.retired_at.is_(None), Material.published_at <= now
        )
    ).all()
    return [m for m in materials if _is_talk_track(m)]


def newest_talk_track(tracks: list[Material], product_line: str | None, stage_code: str | None) -> Material | None:
    """The newest talk track for this line and stage: one of the line itself before one for every line."""
    fitting = [t for t in tracks if t.stage_code in (stage_code, None) and t.product_line in (product_line, None)]
    if not fitting:
        return None
    return max(fitting, key=lambda t: (t.product_line is not None, t.stage_code is not None, t.published_at, t.id))


def _talk_track(session: Session, deal: Opportunity | None) -> dict[str, Any] | None:
    if deal is None:
        return None
    track = newest_talk_track(_live_talk_tracks(session, clock.now()), deal.product_line, deal.stage.code)
    if track is None:
        return None
    return {"id": track.id, "title": track.title, "description": track.description, "url": track.url}


def brief_text(content: dict[str, Any]) -> str:
    customer = content["customer"]["name"]
    deal = content.get("deal")
    head = customer_and_deal(customer, deal["title"]) if deal else f"「{customer}」"
    lines = [
        f"【拜访简报】{head}",
        f"时间：{local_time(datetime.fromisoformat(content['due_at']))}　事项：{content['what']}",
    ]
    if deal:
        lines.append(f"商机阶段：{deal['stage']}（{deal['product_line']}）")
    objections = content["objections"]
    if objections:
        lines.append(f"最可能的异议（依据{content['objection_group']}的 {content['objection_group_size']} 条异议）：")
        for n, o in enumerate(objections, 1):
            line = f"{n}. {o['objection']}：出现 {o['count']} 次（占 {o['share'] * 100:.0f}%）"
            if o["won_answer"]:
                line += f"；赢单前的应对：{o['won_answer']}（{o['won_answer_count']} 次）"
            lines.append(line)
    else:
        lines.append("最可能的异议：历史中还没有相似商机的异议记录")
    if content["open_items"]:
        lines.append("未结事项：" + "；".join(content["open_items"]))
    people = content["people"]
    if people:
        shown = []
        for p in people:
            role = (p["role"] or "角色未定") + ("·推测" if p["role_guessed"] else "")
            shown.append(f"{p['name']}（{p['title'] or '职务未填'}，{role}）")
        lines.append("关键人：" + "、".join(shown))
    track = content.get("talk_track")
    if track:
        lines.append(f"本阶段话术：{track['title']}" + (f" {track['url']}" if track.get("url") else ""))
    return "\n".join(lines)


def send_due(session: Session, now: datetime | None = None) -> int:
    """Send the briefs whose time has come; returns how many. A visit already briefed is skipped (the unique
    row), so running twice sends nothing twice."""
    now = now or clock.now()
    settings = rule_settings.visit_brief(session)
    if not settings.enabled:
        return 0
    lead = timedelta(minutes=settings.lead_minutes)
    sent = 0
    signals: list[ObjectionSignal] | None = None
    for visit in due_visits(session, now, lead):
        rep = session.get(User, visit.rep_id)
        if rep is None or not rep.active or rep.deleted_at or rep.wecom_userid.startswith(LOCAL_USERID_PREFIX):
            continue
        if signals is None:
            signals = recent_signals(session, now)
        content = build_brief(session, visit, now, signals)
        brief = VisitBrief(
            rep_id=rep.id,
            customer_id=visit.customer_id,
            opportunity_id=content["deal"]["id"] if content["deal"] else None,
            source_type=visit.source_type,
            source_id=visit.source_id,
            due_at=visit.due_at,
            sent_at=now,
            content=content,
        )
        try:
            with session.begin_nested():
                session.add(brief)
                session.flush()
        except IntegrityError:
            continue  # another run briefed this visit meanwhile
        notify(session, TextToMember(rep.wecom_userid, brief_text(content), key=f"brief:{brief.id}"))
        sent += 1
    return sent


def brief_now(session: Session, actor: User, customer_id: int) -> dict[str, Any]:
    """A brief asked for before a visit (chat 简报, the client): the customer in `actor`'s scope, its latest
    touchpoint's next action as the visit when one is still ahead, built as the sender would build it now."""
    customer = customer_for(session, actor, customer_id)
    now = clock.now()
    latest = session.scalars(
        select(Touchpoint)
        .where(Touchpoint.customer_id == customer.id, Touchpoint.deleted_at.is_(None))
        .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
    ).first()
    ahead = latest is not None and latest.next_action and latest.next_action_due and latest.next_action_due > now
    visit = DueVisit(
        "request",
        0,
        actor.id,
        customer.id,
        latest.opportunity_id if latest is not None else None,
        latest.next_action_due if ahead and latest and latest.next_action_due else now,
        (latest.next_action or "") if ahead and latest else "拜访前查看",
    )
    return build_brief(session, visit, now)


def latest_brief(session: Session, actor: User, customer_id: int) -> VisitBrief | None:
    """The newest brief `actor` received for this customer (a rep sees only their own)."""
    return session.scalars(
        select(VisitBrief)
        .where(VisitBrief.rep_id == actor.id, VisitBrief.customer_id == customer_id)
        .order_by(VisitBrief.sent_at.desc(), VisitBrief.id.desc())
    ).first()


# --- talk tracks ------------------------------------------------------------------------------------------


def deliver_talk_tracks(session: Session, now: datetime | None = None) -> int:
    """The newest talk track of each open deal's line and stage reaches its rep, once per rep and track."""
    now = now or clock.now()
    if not rule_settings.talk_track(session).enabled:
        return 0
    tracks = _live_talk_tracks(session, now)
    if not tracks:
        return 0
    delivered = {(m, r) for m, r in session.execute(select(TalkTrackDelivery.material_id, TalkTrackDelivery.rep_id))}
    rows = session.execute(
        select(Opportunity, Stage.code, User)
        .join(Stage, Stage.id == Opportunity.stage_id)
        .join(User, User.id == Opportunity.owner_id)
        .where(
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.deleted_at.is_(None),
            User.active.is_(True),
            User.deleted_at.is_(None),
        )
        .order_by(Opportunity.id)
    ).all()
    sent = 0
    for deal, stage_code, rep in rows:
        if rep.wecom_userid.startswith(LOCAL_USERID_PREFIX):
            continue
        track = newest_talk_track(tracks, deal.product_line, stage_code)
        if track is None or (track.id, rep.id) in delivered:
            continue
        delivered.add((track.id, rep.id))
        row = TalkTrackDelivery(material_id=track.id, rep_id=rep.id, opportunity_id=deal.id, delivered_at=now)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            continue
        text = (
            f"【新话术】总部发布了「{deal.product_line}」{deal.stage.name}阶段的最新话术：{track.title}"
            + (f"\n{track.description}" if track.description else "")
            + (f"\n{track.url}" if track.url else "")
            + f"\n适用于您的商机：{customer_and_deal(deal.customer.name, deal.title)}"
        )
        notify(session, TextToMember(rep.wecom_userid, text, key=f"talk-track:{track.id}:{rep.id}"))
        sent += 1
    return sent
