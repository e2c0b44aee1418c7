"""Log a customer touchpoint (客户触点日志)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import customer_events as ce
from salesnav.handlers.attachments import attachment_for
from salesnav.handlers.errors import DomainError, Forbidden, NotFound
from salesnav.handlers.records import audit, record_event, record_events
from salesnav.handlers.rules import events
from salesnav.handlers.scope import CUSTOMER_NOT_FOUND, customer_for, customers_for, touchpoint_for
from salesnav.models import (
    CaptureSource,
    Contact,
    Customer,
    Emotion,
    Opportunity,
    OpportunityStatus,
    Touchpoint,
    TouchpointType,
    User,
    bulk,
    touchpoint_contacts,
)
from salesnav.models.touchpoints import contact_roles_of

MAX_SUMMARY = 5000
CLOCK_SKEW = timedelta(minutes=5)


def log_touchpoint(
    session: Session,
    actor: User,
    *,
    customer_id: int,
    type: TouchpointType | str,
    emotion: Emotion | str = Emotion.NEUTRAL,
    summary: str = "",
    contact_ids: list[int] | None = None,
    next_action: str | None = None,
    next_action_due: datetime | None = None,
    occurred_at: datetime | None = None,
    opportunity_id: int | None = None,
    source: CaptureSource = CaptureSource.API,
    form_opened_at: datetime | None = None,
    attachment_ids: list[int] | None = None,
    guessed_fields: list[str] | None = None,
) -> Touchpoint:
    now = clock.now()
    customer = customer_for(session, actor, customer_id)
    spec = NewTouchpoint(
        customer_id,
        type,
        emotion,
        summary,
        contact_ids,
        next_action,
        next_action_due,
        occurred_at,
        opportunity_id,
        source,
        form_opened_at,
        attachment_ids,
        guessed_fields,
    )
    found = list(session.scalars(select(Contact).where(Contact.id.in_(set(contact_ids))))) if contact_ids else []
    row = _touchpoint_row(actor, customer.id, spec, found, now)
    opportunity = _opportunity_for_touchpoint(session, customer.id, opportunity_id)
    _check_attachments(session, actor, attachment_ids)
    touchpoint = Touchpoint(**row, opportunity_id=opportunity.id if opportunity else None)
    touchpoint.contacts = found
    session.add(touchpoint)
    session.flush()
    _follow_up(opportunity, touchpoint.id, touchpoint.occurred_at)
    record_event(
        session,
        events.TOUCHPOINT_LOGGED,
        "touchpoint",
        touchpoint.id,
        actor,
        **_event_payload(row, touchpoint.opportunity_id, bool(found)),
    )
    ce.record_touchpoint(session, touchpoint, [c.id for c in found])
    return touchpoint


@dataclass(frozen=True)
class NewTouchpoint:
    """One touchpoint to log, as `log_touchpoint`'s arguments (for `log_touchpoints`)."""

    customer_id: int
    type: TouchpointType | str
    emotion: Emotion | str = Emotion.NEUTRAL
    summary: str = ""
    contact_ids: list[int] | None = None
    next_action: str | None = None
    next_action_due: datetime | None = None
    occurred_at: datetime | None = None
    opportunity_id: int | None = None
    source: CaptureSource = CaptureSource.API
    form_opened_at: datetime | None = None
    attachment_ids: list[int] | None = None
    guessed_fields: list[str] | None = None
    # Bulk only: the id taken up front (bulk.take_ids) of the deal this touchpoint opens, which the caller
    # writes right after it (NewOpportunity.id) with the link deferred (bulk.defer_deal_links). The
    # touchpoint is written linked to it, unless it follows up a deal the customer already has.
    opens_deal: int | None = None


class LoggedTouchpoint(NamedTuple):
    id: int
    customer_id: int
    opportunity_id: int | None  # the deal it follows up, if any
    occurred_at: datetime


