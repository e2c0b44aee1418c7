"""The demo company's org chart: 186 staff, six sales teams of 8–9 reps under `dir01`, the marketing,
delivery and finance departments with their heads, the other departments and `admin`.

Planned first because everything else points at these people (customer owners, ticket responders).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from salesnav.demo.baseline import EMAIL_DOMAIN, REPS, STAFF, TEAMS
from salesnav.models import DepartmentKind, Role

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


def _department(plan: DemoPlan, name: str, kind: DepartmentKind, parent_id: int | None = None) -> int:
    dept_id = plan.ids("departments")
    plan.rows["departments"].append(
        {"id": dept_id, "wecom_id": dept_id, "name": name, "kind": kind, "parent_id": parent_id, "head_id": None}
    )
    return dept_id


def _user(plan: DemoPlan, userid: str, role: Role, dept_id: int, manager_id: int | None = None) -> int:
    user_id = plan.ids("users")
    joined = plan.window_start - timedelta(days=plan.rng.randint(30, 2000))
    plan.rows["users"].append(
        {
            "id": user_id,
            "wecom_userid": userid,
            "name": plan.person_name(),
            "role": role,
            "department_id": dept_id,
            "manager_id": manager_id,
            "email": f"{userid}@{EMAIL_DOMAIN}",
            "mobile": plan.mobile(),
            "active": True,
            "created_at": joined,
            "updated_at": joined,
        }
    )
    return user_id


def _head(plan: DemoPlan, dept_id: int, user_id: int) -> None:
    plan.updates["departments"].append({"id": dept_id, "head_id": user_id})


def add_org(plan: DemoPlan) -> None:
    sales = _department(plan, "销售部", DepartmentKind.SALES)
    director = _user(plan, "dir01", Role.DIRECTOR, sales)
    _head(plan, sales, director)
    team_sizes = [REPS // TEAMS + (1 if t < REPS % TEAMS else 0) for t in range(TEAMS)]
    rep_no = 0
    for team, size in enumerate(team_sizes, start=1):
        team_dept = _department(plan, f"销售{'一二三四五六七八九'[team - 1]}组", DepartmentKind.SALES, sales)
        manager = _user(plan, f"mgr{team:02d}", Role.MANAGER, team_dept, director)
        _head(plan, team_dept, manager)
        for _ in range(size):
            rep_no += 1
            rep_id = _user(plan, f"rep{rep_no:02d}", Role.REP, team_dept, manager)
            plan.manager_of[rep_id] = manager
            plan.reps.append({"id": rep_id, "team": team, "manager_id": manager})
    for kind, name, prefix, size in (
        (DepartmentKind.MARKETING, "市场部", "mkt", 8),
        (DepartmentKind.DELIVERY, "交付部", "dlv", 10),
        (DepartmentKind.FINANCE, "财务部", "fin", 6),
    ):
        dept = _department(plan, name, kind)
        plan.dept_by_kind[kind] = dept
        head = _user(plan, f"{prefix}01", Role.DEPT_HEAD, dept)
        plan.dept_heads[kind] = head
        _head(plan, dept, head)
        for n in range(2, size + 1):
            _user(plan, f"{prefix}{n:02d}", Role.STAFF, dept, head)
    others = [_department(plan, name, DepartmentKind.OTHER) for name in ("研发部", "生产部", "质量部", "行政部")]
    _user(plan, "admin", Role.ADMIN, others[-1])
    remaining = STAFF - len(plan.rows["users"])
    shares = [0.40, 0.36, 0.12, 0.12]
    sizes = [round(remaining * s) for s in shares]
    sizes[-1] = remaining - sum(sizes[:-1])
    serial = 0
    for dept, size in zip(others, sizes, strict=True):
        dept_head: int | None = None
        for _ in range(size):
            serial += 1
            user_id = _user(plan, f"staff{serial:03d}", Role.STAFF, dept, dept_head)
            if dept_head is None:
                dept_head = user_id
                _head(plan, dept, dept_head)
