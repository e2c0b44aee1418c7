"""Who may see and change what: a rep their own customers, a manager their team's, a director all sales."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.errors import NotFound
from salesnav.models import Customer, Opportunity, Role, User


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
        raise NotFound("客户不存在或您无权查看")
    return customer


def opportunity_for(session: Session, actor: User, opportunity_id: int) -> Opportunity:
    opp = session.get(Opportunity, opportunity_id)
    if opp is None or opp.deleted_at or not can_access_owner(session, actor, opp.owner_id):
        raise NotFound("商机不存在或您无权查看")
    return opp
