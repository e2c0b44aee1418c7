"""File a new customer (e.g. a lead met at an exhibition booth) and its contacts; find one by name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

import phonenumbers
from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz, process
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from salesnav.handlers.access import CUSTOMER_NOT_FOUND, customer_for, customers_for, owned_by_visible
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import record_event, record_events
from salesnav.models import Contact, Customer, CustomerKind, DecisionRole, User, bulk

MAX_NAME = 200
NAME_MATCH_THRESHOLD = 70  # rapidfuzz WRatio, 0–100
NAME_CLEAR_LEAD = 8  # the best match must beat the next one by this much, or we ask
# Mainland mobiles that phonenumbers formats as +86 and the digits (checked against it in the tests); 179xx
# is left to phonenumbers, which reads it as a carrier prefix. The shortcut matters for imports of thousands.
_PLAIN_MOBILE = re.compile(r"1(?:[3-689]\d|7[0-8])\d{8}")


def normalise_phone(raw: str | None) -> str | None:
    """Store E.164 so that a search by any spelling of the number finds the contact."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if _PLAIN_MOBILE.fullmatch(raw):
        return "+86" + raw
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
    customer = Customer(**_customer_row(actor, name=name, kind=kind, grade=grade, region=region, tags=tags))
    existing = session.scalars(
        select(Customer).where(
            Customer.owner_id == actor.id, Customer.name == customer.name, Customer.deleted_at.is_(None)
        )
    ).first()
    if existing is not None:
        return existing
    session.add(customer)
    session.flush()
    record_event(session, "customer.created", "customer", customer.id, actor, name=customer.name)
    return customer


