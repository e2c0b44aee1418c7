"""Finding a rep's customers from the chat: recent ones for the card, fuzzy names for text commands."""

from __future__ import annotations

from collections import Counter

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav.handlers.errors import DomainError
from salesnav.models import Customer, Touchpoint, TouchpointType, User

MATCH_THRESHOLD = 70  # rapidfuzz WRatio, 0–100
CLEAR_LEAD = 8  # the best match must beat the next one by this much, or we ask


def recent_customers(session: Session, user: User, limit: int = 6) -> list[Customer]:
    """The rep's own customers, most recently touched first, then the rest by name."""
    last_touch = (
        select(Touchpoint.customer_id, func.max(Touchpoint.occurred_at).label("last"))
        .where(Touchpoint.rep_id == user.id, Touchpoint.deleted_at.is_(None))
        .group_by(Touchpoint.customer_id)
        .subquery()
    )
    rows = session.execute(
        select(Customer)
        .outerjoin(last_touch, last_touch.c.customer_id == Customer.id)
        .where(Customer.owner_id == user.id, Customer.deleted_at.is_(None))
        .order_by(last_touch.c.last.is_(None), last_touch.c.last.desc(), Customer.name)
        .limit(limit)
    )
    return list(rows.scalars())


def usual_type(session: Session, user: User) -> TouchpointType:
    """The type the rep logs most often lately, so the card's drop-down is usually already right."""
    recent = session.scalars(
        select(Touchpoint.type)
        .where(Touchpoint.rep_id == user.id, Touchpoint.deleted_at.is_(None))
        .order_by(Touchpoint.occurred_at.desc())
        .limit(20)
    ).all()
    return Counter(recent).most_common(1)[0][0] if recent else TouchpointType.VISIT


def find_customer(session: Session, user: User, query: str) -> Customer:
    """One of the rep's customers by (fuzzy) name; a Chinese DomainError when none or several fit."""
    query = query.strip()
    customers = {
        c.id: c
        for c in session.scalars(select(Customer).where(Customer.owner_id == user.id, Customer.deleted_at.is_(None)))
    }
    if not customers:
        raise DomainError("您名下还没有客户。添加客户的企业微信后会自动建档。")
    exact = [c for c in customers.values() if c.name == query]
    if len(exact) == 1:
        return exact[0]
    names = {cid: c.name for cid, c in customers.items()}
    matches = process.extract(query, names, scorer=fuzz.WRatio, limit=5, score_cutoff=MATCH_THRESHOLD)
    if not matches:
        raise DomainError(f"没有找到客户「{query}」。请检查名称，或点菜单「记触点」从列表中选择。")
    if len(matches) == 1 or matches[0][1] - matches[1][1] >= CLEAR_LEAD:
        return customers[matches[0][2]]
    listed = "、".join(name for name, _score, _cid in matches)
    raise DomainError(f"「{query}」对应多个客户：{listed}。请写得更完整一些。")
