"""The organisation: sync departments and members from WeCom, edit roles, reporting lines and
e-mails, and hand a leaving rep's customers over to a colleague (客户交接) in one action.

What WeCom owns and what the admin owns: names, departments, mobiles and who has left come from
WeCom on every sync; a role, a reporting line, an e-mail address or a department head is taken
from WeCom only while ours is empty, so an admin's edit is never undone by the nightly sync. A
member WeCom no longer lists (or lists as disabled) is deactivated, never deleted; sync never
reactivates anyone (a handover may have deactivated them on purpose) — the admin does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.admin.guard import require_admin
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import audit, record_event
from salesnav.models import (
    LOCAL_USERID_PREFIX,
    Customer,
    Department,
    DepartmentKind,
    Opportunity,
    OpportunityStatus,
    Role,
    Task,
    TaskStatus,
    User,
)
from salesnav.ports import notifications
from salesnav.ports.directory import Directory, ListedDepartment, ListedMember

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class SyncReport:
    departments_created: list[str] = field(default_factory=list)
    departments_updated: list[str] = field(default_factory=list)
    departments_retired: list[str] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    users_updated: list[str] = field(default_factory=list)
    users_deactivated: list[str] = field(default_factory=list)
    leavers_with_customers: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [
            f"新增部门 {len(self.departments_created)} 个",
            f"更新部门 {len(self.departments_updated)} 个",
            f"撤销部门 {len(self.departments_retired)} 个",
            f"新增成员 {len(self.users_created)} 人",
            f"更新成员 {len(self.users_updated)} 人",
            f"停用成员 {len(self.users_deactivated)} 人",
        ]
        return "，".join(parts)


def sync_directory(session: Session, actor: User | None, directory: Directory) -> SyncReport:
    """Apply WeCom's directory. `actor` None is the nightly clock job; a person must be an admin."""
    if actor is not None:
        require_admin(actor)
    report = SyncReport()
    dept_ids = _sync_departments(session, actor, directory.departments, report)
    leaders = {dept_ids[d.id]: list(d.leader_userids) for d in directory.departments if d.id in dept_ids}
    _sync_users(session, actor, directory.members, dept_ids, report)
    _sync_heads(session, actor, leaders)
    session.flush()
    record_event(session, "org.synced", "organisation", 0, actor, summary=report.describe())
    return report


def _sync_departments(
    session: Session, actor: User | None, departments: list[ListedDepartment], report: SyncReport
) -> dict[int, int]:
    ours = list(session.scalars(select(Department)))
    by_wecom = {d.wecom_id: d for d in ours if d.wecom_id is not None}
    unsynced = {d.name: d for d in ours if d.wecom_id is None and d.deleted_at is None}
    mapping: dict[int, int] = {}
    seen: set[int] = set()
    pending_parents: list[tuple[Department, int]] = []
    for item in sorted(departments, key=lambda d: d.id):
        wid = item.id
        dept = by_wecom.get(wid)
        if item.is_corporation and dept is None:
            continue  # the corporation itself: we keep no row for it unless we already had one
        if dept is None:
            dept = unsynced.pop(item.name, None)  # first sync: ours by name
        before = _dept_snapshot(dept) if dept is not None else {}
        if dept is None:
            dept = Department(name=item.name[:100], kind=DepartmentKind.OTHER)
            session.add(dept)
        dept.wecom_id, dept.name, dept.deleted_at = wid, item.name[:100], None
        session.flush()
        mapping[wid], seen = dept.id, seen | {dept.id}
        pending_parents.append((dept, item.parent_id or 0))
        if not before:
            report.departments_created.append(dept.name)
            audit(session, actor, "department", dept.id, "sync_create", {}, _dept_snapshot(dept))
        elif before != _dept_snapshot(dept):
            report.departments_updated.append(dept.name)
            audit(session, actor, "department", dept.id, "sync_update", before, _dept_snapshot(dept))
    for dept, parent in pending_parents:
        parent_id = mapping.get(parent)
        if dept.parent_id != parent_id:
            audit(
                session,
                actor,
                "department",
                dept.id,
                "sync_update",
                {"parent_id": dept.parent_id},
                {"parent_id": parent_id},
            )
            dept.parent_id = parent_id
    for dept in ours:
        if dept.wecom_id is not None and dept.id not in seen and dept.deleted_at is None:
            dept.deleted_at = clock.now()
            report.departments_retired.append(dept.name)
            audit(
                session,
                actor,
                "department",
                dept.id,
                "sync_retire",
                {"deleted_at": None},
                {"deleted_at": dept.deleted_at.isoformat()},
            )
    return mapping