def _customer_row(
    actor: User,
    *,
    name: str,
    kind: CustomerKind | str = CustomerKind.HOSPITAL,
    grade: str | None = None,
    region: str | None = None,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """The checks and the column values of a new customer: shared by one-by-one and bulk filing."""
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写客户名称")
    if len(name) > MAX_NAME:
        raise DomainError(f"客户名称过长（最多 {MAX_NAME} 字）")
    member = kind if isinstance(kind, CustomerKind) else CustomerKind.from_label(str(kind))
    if member is None:
        raise DomainError("客户类型无效，请选择医院、经销商或其他")
    return {
        "name": name,
        "kind": member,
        "grade": (grade or "").strip() or None,
        "region": (region or "").strip() or None,
        "tags": [t.strip() for t in tags or [] if t.strip()],
        "owner_id": actor.id,
    }


@dataclass(frozen=True)
class NewCustomer:
    name: str
    kind: CustomerKind | str = CustomerKind.HOSPITAL
    grade: str | None = None
    region: str | None = None
    tags: list[str] | None = None


class FiledCustomer(NamedTuple):
    id: int
    created: bool  # False: the rep already had a customer of that name, which is the one returned


def create_customers(session: Session, actor: User, specs: list[NewCustomer]) -> list[FiledCustomer | DomainError]:
    """`create_customer` for many at once (imports): the same checks, one query for the names the rep already
    has, the new customers written in one statement, events in bulk. Each spec gets its customer, or the
    DomainError that refused it."""
    rows: list[dict[str, Any] | DomainError] = []
    for spec in specs:
        try:
            rows.append(
                _customer_row(
                    actor, name=spec.name, kind=spec.kind, grade=spec.grade, region=spec.region, tags=spec.tags
                )
            )
        except DomainError as exc:
            rows.append(exc)
    names = list({row["name"] for row in rows if isinstance(row, dict)})
    existing: dict[str, FiledCustomer] = {}
    for start in range(0, len(names), 1000):
        for customer_id, name in session.execute(
            select(Customer.id, Customer.name)
            .where(
                Customer.owner_id == actor.id,
                Customer.name.in_(names[start : start + 1000]),
                Customer.deleted_at.is_(None),
            )
            .order_by(Customer.id.desc())
        ):
            existing[name] = FiledCustomer(customer_id, False)  # the oldest wins, as .first() by id would
    new: list[dict[str, Any]] = []
    seen = set(existing)
    for row in rows:
        if isinstance(row, dict) and row["name"] not in seen:  # a name twice in the batch: filed once
            seen.add(row["name"])
            new.append(row)
    for customer_id, row in zip(bulk.insert_new(session, Customer.__table__, new), new, strict=True):
        existing[row["name"]] = FiledCustomer(customer_id, True)
    record_events(session, "customer.created", "customer", [(row["id"], {"name": row["name"]}) for row in new], actor)
    out: list[FiledCustomer | DomainError] = []
    filed: set[str] = set()
    for row in rows:
        if isinstance(row, DomainError):
            out.append(row)
            continue
        customer = existing[row["name"]]
        out.append(customer if row["name"] not in filed else FiledCustomer(customer.id, False))
        filed.add(row["name"])
    return out


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
    contact = Contact(**_contact_row(customer.id, name=name, title=title, phone=phone, decision_role=decision_role))
    session.add(contact)
    session.flush()
    record_event(session, "contact.added", "contact", contact.id, actor, customer_id=customer.id)
    return contact


def _contact_row(
    customer_id: int,
    *,
    name: str,
    title: str | None = None,
    phone: str | None = None,
    decision_role: DecisionRole | str | None = None,
) -> dict[str, Any]:
    """The checks and the column values of a new contact: shared by one-by-one and bulk filing."""
    name = (name or "").strip()
    if not name:
        raise DomainError("请填写联系人姓名")
    role = None
    if decision_role:
        role = decision_role if isinstance(decision_role, DecisionRole) else DecisionRole.from_label(str(decision_role))
        if role is None:
            raise DomainError("决策角色无效，请选择影响者、采购者、使用者或否决者")
    return {
        "customer_id": customer_id,
        "name": name[:100],
        "title": (title or "").strip()[:100] or None,
        "phone": normalise_phone(phone),
        "decision_role": role,
    }


@dataclass(frozen=True)
class NewContact:
    customer_id: int
    name: str
    title: str | None = None
    phone: str | None = None
    decision_role: DecisionRole | str | None = None


def add_contacts(session: Session, actor: User, specs: list[NewContact]) -> list[int | DomainError]:
    """`add_contact` for many at once (imports): the same checks and scope, the contacts written in one
    statement, events in bulk. Each spec gets its contact's id, or the DomainError that refused it."""
    customers = customers_for(session, actor, [spec.customer_id for spec in specs])
    rows: list[dict[str, Any] | DomainError] = []
    for spec in specs:
        if spec.customer_id not in customers:
            rows.append(NotFound(CUSTOMER_NOT_FOUND))
            continue
        try:
            rows.append(
                _contact_row(
                    spec.customer_id,
                    name=spec.name,
                    title=spec.title,
                    phone=spec.phone,
                    decision_role=spec.decision_role,
                )
            )
        except DomainError as exc:
            rows.append(exc)
    new = [row for row in rows if isinstance(row, dict)]
    bulk.insert_new(session, Contact.__table__, new)
    record_events(
        session, "contact.added", "contact", [(row["id"], {"customer_id": row["customer_id"]}) for row in new], actor
    )
    return [row["id"] if isinstance(row, dict) else row for row in rows]


@lru_cache(maxsize=20_000)
def initials(name: str) -> str:
    """人民医院 → rmyy; Latin letters and digits are kept as they are."""
    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default") if p).lower()


def name_matches(session: Session, scoped: Select[Any], query: str) -> ColumnElement[bool]:
    """The customer matcher for what a person types: the name contains it, or (letters and digits) the pinyin
    initials of the name contain it (「协和」, 「rmyy」). `scoped` is the customers the person may see."""
    by_name = Customer.name.contains(query, autoescape=True)
    if not (query.isascii() and query.isalnum()):
        return by_name
    # Pinyin initials cannot be computed in SQL: match them over the (scoped) names in Python.
    names = session.execute(scoped.with_only_columns(Customer.id, Customer.name)).all()
    ids = [cid for cid, name in names if query.lower() in initials(name)]
    return or_(by_name, Customer.id.in_(ids))


def find_by_name(session: Session, actor: User, query: str) -> Customer:
    """One customer the actor may see (a rep: their own) by a few characters of its name, its pinyin initials,
    or — when neither finds one — a fuzzy spelling.

    A Chinese DomainError when none fits, or when several fit about equally well (they are listed).
    """
    query = (query or "").strip()
    scoped = select(Customer).where(Customer.deleted_at.is_(None), owned_by_visible(session, actor, Customer.owner_id))
    customers = {c.id: c for c in session.scalars(scoped)}
    if not customers:
        raise DomainError("您名下还没有客户。添加客户的企业微信后会自动建档。")
    exact = [c for c in customers.values() if c.name == query]
    if len(exact) == 1:
        return exact[0]
    found = list(session.scalars(scoped.where(name_matches(session, scoped, query)).order_by(Customer.name)))
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        listed = "、".join(c.name for c in found[:5]) + ("等" if len(found) > 5 else "")
        raise DomainError(f"「{query}」对应多个客户：{listed}。请写得更完整一些。")
    names = {cid: c.name for cid, c in customers.items()}
    matches = process.extract(query, names, scorer=fuzz.WRatio, limit=5, score_cutoff=NAME_MATCH_THRESHOLD)
    if not matches:
        raise NotFound(f"没有找到客户「{query}」。可以写客户名称中的几个字或拼音首字母，例如「人民」「rmyy」。")
    if len(matches) == 1 or matches[0][1] - matches[1][1] >= NAME_CLEAR_LEAD:
        return customers[matches[0][2]]
    listed = "、".join(name for name, _score, _cid in matches)
    raise DomainError(f"「{query}」对应多个客户：{listed}。请写得更完整一些。")


_UNSET: Any = object()


def update_contact(
    session: Session,
    actor: User,
    *,
    contact_id: int,
    name: str | None = None,
    title: str | None = _UNSET,
    phone: str | None = _UNSET,
    decision_role: DecisionRole | str | None = _UNSET,
) -> Contact:
    """Correct a contact of a customer the actor may see: a role set here is a person's word, no longer 推测."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.deleted_at is not None or not customers_for(session, actor, [contact.customer_id]):
        raise NotFound("联系人不存在或您无权查看")  # the customer's scope; what lies outside does not exist
    changed: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise DomainError("请填写联系人姓名")
        contact.name = name.strip()[:100]
        changed["name"] = contact.name
    if title is not _UNSET:
        contact.title = (title or "").strip()[:100] or None
        changed["title"] = contact.title
    if phone is not _UNSET:
        contact.phone = normalise_phone(phone)
        changed["phone"] = contact.phone
    if decision_role is not _UNSET:
        role = None
        if decision_role:
            role = (
                decision_role
                if isinstance(decision_role, DecisionRole)
                else DecisionRole.from_label(str(decision_role))
            )
            if role is None:
                raise DomainError("决策角色无效，请选择影响者、采购者、使用者或否决者")
        contact.decision_role = role
        contact.decision_role_guessed = False
        changed["decision_role"] = role.value if role else None
    session.flush()
    record_event(session, "contact.updated", "contact", contact.id, actor, customer_id=contact.customer_id, **changed)
    return contact
