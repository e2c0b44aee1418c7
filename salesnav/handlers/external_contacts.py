"""A rep added a customer's WeChat (WeCom external contact): file the customer, the contact, a 微信 touchpoint.

A redelivered or repeated event finds what the first one created (the contact by its
external_userid, the customer by name among the rep's own) instead of creating it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.customers import add_contact, create_customer
from salesnav.handlers.errors import DomainError
from salesnav.handlers.scope import customer_for
from salesnav.handlers.touchpoints import log_touchpoint
from salesnav.models import (
    CaptureSource,
    Contact,
    Customer,
    CustomerKind,
    Touchpoint,
    TouchpointType,
    User,
)


@dataclass(frozen=True)
class ExternalContactCard:
    """What WeCom tells us about the person (externalcontact/get, or just the id from the event)."""

    external_userid: str
    name: str
    corp_name: str = ""
    position: str = ""


@dataclass(frozen=True)
class ExternalContactFiled:
    customer: Customer
    contact: Contact
    touchpoint: Touchpoint
    customer_created: bool
    contact_created: bool


def file_external_contact(
    session: Session, actor: User, card: ExternalContactCard, *, occurred_at: datetime
) -> ExternalContactFiled:
    external_userid = card.external_userid.strip()
    if not external_userid:
        raise DomainError("外部联系人缺少 ID")
    contact = session.scalars(select(Contact).where(Contact.external_userid == external_userid)).first()
    customer_created = contact_created = False
    if contact is not None:
        customer = customer_for(session, actor, contact.customer_id)
        contact.deleted_at = None  # a retired contact the rep adds again is current again
    else:
        # A personal WeChat has no company: the person is the customer until someone reassigns them.
        name = (card.corp_name or card.name or external_userid).strip()[:200]
        existing = session.scalars(
            select(Customer.id).where(
                Customer.owner_id == actor.id, Customer.name == name, Customer.deleted_at.is_(None)
            )
        ).first()
        kind = CustomerKind.HOSPITAL if card.corp_name else CustomerKind.OTHER
        customer = create_customer(session, actor, name=name, kind=kind)  # finds the rep's own by name
        customer_created = existing is None
        contact = add_contact(
            session, actor, customer_id=customer.id, name=card.name or external_userid, title=card.position or None
        )
        contact.external_userid = external_userid
        session.flush()
        contact_created = True
    touchpoint = log_touchpoint(
        session,
        actor,
        customer_id=customer.id,
        type=TouchpointType.WECHAT,
        contact_ids=[contact.id],
        summary=f"添加企业微信好友：{contact.name}",
        occurred_at=occurred_at,
        source=CaptureSource.EXTERNAL_CONTACT,
    )
    return ExternalContactFiled(customer, contact, touchpoint, customer_created, contact_created)
