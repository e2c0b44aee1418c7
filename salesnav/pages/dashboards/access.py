"""Who may open which dashboard, and over whose records — the same scopes as the API (handlers/access.py).

Level 1 (executives): 销售总监 and 管理员, over the whole company. Level 2 (managers): a 销售主管 over their own
team (a sub-manager's team too); 总监 and 管理员 over any manager's team. Level 3 (reps): a rep over their own
records; a manager, director or admin may open a rep they can see. Marketing: members of the marketing
department (市场部), 总监 and 管理员.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.access import can_access_owner, team_ids
from salesnav.handlers.errors import Forbidden, NotFound
from salesnav.models import Department, DepartmentKind, Role, User

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
