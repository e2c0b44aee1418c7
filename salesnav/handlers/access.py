"""Who may see and change what: a rep their own customers, a manager their team's, a director all sales."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from salesnav.handlers.errors import NotFound
from salesnav.models import Alert, CollaborationTicket, Customer, Opportunity, Role, TicketPart, Touchpoint, User, bulk

CUSTOMER_NOT_FOUND = "客户不存在或您无权查看"


def team_ids(session: Session, manager: User) -> set[int]:
    """The manager and everyone reporting to them, directly or through a sub-manager."""
    ids, frontier = {manager.id}, [manager.id]
    while frontier:
        frontier = [
            uid for uid in session.scalars(select(User.id).where(User.manager_id.in_(frontier))) if uid not in ids
        ]
        ids.update(frontier)
    return ids


def can_access_owner(session: Session, actor: User, owner_id: int) -> bool:
    if actor.role in (Role.DIRECTOR, Role.ADMIN):
        return True
    if actor.id == owner_id:
        return True
    if actor.role is Role.MANAGER:
        return owner_id in team_ids(session, actor)
    return False


def customer_for(session: Session, actor: User, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.deleted_at or not can_access_owner(session, actor, customer.owner_id):
        raise NotFound(CUSTOMER_NOT_FOUND)
    return customer


def customers_for(session: Session, actor: User, customer_ids: list[int]) -> dict[int, int]:
    """`customer_for` for many customers at once (bulk paths), a query per thousand: those `actor` may see,
    each with its owner's id (id → owner_id; the columns only: an import asks this of thousands at a time).

    An id missing from the answer is one `customer_for` would refuse (NotFound, CUSTOMER_NOT_FOUND).
    """
    wanted = list(set(customer_ids))
    allowed: dict[int, bool] = {}
    out = {}
    for start in range(0, len(wanted), 1000):
        for customer_id, owner_id, deleted_at in session.execute(
            select(Customer.id, Customer.owner_id, Customer.deleted_at).where(
                bulk.among(Customer.id, wanted[start : start + 1000])
            )
        ):
            if owner_id not in allowed:
                allowed[owner_id] = can_access_owner(session, actor, owner_id)
            if not deleted_at and allowed[owner_id]:
                out[customer_id] = owner_id
    return out


def opportunity_for(session: Session, actor: User, opportunity_id: int) -> Opportunity:
    opp = session.get(Opportunity, opportunity_id)
    if opp is None or opp.deleted_at or not can_access_owner(session, actor, opp.owner_id):
        raise NotFound("商机不存在或您无权查看")
    return opp


def visible_owner_ids(session: Session, actor: User) -> set[int] | None:
    """Whose records `actor` may list: None means everyone's (director, admin)."""
    if actor.role in (Role.DIRECTOR, Role.ADMIN):
        return None
    if actor.role is Role.MANAGER:
        return team_ids(session, actor)
    return {actor.id}


def owned_by_visible(session: Session, actor: User, owner_column: ColumnElement[int]) -> ColumnElement[bool]:
    """A WHERE clause for list queries: the same rule as `can_access_owner`, for many rows at once."""
    owners = visible_owner_ids(session, actor)
    return true() if owners is None else owner_column.in_(owners)


def touchpoint_for(session: Session, actor: User, touchpoint_id: int) -> Touchpoint:
    touchpoint = session.get(Touchpoint, touchpoint_id)
    if touchpoint is None or touchpoint.deleted_at or not can_access_owner(session, actor, touchpoint.rep_id):
        raise NotFound("触点不存在或您无权查看")
    return touchpoint


def ticket_visible(session: Session, actor: User) -> ColumnElement[bool]:
    """Tickets on deals in the actor's scope, plus those with a part for the actor's own department
    (a department head answers their department's part without seeing the rest of sales)."""
    in_scope = CollaborationTicket.opportunity_id.in_(
        select(Opportunity.id).where(owned_by_visible(session, actor, Opportunity.owner_id))
    )
    if actor.department_id is None:
        return in_scope
    parts = select(TicketPart.ticket_id).where(TicketPart.department_id == actor.department_id)
    mine = CollaborationTicket.id.in_(parts)
    return or_(in_scope, mine)


def ticket_for(session: Session, actor: User, ticket_id: int) -> CollaborationTicket:
    ticket = session.scalars(
        select(CollaborationTicket).where(CollaborationTicket.id == ticket_id, ticket_visible(session, actor))
    ).first()
    if ticket is None:
        raise NotFound("协同单不存在或您无权查看")
    return ticket


def alert_for(session: Session, actor: User, alert_id: int) -> Alert:
    """An alert the actor was sent, or one about a rep in the actor's scope (its subject's owner, the same
    owner the manager intervention rate counts it for). Anyone else's alert does not exist for them."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("预警不存在或您无权查看")
    if actor.id in (alert.recipient_ids or []):
        return alert
    from salesnav.metrics.management import alert_owner  # metrics.scope imports this module

    owner_id = session.scalar(select(alert_owner()).where(Alert.id == alert.id))
    if owner_id is None or not can_access_owner(session, actor, owner_id):
        raise NotFound("预警不存在或您无权查看")
    return alert