def log_touchpoints(
    session: Session, actor: User, specs: list[NewTouchpoint], *, shared: frozenset[int] = frozenset()
) -> list[LoggedTouchpoint | DomainError]:
    """`log_touchpoint` for many at once, as if logged one after another (bulk paths such as the Excel import).

    The same checks; the customers, contacts and open deals are loaded in one query each (per thousand),
    the touchpoints and their participants written in one statement each, and the events recorded in bulk
    with one rule job for the batch. Each spec gets its touchpoint, or the DomainError that refused it (the
    others are written all the same). `shared`: customers of other reps the actor chose to log under (an
    import's rows for a customer someone else owns, confirmed in its preview); the touchpoints stay the actor's.
    """
    now = clock.now()
    customers = customers_for(session, actor, [spec.customer_id for spec in specs])
    for customer_id, owner_id in _live_owners(session, shared).items():
        customers.setdefault(customer_id, owner_id)
    wanted = list({cid for spec in specs for cid in spec.contact_ids or []})
    contacts = {}
    if wanted:
        for contact in session.execute(
            select(Contact.id, Contact.customer_id, Contact.deleted_at, Contact.decision_role).where(
                bulk.among(Contact.id, wanted)
            )
        ):
            contacts[contact.id] = contact
    auto = list({spec.customer_id for spec in specs if spec.opportunity_id is None and spec.customer_id in customers})
    open_deals: dict[int, list[Opportunity]] = {}
    if auto:
        for opp in session.scalars(_open_deals(auto)):
            open_deals.setdefault(opp.customer_id, []).append(opp)
    out: list[dict[str, Any] | DomainError] = []
    linked: list[tuple[Opportunity | None, dict[str, Any], list[int]]] = []
    for spec in specs:
        try:
            if spec.customer_id not in customers:
                raise NotFound(CUSTOMER_NOT_FOUND)
            found = [contacts[cid] for cid in set(spec.contact_ids or []) if cid in contacts]
            row = _touchpoint_row(actor, spec.customer_id, spec, found, now)
            if spec.opportunity_id is not None:
                opportunity = _opportunity_for_touchpoint(session, spec.customer_id, spec.opportunity_id)
            else:
                deals = open_deals.get(spec.customer_id, [])
                opportunity = deals[0] if follows_the_deal_in_progress(len(deals)) else None
            _check_attachments(session, actor, spec.attachment_ids)
        except DomainError as exc:
            out.append(exc)
            continue
        row["opportunity_id"] = opportunity.id if opportunity else spec.opens_deal
        out.append(row)
        linked.append((opportunity, row, [c.id for c in found]))
    bulk.insert_new(session, Touchpoint.__table__, [row for _, row, _ in linked])
    # Written after the touchpoints: the database then fills their contact_roles (migrations 0009, 0012).
    bulk.insert(
        session,
        touchpoint_contacts,
        [{"touchpoint_id": row["id"], "contact_id": cid} for _, row, present in linked for cid in present],
    )
    for opportunity, row, _ in linked:
        _follow_up(opportunity, row["id"], row["occurred_at"])
    record_events(
        session,
        events.TOUCHPOINT_LOGGED,
        "touchpoint",
        [  # the deal it follows up; not the one it opens (that deal is not there yet when it is logged)
            (row["id"], _event_payload(row, opportunity.id if opportunity else None, bool(present)))
            for opportunity, row, present in linked
        ],
        actor,
    )
    return [
        LoggedTouchpoint(row["id"], row["customer_id"], row["opportunity_id"], row["occurred_at"])
        if isinstance(row, dict)
        else row
        for row in out
    ]


def _live_owners(session: Session, customer_ids: frozenset[int]) -> dict[int, int]:
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.owner_id).where(Customer.id.in_(list(customer_ids)), Customer.deleted_at.is_(None))
    )
    return {cid: owner_id for cid, owner_id in rows}


