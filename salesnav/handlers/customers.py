"""File a new customer (e.g. a lead met at an exhibition booth) and its contacts."""

from __future__ import annotations

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.access import customer_for
from salesnav.handlers.errors import DomainError
from salesnav.handlers.records import record_event
from salesnav.models import Contact, Customer, CustomerKind, DecisionRole, User

MAX_NAME = 200


def normalise_phone(raw: str | None) -> str | None:
    """Store E.164 so that a search by any spelling of the number finds the contact."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException as exc:
        raise DomainError(f"手机号「{raw}」无法识别") from exc
    if not phonenumbers.is_possible_number(number):
        raise DomainError(f"手机号「{raw}」位数不对")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def create_customer(
    session: Session,
    actor: User,
    *,
    name: str,
    kind: CustomerKind | str = CustomerKind.HOSPITAL,
    grade: str | None = None,
    region: str | None = None,
    tags: list[str] | None = None,
) -> Customer:
    """The new customer belongs to the rep who files it; the same rep filing the same name gets the existing one."""
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写客户名称")
    if len(name) > MAX_NAME:
        raise DomainError(f"客户名称过长（最多 {MAX_NAME} 字）")
    member = kind if isinstance(kind, CustomerKind) else CustomerKind.from_label(str(kind))
    if member is None:
        raise DomainError("客户类型无效，请选择医院、经销商或其他")
    existing = session.scalars(
        select(Customer).where(Customer.owner_id == actor.id, Customer.name == name, Customer.deleted_at.is_(None))
    ).first()
    if existing is not None:
        return existing
    customer = Customer(
        name=name, kind=member, grade=(grade or "").strip() or None, region=(region or "").strip() or None,
        tags=[t.strip() for t in tags or [] if t.strip()], owner_id=actor.id,
    )
    session.add(customer)
    session.flush()
    record_event(session, "customer.created", "customer", customer.id, actor, name=name)
    return customer


def add_contact(
    session: Session,
    actor: User,
    *,
    customer_id: int,
    name: str,
    title: str | None = None,
    phone: str | None = None,
    decision_role: DecisionRole | str | None = None,
) -> Contact:
    customer = customer_for(session, actor, customer_id)
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写联系人姓名")
    role = None
    if decision_role:
        role = (
            decision_role if isinstance(decision_role, DecisionRole) else DecisionRole.from_label(str(decision_role))
        )
        if role is None:
            raise DomainError("决策角色无效，请选择影响者、采购者、使用者或否决者")
    contact = Contact(
        customer_id=customer.id, name=name[:100], title=(title or "").strip()[:100] or None,
        phone=normalise_phone(phone), decision_role=role,
    )
    session.add(contact)
    session.flush()
    record_event(session, "contact.added", "contact", contact.id, actor, customer_id=customer.id)
    return contact