def _dept_snapshot(dept: Department) -> dict[str, Any]:
    return {"wecom_id": dept.wecom_id, "name": dept.name, "deleted_at": dept.deleted_at and dept.deleted_at.isoformat()}


def _sync_users(
    session: Session, actor: User | None, members: list[ListedMember], dept_ids: dict[int, int], report: SyncReport
) -> None:
    ours = {u.wecom_userid: u for u in session.scalars(select(User))}
    kinds = {d.id: d.kind for d in session.scalars(select(Department))}
    listed: set[str] = set()
    deactivated: list[User] = []
    for member in members:
        userid = member.userid[:64]
        listed.add(userid)
        user = ours.get(userid)
        dept_id = dept_ids.get(member.main_department)
        active = member.active
        if user is None:
            if not active:
                continue  # someone who left before we ever knew them
            user = User(
                wecom_userid=userid,
                name=(member.name or userid)[:100],
                role=_role_for_new(kinds.get(dept_id) if dept_id is not None else None, member.leads_a_department),
                department_id=dept_id,
                email=member.email,
                mobile=member.mobile,
                active=True,
            )
            session.add(user)
            session.flush()
            ours[userid] = user
            report.users_created.append(user.name)
            audit(session, actor, "user", user.id, "sync_create", {}, _user_snapshot(user))
            continue
        before = _user_snapshot(user)
        user.name = (member.name or user.name)[:100]
        if dept_id is not None:
            user.department_id = dept_id
        user.mobile = member.mobile or user.mobile
        user.email = user.email or member.email
        if not active and user.active:
            user.active = False
            deactivated.append(user)
            audit(session, actor, "user", user.id, "sync_deactivate", before, _user_snapshot(user))
            continue
        if before != _user_snapshot(user):
            report.users_updated.append(user.name)
            audit(session, actor, "user", user.id, "sync_update", before, _user_snapshot(user))
    for member in members:  # reporting lines, once every member has a row
        user = ours.get(member.userid[:64])
        leaders = [ours[u] for u in member.direct_leaders if u in ours]
        if user is not None and user.manager_id is None and leaders and leaders[0].id != user.id:
            audit(session, actor, "user", user.id, "sync_update", {"manager_id": None}, {"manager_id": leaders[0].id})
            user.manager_id = leaders[0].id
    for userid, user in ours.items():
        if userid in listed or userid.startswith(LOCAL_USERID_PREFIX) or not user.active or user.deleted_at:
            continue
        before = _user_snapshot(user)
        user.active = False
        deactivated.append(user)
        audit(session, actor, "user", user.id, "sync_deactivate", before, _user_snapshot(user))
    for user in deactivated:
        report.users_deactivated.append(user.name)
        if session.scalar(
            select(Customer.id).where(Customer.owner_id == user.id, Customer.deleted_at.is_(None)).limit(1)
        ):
            report.leavers_with_customers.append(user.name)  # the admin hands these over next


def _sync_heads(session: Session, actor: User | None, leaders: dict[int, list[str]]) -> None:
    """Department heads, once every member has a row; only where we have none yet."""
    for dept_id, userids in leaders.items():
        dept = session.get(Department, dept_id)
        head = session.scalars(select(User).where(User.wecom_userid.in_(userids or [""]))).first()
        if dept is not None and dept.head_id is None and head is not None:
            audit(session, actor, "department", dept.id, "sync_update", {"head_id": None}, {"head_id": head.id})
            dept.head_id = head.id