def _touchpoint_row(
    actor: User, customer_id: int, spec: NewTouchpoint, found: list[Any], now: datetime
) -> dict[str, Any]:
    """The checks and the column values of one touchpoint (without its deal and participants): shared by
    one-by-one and bulk logging. `found`: the spec's contacts that exist (customer_id, deleted_at, decision_role)
    — their roles give contact_roles, which the database triggers would set to the same value."""
    tp_type = _enum(TouchpointType, spec.type, "触点类型", "微信、面访、电话或展会")
    tp_emotion = _enum(Emotion, spec.emotion, "情绪信号", "积极、中性或抵触")
    occurred = spec.occurred_at or now
    if occurred.tzinfo is None:
        raise DomainError("触点时间缺少时区")
    if occurred > now + CLOCK_SKEW:
        raise DomainError("触点时间不能晚于现在")
    summary = (spec.summary or "").strip()
    if len(summary) > MAX_SUMMARY:
        raise DomainError(f"纪要过长（最多 {MAX_SUMMARY} 字）")
    next_action = (spec.next_action or "").strip() or None
    if spec.next_action_due and not next_action:
        raise DomainError("填写了下一步时间，请同时写明下一步动作")
    if spec.next_action_due and spec.next_action_due.tzinfo is None:
        raise DomainError("下一步时间缺少时区")
    wanted = set(spec.contact_ids or [])
    if wanted and (len(found) != len(wanted) or any(c.customer_id != customer_id or c.deleted_at for c in found)):
        raise DomainError("参与人必须是该客户的联系人")
    return {
        "customer_id": customer_id,
        "rep_id": actor.id,
        "type": tp_type,
        "emotion": tp_emotion,
        "summary": summary,
        "next_action": next_action,
        "next_action_due": spec.next_action_due,
        "occurred_at": occurred,
        "source": spec.source,
        "form_opened_at": spec.form_opened_at,
        "submitted_at": now,
        "attachments": list(spec.attachment_ids or []),
        "guessed_fields": list(spec.guessed_fields or []),
        "contact_roles": contact_roles_of(c.decision_role for c in found),
    }


def _check_attachments(session: Session, actor: User, attachment_ids: list[int] | None) -> None:
    for attachment_id in dict.fromkeys(attachment_ids or []):
        attachment_for(session, actor, attachment_id)  # only files the rep may see (e.g. their voice note)


def _follow_up(opportunity: Opportunity | None, touchpoint_id: int, occurred_at: datetime) -> None:
    """A touchpoint on an open deal is its latest follow-up, unless an even later one is already recorded."""
    if opportunity and opportunity.status is OpportunityStatus.OPEN and occurred_at >= opportunity.last_follow_up_at:
        opportunity.last_follow_up_at = occurred_at
        opportunity.last_touchpoint_id = touchpoint_id


def _event_payload(row: dict[str, Any], opportunity_id: int | None, any_contact: bool) -> dict[str, object]:
    return {
        "customer_id": row["customer_id"],
        "opportunity_id": opportunity_id,
        "emotion": row["emotion"].value,
        "type": row["type"].value,
        "effective": Touchpoint.effective(row["next_action"], row["next_action_due"], any_contact),
    }


def _in_progress(customer_ids: list[int]) -> list[ColumnElement[bool]]:
    return [
        bulk.among(Opportunity.customer_id, customer_ids),
        Opportunity.status == OpportunityStatus.OPEN,
        Opportunity.deleted_at.is_(None),
    ]


def _open_deals(customer_ids: list[int]):  # type: ignore[no-untyped-def]  # returns a SQLAlchemy Select whose row shape is spelled at its use
    return select(Opportunity).where(*_in_progress(customer_ids))


def follows_the_deal_in_progress(open_deals: int) -> bool:
    """A touchpoint logged without a deal follows up its customer's deal in progress when there is exactly one."""
    return open_deals == 1


def open_deal_counts(session: Session, customer_ids: list[int]) -> dict[int, int]:
    """How many deals each customer has in progress (those with none are left out), in one query."""
    if not customer_ids:
        return {}
    counted = session.execute(
        select(Opportunity.customer_id, func.count())
        .where(*_in_progress(customer_ids))
        .group_by(Opportunity.customer_id)
    )
    return {customer_id: deals for customer_id, deals in counted}


def _opportunity_for_touchpoint(session: Session, customer_id: int, opportunity_id: int | None) -> Opportunity | None:
    if opportunity_id is not None:
        opp = session.get(Opportunity, opportunity_id)
        if opp is None or opp.customer_id != customer_id or opp.deleted_at:
            raise DomainError("所选商机不属于该客户")
        return opp
    open_opps = list(session.scalars(_open_deals([customer_id]).limit(2)))
    return open_opps[0] if follows_the_deal_in_progress(len(open_opps)) else None


