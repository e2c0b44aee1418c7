"""Small factories for the domain: an org, customers with contacts, touchpoints, opportunities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import count

from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.checklists import Evidence
from salesnav.handlers.stages import ensure_default_stages
from salesnav.models import (
    Attachment,
    ChecklistItemKind,
    Contact,
    Customer,
    DecisionRole,
    Department,
    DepartmentKind,
    Role,
    Touchpoint,
    TouchpointType,
    User,
)

_seq = count(1)


@dataclass
class Org:
    sales: Department
    marketing: Department
    delivery: Department
    director: User
    manager: User
    rep: User
    other_rep: User  # in the same team
    outsider_rep: User  # in another manager's team
    other_manager: User
    marketer: User
    deliverer: User
    admin: User


def user(
    session: Session,
    userid: str,
    role: Role,
    department: Department | None = None,
    manager: User | None = None,
    name: str | None = None,
) -> User:
    u = User(
        wecom_userid=userid,
        name=name or userid,
        role=role,
        department_id=department.id if department else None,
        manager_id=manager.id if manager else None,
        email=f"{userid}@example.test",
    )
    session.add(u)
    session.flush()
    return u


def org(session: Session) -> Org:
    ensure_default_stages(session)
    sales = Department(name="销售部", kind=DepartmentKind.SALES)
    marketing = Department(name="市场部", kind=DepartmentKind.MARKETING)
    delivery = Department(name="交付部", kind=DepartmentKind.DELIVERY)
    session.add_all([sales, marketing, delivery])
    session.flush()
    director = user(session, "dir01", Role.DIRECTOR, sales, name="赵总监")
    manager = user(session, "mgr01", Role.MANAGER, sales, director, name="钱主管")
    other_manager = user(session, "mgr02", Role.MANAGER, sales, director, name="孙主管")
    rep = user(session, "rep01", Role.REP, sales, manager, name="李销售")
    other_rep = user(session, "rep02", Role.REP, sales, manager, name="周销售")
    outsider = user(session, "rep03", Role.REP, sales, other_manager, name="吴销售")
    marketer = user(session, "mkt01", Role.DEPT_HEAD, marketing, name="郑市场")
    deliverer = user(session, "dlv01", Role.DEPT_HEAD, delivery, name="王交付")
    admin = user(session, "admin", Role.ADMIN, name="管理员")
    marketing.head_id, delivery.head_id = marketer.id, deliverer.id
    session.flush()
    return Org(
        sales,
        marketing,
        delivery,
        director,
        manager,
        rep,
        other_rep,
        outsider,
        other_manager,
        marketer,
        deliverer,
        admin,
    )


def customer(
    session: Session,
    owner: User,
    name: str | None = None,
    grade: str = "三甲",
    roles: tuple[DecisionRole, ...] = (DecisionRole.USER,),
) -> Customer:
    c = Customer(name=name or f"测试医院{next(_seq)}", grade=grade, region="上海", owner_id=owner.id)
    session.add(c)
    session.flush()
    for i, role in enumerate(roles):
        session.add(
            Contact(
                customer_id=c.id,
                name=f"联系人{i + 1}",
                title="设备科",
                decision_role=role,
                phone=f"+86138000{next(_seq):05d}",
            )
        )
    session.flush()
    return c


def touchpoint(
    session: Session, rep: User, cust: Customer, occurred_at: datetime | None = None, **kwargs: object
) -> Touchpoint:
    from salesnav.handlers.touchpoints import log_touchpoint

    kwargs.setdefault("type", TouchpointType.VISIT)
    return log_touchpoint(session, rep, customer_id=cust.id, occurred_at=occurred_at or clock.now(), **kwargs)


def attachment(
    session: Session, uploader: User, name: str = "材料.pdf", content_type: str = "application/pdf"
) -> Attachment:
    """An uploaded file's row (the bytes are not needed by the handlers that only refer to it)."""
    a = Attachment(
        sha256=f"{next(_seq):064x}",
        filename=name,
        content_type=content_type,
        size_bytes=1024,
        storage_path=f"test/{name}",
        uploaded_by_id=uploader.id,
    )
    session.add(a)
    session.flush()
    return a


def evidence_for(session: Session, actor: User, *stage_codes: str) -> dict[int, Evidence]:
    """Complete evidence for the checklists of `stage_codes`: a file for file items (uploaded by `actor`),
    a sentence for text items, a tick for checkboxes."""
    from salesnav.handlers.stages import stage_by_code

    out: dict[int, Evidence] = {}
    for code in stage_codes:
        for item in stage_by_code(session, code).checklist:
            if item.kind is ChecklistItemKind.FILE:
                out[item.id] = Evidence(attachment_id=attachment(session, actor, f"{item.name}.pdf").id)
            elif item.kind is ChecklistItemKind.TEXT:
                out[item.id] = Evidence(text=f"{item.name}：已整理")
            else:
                out[item.id] = Evidence(checked=True)
    return out