def _role_for_new(kind: DepartmentKind | None, leader: bool) -> Role:
    if kind is DepartmentKind.SALES:
        return Role.MANAGER if leader else Role.REP
    return Role.DEPT_HEAD if leader else Role.STAFF


def _user_snapshot(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role.value,
        "department_id": user.department_id,
        "manager_id": user.manager_id,
        "email": user.email,
        "mobile": user.mobile,
        "active": user.active,
    }


# --- editing ----------------------------------------------------------------------------------------

ROLE_CHOICES = (Role.REP, Role.MANAGER, Role.DIRECTOR, Role.DEPT_HEAD, Role.STAFF, Role.ADMIN)


def edit_user(
    session: Session,
    actor: User,
    user_id: int,
    *,
    role: str,
    manager_id: int | None,
    email: str | None,
    active: bool,
) -> User:
    require_admin(actor)
    user = session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("成员不存在")
    new_role = Role.from_label(role or "")
    if new_role is None or new_role not in ROLE_CHOICES:
        raise DomainError("请选择有效的角色")
    email = (email or "").strip() or None
    if email is not None and (len(email) > 200 or not EMAIL.match(email)):
        raise DomainError(f"邮箱地址格式不正确：{email}")
    if user.id == actor.id and (new_role is not Role.ADMIN or not active):
        raise DomainError("不能取消自己的管理员角色或停用自己，请让另一位管理员操作")
    if manager_id is not None:
        _check_reporting_line(session, user, manager_id)
    before = _user_snapshot(user)
    user.role, user.manager_id, user.email, user.active = new_role, manager_id, email, active
    after = _user_snapshot(user)
    if after != before:
        audit(session, actor, "user", user.id, "update", before, after)
    return user


def set_ticket_notice_members(session: Session, actor: User, department_id: int, user_ids: list[int]) -> Department:
    """Name the members (besides the head) who receive the department's collaboration ticket cards and
    reminders; only the department's own active members can be named (they may answer its parts)."""
    require_admin(actor)
    department = session.get(Department, department_id)
    if department is None or department.deleted_at is not None:
        raise NotFound("部门不存在")
    chosen = list(dict.fromkeys(user_ids))
    members = {u.id: u for u in session.scalars(select(User).where(User.id.in_(chosen)))}
    for user_id in chosen:
        user = members.get(user_id)
        if user is None or user.deleted_at is not None:
            raise DomainError("所选成员不存在")
        if user.department_id != department.id:
            raise DomainError(f"{user.name}不是{department.name}的成员，不能接收该部门的协同单通知")
        if not user.active:
            raise DomainError(f"{user.name}已停用，不能接收协同单通知")
    before = list(department.ticket_notice_user_ids or [])
    if before != chosen:
        department.ticket_notice_user_ids = chosen
        audit(
            session,
            actor,
            "department",
            department.id,
            "ticket_notices",
            {"ticket_notice_user_ids": before},
            {"ticket_notice_user_ids": chosen},
        )
    return department


def _check_reporting_line(session: Session, user: User, manager_id: int) -> None:
    manager = session.get(User, manager_id)
    if manager is None or manager.deleted_at is not None or not manager.active:
        raise DomainError("所选上级不存在或已停用")
    seen: set[int] = set()
    current: User | None = manager
    while current is not None and current.id not in seen:
        if current.id == user.id:
            raise DomainError(f"汇报关系不能成环：{manager.name}（直接或间接）向{user.name}汇报")
        seen.add(current.id)
        current = session.get(User, current.manager_id) if current.manager_id else None


# --- 客户交接 ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handover:
    leaver: User
    successor: User
    customers: int
    opportunities: int
    tasks: int
    reports: int

    def describe(self) -> str:
        return (
            f"{self.leaver.name}的 {self.customers} 个客户、{self.opportunities} 个进行中商机、"
            f"{self.tasks} 条待办已交接给{self.successor.name}；{self.leaver.name}已停用"
        )