def _enum(enum_cls, value, field: str, allowed: str):  # type: ignore[no-untyped-def]  # the enum class and value come from the form; each caller knows its enum
    if isinstance(value, enum_cls):
        return value
    member = enum_cls.from_label(str(value))
    if member is None:
        raise DomainError(f"{field}「{value}」无效，请选择{allowed}")
    return member


_UNSET: object = object()


def update_touchpoint(
    session: Session,
    actor: User,
    *,
    touchpoint_id: int,
    type: TouchpointType | str | None = None,
    emotion: Emotion | str | None = None,
    summary: str | None = None,
    contact_ids: list[int] | None = None,
    next_action: str | object | None = _UNSET,
    next_action_due: datetime | object | None = _UNSET,
    attachment_ids: list[int] | None = None,
) -> Touchpoint:
    """Correct a touchpoint: only the rep who logged it may, and the change is audited.

    Arguments left out stay as they are; `next_action=None` clears the next action.
    """
    touchpoint = touchpoint_for(session, actor, touchpoint_id)
    if touchpoint.rep_id != actor.id:
        raise Forbidden("只能修改自己记录的触点")
    before = _touchpoint_snapshot(touchpoint)
    if type is not None:
        touchpoint.type = _enum(TouchpointType, type, "触点类型", "微信、面访、电话或展会")
    if emotion is not None:
        touchpoint.emotion = _enum(Emotion, emotion, "情绪信号", "积极、中性或抵触")
    if summary is not None:
        summary = summary.strip()
        if len(summary) > MAX_SUMMARY:
            raise DomainError(f"纪要过长（最多 {MAX_SUMMARY} 字）")
        touchpoint.summary = summary
    if next_action is not _UNSET:
        touchpoint.next_action = (str(next_action or "")).strip() or None
        if touchpoint.next_action is None:
            touchpoint.next_action_due = None
    if next_action_due is not _UNSET:
        due = next_action_due if isinstance(next_action_due, datetime) else None
        if due is not None and due.tzinfo is None:
            raise DomainError("下一步时间缺少时区")
        touchpoint.next_action_due = due
    if touchpoint.next_action_due and not touchpoint.next_action:
        raise DomainError("填写了下一步时间，请同时写明下一步动作")
    if contact_ids is not None:
        contacts = list(session.scalars(select(Contact).where(Contact.id.in_(set(contact_ids)))))
        if len(contacts) != len(set(contact_ids)) or any(
            c.customer_id != touchpoint.customer_id or c.deleted_at for c in contacts
        ):
            raise DomainError("参与人必须是该客户的联系人")
        touchpoint.contacts = contacts
    if attachment_ids is not None:
        for attachment_id in dict.fromkeys(attachment_ids):
            attachment_for(session, actor, attachment_id)
        touchpoint.attachments = list(dict.fromkeys(attachment_ids))
    after = _touchpoint_snapshot(touchpoint)
    if after == before:
        return touchpoint
    session.flush()
    audit(session, actor, "touchpoint", touchpoint.id, "update", before, after)
    record_event(
        session,
        "touchpoint.updated",
        "touchpoint",
        touchpoint.id,
        actor,
        customer_id=touchpoint.customer_id,
        changed=sorted(k for k in after if after[k] != before[k]),
        effective=touchpoint.is_effective,
    )
    if after["emotion"] != before["emotion"] and touchpoint.emotion is not Emotion.NEUTRAL:
        ce.record_emotion(session, touchpoint)
    return touchpoint


def _touchpoint_snapshot(touchpoint: Touchpoint) -> dict[str, object]:
    due = touchpoint.next_action_due
    return {
        "type": touchpoint.type.value,
        "emotion": touchpoint.emotion.value,
        "summary": touchpoint.summary,
        "next_action": touchpoint.next_action,
        "next_action_due": due.isoformat() if due else None,
        "contact_ids": sorted(c.id for c in touchpoint.contacts),
        "attachments": list(touchpoint.attachments),
    }
