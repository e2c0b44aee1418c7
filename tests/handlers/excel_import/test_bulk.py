"""The bulk path of the import: the rules still see imported data, and the shortcuts equal the real thing."""

from __future__ import annotations

import random

import phonenumbers
from sqlalchemy import select

from salesnav.handlers.customers import (
    NewContact,
    NewCustomer,
    add_contact,
    add_contacts,
    create_customer,
    create_customers,
    normalise_phone,
)
from salesnav.handlers.opportunities import NewOpportunity, create_from_touchpoint, create_from_touchpoints
from salesnav.handlers.touchpoints import NewTouchpoint, log_touchpoint, log_touchpoints
from salesnav.models import (
    Alert,
    AuditEntry,
    CaptureSource,
    Contact,
    Customer,
    DomainEvent,
    Emotion,
    Health,
    Opportunity,
    StageTransition,
    Touchpoint,
    TouchpointType,
    touchpoint_contacts,
)
from tests.handlers.excel_import import sheets
from tests.metrics.builders import utc


def test_three_resistant_remarks_imported_for_one_customer_turn_it_red_once(session, org, run_import):
    data = sheets.xlsx(
        {
            "客户": [
                ["客户名称", "联系人", "手机", "备注"],
                ["红灯医院", "王主任", "13900000001", "2026.2.26 电话，客户拒绝；2026.2.27 面谈，不满价格"],
                ["红灯医院", "王主任", "13900000001", "2026.3.1 微信，对方投诉售后"],  # a second row: a later wave
                ["平安医院", "赵主任", "13900000002", "2026.2.27 电话，客户拒绝；2026.2.28 面谈，不满价格"],
            ]
        }
    )
    imp = run_import(org.rep, data)
    assert imp.counts["touchpoints"] == 5 and imp.counts["failed"] == 0

    names = {c.name: c for c in session.scalars(select(Customer))}
    assert names["红灯医院"].health is Health.RED  # 3 抵触 within 7 days
    assert names["平安医院"].health is not Health.RED  # only 2
    alerts = session.scalars(select(Alert).where(Alert.rule == "health_red")).all()
    assert [(a.subject_id, len(a.detail["signals"])) for a in alerts] == [(names["红灯医院"].id, 3)]


def test_the_mobile_shortcut_stores_what_phonenumbers_would():
    rng = random.Random(7)
    numbers = [f"1{rng.randint(30, 99)}{rng.randint(0, 99_999_999):08d}" for _ in range(20_000)]
    numbers += [f"{p}12345678"[:11] for p in range(130, 200)]  # every 3-digit prefix, 179 included
    for raw in numbers:
        try:
            parsed = phonenumbers.parse(raw, "CN")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            assert normalise_phone(raw) == e164
            assert normalise_phone(e164) == e164  # the stored form given again (an import's contacts)


def written(session, model, record_id, *ignored):
    """The row as stored, less its id, its timestamps and the columns named."""
    row = session.execute(select(model.__table__).where(model.__table__.c.id == record_id)).mappings().one()
    return {k: v for k, v in row.items() if k not in ("id", "created_at", "updated_at", *ignored)}


def trail(session, subject_type, subject_id, *ids):
    """The events and audit entries about one record, with the record's own ids (`ids`) written as "ID"."""

    def plain(payload):
        return {k: "ID" if k.endswith("_id") and v in ids else v for k, v in payload.items()}

    events = session.scalars(
        select(DomainEvent).where(DomainEvent.subject_type == subject_type, DomainEvent.subject_id == subject_id)
    )
    audits = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == subject_type, AuditEntry.entity_id == subject_id)
    )
    return [(e.kind, e.actor_id, plain(e.payload), e.occurred_at) for e in events] + [
        (a.action, a.actor_id, plain(a.before), plain(a.after), a.occurred_at) for a in audits
    ]


def test_the_bulk_handlers_write_exactly_what_the_one_by_one_handlers_write(session, org, frozen_clock):
    """The bulk handlers write rows directly (no ORM objects): each record, its events and audit entries, and
    the columns the database derives (contact_roles, stage stays) come out the same as one by one."""
    rep = org.rep
    one = create_customer(session, rep, name="逐个医院", kind="经销商", grade="三甲", region="上海", tags=[" 重点 "])
    (filed,) = create_customers(
        session, rep, [NewCustomer(name="批量医院", kind="经销商", grade="三甲", region="上海", tags=[" 重点 "])]
    )
    assert filed.created
    assert written(session, Customer, one.id, "name") == written(session, Customer, filed.id, "name")
    assert trail(session, "customer", one.id) == [
        (k, a, {**p, "name": "逐个医院"}, t) for k, a, p, t in trail(session, "customer", filed.id)
    ]

    contact_kw = {"name": "王主任", "title": "设备科", "phone": "138 0000 1111", "decision_role": "采购者"}
    contact = add_contact(session, rep, customer_id=one.id, **contact_kw)
    (contact_id,) = add_contacts(session, rep, [NewContact(customer_id=filed.id, **contact_kw)])
    assert written(session, Contact, contact.id, "customer_id") == written(session, Contact, contact_id, "customer_id")
    assert trail(session, "contact", contact.id, one.id) == trail(session, "contact", contact_id, filed.id)

    touchpoint_kw = {
        "type": TouchpointType.VISIT,
        "emotion": Emotion.POSITIVE,
        "summary": " 面谈，报价 ",
        "next_action": "回访",
        "next_action_due": utc(3, 5),
        "occurred_at": utc(3, 1, 2),
        "source": CaptureSource.EXCEL_IMPORT,
        "guessed_fields": ["type"],
    }
    tp = log_touchpoint(session, rep, customer_id=one.id, contact_ids=[contact.id], **touchpoint_kw)
    (logged,) = log_touchpoints(
        session, rep, [NewTouchpoint(customer_id=filed.id, contact_ids=[contact_id], **touchpoint_kw)]
    )
    session.expire_all()
    assert written(session, Touchpoint, tp.id, "customer_id") == written(session, Touchpoint, logged.id, "customer_id")
    assert written(session, Touchpoint, logged.id)["contact_roles"] == 16 + 2  # someone present; the purchaser
    assert session.execute(
        select(touchpoint_contacts.c.contact_id).where(touchpoint_contacts.c.touchpoint_id == logged.id)
    ).scalars().all() == [contact_id]
    assert trail(session, "touchpoint", tp.id, one.id) == trail(session, "touchpoint", logged.id, filed.id)

    deal_kw = {"title": "CT 项目", "product_line": "CT设备", "expected_amount_fen": 35_000_000}
    opp = create_from_touchpoint(session, rep, touchpoint_id=tp.id, **deal_kw)
    (opp_id,) = create_from_touchpoints(session, rep, [NewOpportunity(touchpoint_id=logged.id, **deal_kw)])
    session.expire_all()
    same = ("customer_id", "last_touchpoint_id")
    assert written(session, Opportunity, opp.id, *same) == written(session, Opportunity, opp_id, *same)
    opened = trail(session, "opportunity", opp_id, filed.id, logged.id)
    assert [entry[0] for entry in opened] == ["opportunity.created", "create"]  # the event, the audit entry
    assert trail(session, "opportunity", opp.id, one.id, tp.id) == opened
    assert session.get(Touchpoint, logged.id).opportunity_id == opp_id
    history = [
        written(session, StageTransition, t.id, "opportunity_id", "touchpoint_id")
        for t in session.scalars(select(StageTransition).order_by(StageTransition.id))
    ]
    assert history[0] == history[1]