def hand_over(session: Session, actor: User, *, leaver_id: int, successor_id: int) -> Handover:
    """One action: the leaver's customers, open opportunities, open tasks and direct reports go to
    the successor, and the leaver is deactivated. Every owner change is audited one by one."""
    require_admin(actor)
    leaver, successor = session.get(User, leaver_id), session.get(User, successor_id)
    if leaver is None or leaver.deleted_at is not None:
        raise NotFound("离职成员不存在")
    if successor is None or successor.deleted_at is not None or not successor.active:
        raise DomainError("接手人不存在或已停用")
    if leaver.id == successor.id:
        raise DomainError("接手人不能是离职成员本人")
    if leaver.id == actor.id:
        raise DomainError("不能交接并停用自己")
    customers = list(
        session.scalars(
            select(Customer).where(
                Customer.deleted_at.is_(None),
                (Customer.owner_id == leaver.id) | (Customer.key_account_manager_id == leaver.id),
            )
        )
    )
    owned = 0
    for customer in customers:
        before = {"owner_id": customer.owner_id, "key_account_manager_id": customer.key_account_manager_id}
        if customer.owner_id == leaver.id:
            customer.owner_id = successor.id
            owned += 1
        if customer.key_account_manager_id == leaver.id:
            customer.key_account_manager_id = successor.id
        audit(
            session,
            actor,
            "customer",
            customer.id,
            "owner_change",
            before,
            {
                "owner_id": customer.owner_id,
                "key_account_manager_id": customer.key_account_manager_id,
                "reason": "客户交接",
            },
        )
    opportunities = list(
        session.scalars(
            select(Opportunity).where(
                Opportunity.owner_id == leaver.id,
                Opportunity.status == OpportunityStatus.OPEN,
                Opportunity.deleted_at.is_(None),
            )
        )
    )
    for opp in opportunities:
        audit(
            session,
            actor,
            "opportunity",
            opp.id,
            "owner_change",
            {"owner_id": opp.owner_id},
            {"owner_id": successor.id, "reason": "客户交接"},
        )
        opp.owner_id = successor.id
    tasks = list(session.scalars(select(Task).where(Task.assignee_id == leaver.id, Task.status == TaskStatus.OPEN)))
    for task in tasks:
        audit(
            session,
            actor,
            "task",
            task.id,
            "reassign",
            {"assignee_id": task.assignee_id},
            {"assignee_id": successor.id, "reason": "客户交接"},
        )
        task.assignee_id = successor.id
    reports = list(session.scalars(select(User).where(User.manager_id == leaver.id, User.id != successor.id)))
    for report in reports:
        audit(session, actor, "user", report.id, "update", {"manager_id": leaver.id}, {"manager_id": successor.id})
        report.manager_id = successor.id
    before = _user_snapshot(leaver)
    leaver.active = False
    audit(
        session,
        actor,
        "user",
        leaver.id,
        "handover_deactivate",
        before,
        {**_user_snapshot(leaver), "successor_id": successor.id},
    )
    session.flush()
    result = Handover(leaver, successor, owned, len(opportunities), len(tasks), len(reports))
    record_event(
        session,
        "org.handed_over",
        "user",
        leaver.id,
        actor,
        successor_id=successor.id,
        customers=owned,
        opportunities=len(opportunities),
        tasks=len(tasks),
    )
    notifications.notify(
        session,
        notifications.TextToMember(
            successor.wecom_userid,
            f"【客户交接】管理员已将{leaver.name}的 {owned} 个客户、{len(opportunities)} 个进行中商机和 "
            f"{len(tasks)} 条待办交接给您，请尽快跟进。",
            key=f"handover:{leaver.id}:{successor.id}:{int(clock.now().timestamp())}",
        ),
    )
    return result
