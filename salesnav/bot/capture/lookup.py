"""A rep's customers for the 记触点 card: recent ones first, and the type they usually log.

Finding a customer by name is a use case: `salesnav.handlers.customers.find_by_name`.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav.models import Customer, Touchpoint, TouchpointType, User


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
