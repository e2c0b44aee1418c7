"""A rep's customers for the 记触点 card: recent ones first, and the type they usually log.

Finding a customer by name is a use case: `salesnav.handlers.customers.find_by_name`.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav.models import Contact, Customer, Touchpoint, TouchpointType, User, touchpoint_contacts


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


def customer_contacts(session: Session, customer_id: int) -> list[Contact]:
    """The customer's people, those met most often by anyone first (the ones a rep will want to tap)."""
    own = select(Contact.id).where(Contact.customer_id == customer_id)
    met = (
        select(touchpoint_contacts.c.contact_id, func.count().label("times"))
        .where(touchpoint_contacts.c.contact_id.in_(own))
        .group_by(touchpoint_contacts.c.contact_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(Contact)
            .outerjoin(met, met.c.contact_id == Contact.id)
            .where(Contact.customer_id == customer_id, Contact.deleted_at.is_(None))
            .order_by(func.coalesce(met.c.times, 0).desc(), Contact.id)
        )
    )


def last_present(session: Session, user: User, customer_id: int) -> list[int]:
    """Who was there at the rep's last touchpoint with this customer (the usual company, pre-selected)."""
    last = session.scalars(
        select(Touchpoint)
        .where(Touchpoint.rep_id == user.id, Touchpoint.customer_id == customer_id, Touchpoint.deleted_at.is_(None))
        .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
        .limit(1)
    ).first()
    return [c.id for c in last.contacts if c.deleted_at is None] if last is not None else []
