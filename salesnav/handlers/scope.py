"""Who may see and change what — the one scope module of the use cases, the pages, the API and the chat.

Records: a rep their own customers, a manager their team's (a sub-manager's team too), a director all
sales. Dashboards: Level 1 (executives): 销售总监 and 管理员, over the whole company. Level 2 (managers): a
销售主管 over their own team; 总监 and 管理员 over any manager's team. Level 3 (reps): a rep over their own
records; a manager, director or admin may open a rep they can see. Marketing: members of the marketing
department (市场部), 总监 and 管理员. Who is in a manager's team is the metrics' own rule
(`salesnav.metrics.scope.team_ids`), so a figure and a permission never disagree on it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from salesnav.handlers.errors import Forbidden, NotFound
from salesnav.metrics.management import alert_owner
from salesnav.metrics.scope import team_ids
from salesnav.models import (
    Alert,
    CollaborationTicket,
    Customer,
    Department,
    DepartmentKind,
    Opportunity,
    Role,
    TicketPart,
    Touchpoint,
    User,
    bulk,
)

CUSTOMER_NOT_FOUND = "客户不存在或您无权查看"


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
    """`customer_for` for many customers at once (bulk paths), in one query: those `actor` may see,
    each with its owner's id (id → owner_id; the columns only: an import asks this of thousands at a time).

    An id missing from the answer is one `customer_for` would refuse (NotFound, CUSTOMER_NOT_FOUND).
    """
    wanted = list(set(customer_ids))
    allowed: dict[int, bool] = {}
    out: dict[int, int] = {}
    if not wanted:
        return out
    for customer_id, owner_id, deleted_at in session.execute(
        select(Customer.id, Customer.owner_id, Customer.deleted_at).where(bulk.among(Customer.id, wanted))
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


def owned_by_visible(
    session: Session, actor: User, owner_column: ColumnElement[Any] | InstrumentedAttribute[Any]
) -> ColumnElement[bool]:
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

    owner_id = session.scalar(select(alert_owner()).where(Alert.id == alert.id))
    if owner_id is None or not can_access_owner(session, actor, owner_id):
        raise NotFound("预警不存在或您无权查看")
    return alert


# --- the dashboards ---------------------------------------------------------------------------------

EXECUTIVE_ROLES = frozenset({Role.DIRECTOR, Role.ADMIN})
TEAM_ROLES = frozenset({Role.MANAGER, Role.DIRECTOR, Role.ADMIN})


def may_see_executive(user: User) -> bool:
    return user.role in EXECUTIVE_ROLES


def may_see_team(user: User) -> bool:
    return user.role in TEAM_ROLES


def is_marketing(session: Session, user: User) -> bool:
    if user.department_id is None:
        return False
    kind = session.scalar(select(Department.kind).where(Department.id == user.department_id))
    return kind is DepartmentKind.MARKETING


def may_see_marketing(session: Session, user: User) -> bool:
    return user.role in EXECUTIVE_ROLES or is_marketing(session, user)


def team_manager_for(session: Session, actor: User, manager_id: int | None) -> User:
    """Whose team the Level 2 page shows: the manager themself, or one the actor may look at."""
    if manager_id is None:
        if actor.role is Role.MANAGER:
            return actor
        first = session.scalars(
            select(User)
            .where(User.role == Role.MANAGER, User.active.is_(True), User.deleted_at.is_(None))
            .order_by(User.wecom_userid)
        ).first()
        if first is None:
            raise NotFound("还没有销售主管")
        return first
    manager = session.get(User, manager_id)
    if manager is None or manager.role is not Role.MANAGER or manager.deleted_at is not None:
        raise NotFound("该销售主管不存在")
    if actor.role in EXECUTIVE_ROLES or manager.id in team_ids(session, actor):
        return manager
    raise Forbidden("只能查看自己团队的作战地图")


def rep_for(session: Session, actor: User, rep_id: int | None) -> User:
    """Whose Level 3 page it is: the rep themself, or a rep in the actor's scope."""
    if rep_id is None or rep_id == actor.id:
        if actor.role is not Role.REP:
            raise Forbidden("个人看板仅供销售查看；主管请从团队作战地图进入")
        return actor
    rep = session.get(User, rep_id)
    if rep is None or rep.role is not Role.REP or not can_access_owner(session, actor, rep.id):
        raise NotFound("该销售不存在或您无权查看")
    return rep


def managers_visible_to(session: Session, actor: User) -> list[User]:
    """The managers whose team the actor may switch to (a selector on the Level 2 page)."""
    query = select(User).where(User.role == Role.MANAGER, User.active.is_(True), User.deleted_at.is_(None))
    if actor.role not in EXECUTIVE_ROLES:
        query = query.where(User.id.in_(team_ids(session, actor)))
    return list(session.scalars(query.order_by(User.wecom_userid)))
