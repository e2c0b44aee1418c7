"""Outside systems' events (an ERP, a marketing platform, a ticket desk) as customer events, through a signed
webhook (docs/journeys.md, "Inbound webhook").

The sender signs `<timestamp>.<body>` with HMAC-SHA256 and the shared secret (SALESNAV_WEBHOOK_SECRET); a
signature that does not match, or a timestamp more than `WINDOW_SECONDS` away from our clock, is refused — so a
captured request cannot be replayed later, and within the window its event id makes a resend a no-op
(`record_webhook_event` answers it as a duplicate). The customer is named by our id, or found by a contact's
mobile number or WeCom external contact id. The event's kind is `webhook.<the sender's kind>`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.customer_events import (
    WEBHOOK_PREFIX,
    NewCustomerEvent,
    record_customer_event,
    record_customer_events_once,
)
from salesnav.handlers.customers import normalise_phone
from salesnav.handlers.errors import DomainError
from salesnav.models import Contact, Customer, CustomerEvent, EventSource

WINDOW_SECONDS = 300
SIGNATURE_PREFIX = "sha256="
# Whole-value patterns (anchored: a validator's `match` would accept any value that merely starts right).
KIND = re.compile(r"[a-z][a-z0-9_.]{0,48}\Z")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}\Z")
EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,79}\Z")


class SignatureRefused(DomainError):
    code = "signature_refused"


class EventRefused(DomainError):
    """The event names no customer we can find, or in a way we cannot use (422)."""

    code = "event_refused"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (what a sender computes; tests and docs)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: datetime) -> None:
    """Refuse (SignatureRefused, in Chinese) a request not signed with `secret` or sent outside the window."""
    if not secret:
        raise SignatureRefused("入站事件接口未启用：服务端未设置 SALESNAV_WEBHOOK_SECRET")
    if not timestamp or not signature:
        raise SignatureRefused("缺少签名：请带上 X-SalesNav-Timestamp 与 X-SalesNav-Signature 请求头")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureRefused("X-SalesNav-Timestamp 须为 Unix 时间戳（秒）")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()):
        raise SignatureRefused("签名不正确：请用共享密钥对「时间戳.请求体」做 HMAC-SHA256")
    skew = abs(now.timestamp() - int(timestamp))
    if skew > WINDOW_SECONDS:
        raise SignatureRefused(
            f"请求时间与服务器相差 {int(skew)} 秒，超过 {WINDOW_SECONDS // 60} 分钟：已拒绝（防止重放），请重新签名发送"
        )


@dataclass(frozen=True)
class Recorded:
    event: CustomerEvent
    duplicate: bool  # the same sender's event id was recorded before: nothing new was written


def record_webhook_event(
    session: Session,
    *,
    sender: str,
    event_id: str,
    kind: str,
    customer_id: int | None = None,
    mobile: str | None = None,
    external_userid: str | None = None,
    occurred_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
) -> Recorded:
    """Record an outside system's event for the customer it names; the same (sender, event id) twice records it
    once (the second answers the first). Fields are checked by the channel's schema; this checks what needs the
    database: that the customer (or the contact with that mobile or external id) exists and is unambiguous."""
    now = clock.now()
    key = f"webhook:{sender}:{event_id}"
    existing = session.scalars(select(CustomerEvent).where(CustomerEvent.dedupe_key == key)).first()
    if existing is not None:
        return Recorded(existing, duplicate=True)
    if occurred_at is not None and occurred_at > now + timedelta(seconds=WINDOW_SECONDS):
        raise EventRefused("occurred_at 晚于当前时间：事件不能发生在未来", field="occurred_at")
    customer, contact = _customer_named(session, customer_id, mobile, external_userid)
    event = record_customer_event(
        session,
        customer_id=customer.id,
        contact_id=contact.id if contact else None,
        kind=WEBHOOK_PREFIX + kind,
        occurred_at=occurred_at or now,
        payload={**(payload or {}), "sender": sender, "event_id": event_id},
        source=EventSource.WEBHOOK,
        dedupe_key=key,
    )
    if event is None:  # a concurrent twin won the key between our look and our insert
        twin = session.scalars(select(CustomerEvent).where(CustomerEvent.dedupe_key == key)).one()
        return Recorded(twin, duplicate=True)
    return Recorded(event, duplicate=False)


MAX_BATCH = 500  # events in one batch request


@dataclass(frozen=True)
class WebhookEvent:
    """One event of a batch, as the sender named it (fields checked by the channel's schema)."""

    sender: str
    event_id: str
    kind: str
    customer_id: int | None = None
    mobile: str | None = None
    external_userid: str | None = None
    occurred_at: datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchItem:
    """What became of one event of a batch: recorded, duplicate (its event id was recorded before, or earlier in
    the same batch), or refused (`refused` says why, `field` names the field)."""

    status: str  # "recorded" | "duplicate" | "refused"
    id: int | None = None
    kind: str | None = None
    customer_id: int | None = None
    contact_id: int | None = None
    refused: str | None = None
    field: str | None = None


def _recorded(session: Session, keys: Sequence[str]) -> dict[str, Any]:
    """The events already recorded under these dedupe keys, by key."""
    rows = session.execute(
        select(
            CustomerEvent.id,
            CustomerEvent.dedupe_key,
            CustomerEvent.kind,
            CustomerEvent.customer_id,
            CustomerEvent.contact_id,
        ).where(CustomerEvent.dedupe_key.in_(set(keys)))
    )
    return {row.dedupe_key: row for row in rows}


def record_webhook_events(session: Session, events: Sequence[WebhookEvent]) -> list[BatchItem]:
    """A batch of outside events, in the caller's transaction, each as `record_webhook_event` would record it
    (idempotent by sender and event id, the customer found the same way), in a few statements for the lot: one
    read of the event ids seen before, one of the customers named by id, one INSERT for the new events — and one
    job for the journeys' reaction to those they hear. An event that cannot be recorded is refused alone."""
    if len(events) > MAX_BATCH:
        raise ValueError(f"a batch holds at most {MAX_BATCH} events")
    now = clock.now()
    keys = [f"webhook:{e.sender}:{e.event_id}" for e in events]
    seen = _recorded(session, keys)
    by_id = {e.customer_id for e in events if e.customer_id is not None}
    live = (
        set(session.scalars(select(Customer.id).where(Customer.id.in_(by_id), Customer.deleted_at.is_(None))))
        if by_id
        else set()
    )
    items: list[BatchItem | None] = []
    new: list[NewCustomerEvent] = []
    new_at: list[int] = []  # the batch's index of each new event
    first_of: dict[str, int] = {}  # a key's first place in the batch: a twin later in it is its duplicate
    for index, (e, key) in enumerate(zip(events, keys, strict=True)):
        if (row := seen.get(key)) is not None:
            items.append(BatchItem("duplicate", row.id, row.kind, row.customer_id, row.contact_id))
            continue
        if key in first_of:
            items.append(None)  # filled in below, from its first
            continue
        try:
            if e.occurred_at is not None and e.occurred_at > now + timedelta(seconds=WINDOW_SECONDS):
                raise EventRefused("occurred_at 晚于当前时间：事件不能发生在未来", field="occurred_at")
            if e.customer_id is not None:
                if e.customer_id not in live:
                    raise EventRefused(f"找不到编号为 {e.customer_id} 的客户", field="customer.id")
                customer_id, contact_id = e.customer_id, None
            else:
                customer, contact = _customer_named(session, None, e.mobile, e.external_userid)
                customer_id, contact_id = customer.id, contact.id if contact else None
        except EventRefused as exc:
            items.append(BatchItem("refused", refused=exc.message, field=str(exc.details.get("field") or "customer")))
            continue
        first_of[key] = index
        new_at.append(index)
        new.append(
            NewCustomerEvent(
                customer_id=customer_id,
                contact_id=contact_id,
                kind=WEBHOOK_PREFIX + e.kind,
                occurred_at=e.occurred_at or now,
                payload={**e.payload, "sender": e.sender, "event_id": e.event_id},
                dedupe_key=key,
            )
        )
        items.append(None)
    ids = record_customer_events_once(session, new, source=EventSource.WEBHOOK)
    twins: list[int] = []
    for index, event_id, one in zip(new_at, ids, new, strict=True):
        if event_id is None:  # a concurrent twin won the key between our look and our insert
            twins.append(index)
            continue
        items[index] = BatchItem("recorded", event_id, one.kind, one.customer_id, one.contact_id)
    if twins:
        won = _recorded(session, [keys[i] for i in twins])
        for index in twins:
            row = won[keys[index]]
            items[index] = BatchItem("duplicate", row.id, row.kind, row.customer_id, row.contact_id)
    out: list[BatchItem] = []
    for index, item in enumerate(items):
        if item is None:  # a later twin within the batch: the duplicate of its first
            first = items[first_of[keys[index]]]
            assert first is not None
            item = dataclasses.replace(first, status="duplicate") if first.status != "refused" else first
        out.append(item)
    return out


def _customer_named(
    session: Session, customer_id: int | None, mobile: str | None, external_userid: str | None
) -> tuple[Customer, Contact | None]:
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        if customer is None or customer.deleted_at is not None:
            raise EventRefused(f"找不到编号为 {customer_id} 的客户", field="customer.id")
        return customer, None
    if external_userid:
        contacts = _live_contacts(session, Contact.external_userid == external_userid)
        what, field = f"企业微信外部联系人「{external_userid}」", "customer.external_userid"
    elif mobile:
        try:
            phone = normalise_phone(mobile)
        except DomainError as exc:
            raise EventRefused(exc.message, field="customer.mobile") from exc
        contacts = _live_contacts(session, Contact.phone == phone)
        what, field = f"手机号「{mobile}」", "customer.mobile"
    else:
        raise EventRefused("请用 customer.id、customer.mobile 或 customer.external_userid 指明客户", field="customer")
    if not contacts:
        raise EventRefused(f"找不到{what}对应的客户联系人", field=field)
    if len({c.customer_id for c in contacts}) > 1:
        raise EventRefused(f"{what}对应多个客户，请改用 customer.id 指明", field=field)
    customer = session.get(Customer, contacts[0].customer_id)
    assert customer is not None
    return customer, contacts[0] if len(contacts) == 1 else None


def _live_contacts(session: Session, condition: Any) -> list[Contact]:
    return list(
        session.scalars(
            select(Contact)
            .join(Customer, Customer.id == Contact.customer_id)
            .where(condition, Contact.deleted_at.is_(None), Customer.deleted_at.is_(None))
            .order_by(Contact.id)
            .limit(20)
        )
    )
