"""What we already record becomes the customer's events (issue 20), in the same transaction as the record itself,
through the real use cases and with a moved clock: touchpoints and their emotion, stage moves and the win, the
collaboration ticket, payments, and an Excel import (one statement for its customers)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from salesnav.handlers import contracts
from salesnav.handlers.contracts import PlannedInstalment
from salesnav.handlers.customer_events import customer_events
from salesnav.handlers.excel_import import commit
from salesnav.handlers.opportunities import advance_stage, create_from_touchpoint
from salesnav.handlers.touchpoints import update_touchpoint
from salesnav.jobs import queue as jobs_queue
from salesnav.models import Customer, CustomerEvent, Emotion, ExcelImport
from tests import factories as f
from tests.handlers.excel_import import sheets
from tests.handlers.excel_import.conftest import TZ

WAN = 10_000_00


def _kinds(session, customer_id):
    return [(e.kind, e.source) for e in reversed(customer_events(session, customer_id))]


def test_a_touchpoint_is_an_event_at_its_own_time_and_a_clear_emotion_is_one_too(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    contact = cust.contacts[0]
    visited = frozen_clock.now() - timedelta(hours=3)
    tp = f.touchpoint(
        session, org.rep, cust, occurred_at=visited, emotion=Emotion.RESISTANT, contact_ids=[contact.id], summary="嫌贵"
    )
    session.commit()

    events = list(reversed(customer_events(session, cust.id)))
    assert [(e.kind, e.source, e.contact_id, e.occurred_at) for e in events] == [
        ("touchpoint.logged", "system", contact.id, visited),
        ("emotion.recorded", "system", contact.id, visited),
    ]
    assert events[0].payload["touchpoint_id"] == tp.id and events[0].payload["type"] == "visit"
    assert events[1].payload["emotion"] == "resistant" and events[1].payload["emotion_label"] == "抵触"


def test_a_neutral_touchpoint_records_no_emotion_until_one_is_heard(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    session.commit()
    assert _kinds(session, cust.id) == [("touchpoint.logged", "system")]

    frozen_clock.advance(timedelta(minutes=10))
    update_touchpoint(session, org.rep, touchpoint_id=tp.id, emotion="积极")
    update_touchpoint(session, org.rep, touchpoint_id=tp.id, summary="补充：预算已批")  # no emotion change
    session.commit()
    assert _kinds(session, cust.id) == [("touchpoint.logged", "system"), ("emotion.recorded", "system")]


def test_stage_moves_the_ticket_the_win_and_the_payment_are_the_customers_events(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep, name="华山医院")
    tp = f.touchpoint(session, org.rep, cust)
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="CT球管", product_line="CT球管", expected_amount_fen=30 * WAN
    )
    frozen_clock.advance(timedelta(days=1))
    advance_stage(
        session,
        org.rep,
        opportunity_id=opp.id,
        to_stage="sample_test",
        evidence=f.evidence_for(session, org.rep, "needs_confirmed", "solution_demo", "sample_test"),
    )
    frozen_clock.advance(timedelta(days=10))
    advance_stage(
        session,
        org.rep,
        opportunity_id=opp.id,
        to_stage="won",
        evidence=f.evidence_for(session, org.rep, "negotiation", "contract_approval"),
    )
    contracts.save_contract(
        session,
        org.rep,
        opp.id,
        amount_fen=30 * WAN,
        signed_on=date(2026, 3, 12),
        plan=[PlannedInstalment(30 * WAN, date(2026, 6, 30))],
    )
    frozen_clock.advance(timedelta(days=5))
    [payment] = contracts.record_payment(session, org.rep, amount_fen=10 * WAN, opportunity_id=opp.id)
    session.commit()

    assert _kinds(session, cust.id) == [
        ("touchpoint.logged", "system"),
        ("opportunity.stage_advanced", "system"),
        ("ticket.opened", "system"),
        ("opportunity.stage_advanced", "system"),
        ("opportunity.won", "system"),
        ("payment.received", "system"),
    ]
    events = {e.kind: e for e in customer_events(session, cust.id)}
    assert events["opportunity.won"].payload["to_stage"] == "won"
    assert events["opportunity.won"].payload["amount_fen"] == 30 * WAN
    assert events["opportunity.won"].payload["history"] is False
    assert events["payment.received"].payload == {
        "payment_id": payment.id,
        "receivable_id": payment.receivable_id,
        "amount_fen": 10 * WAN,
        "source": "manual",
    }
    assert events["payment.received"].occurred_at == frozen_clock.now()


def test_a_refused_move_leaves_no_event(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="CT球管", product_line="CT球管", expected_amount_fen=30 * WAN
    )
    session.commit()
    with pytest.raises(Exception, match="检查清单未完成"):
        advance_stage(session, org.rep, opportunity_id=opp.id, to_stage="solution_demo")
    session.rollback()
    assert _kinds(session, cust.id) == [("touchpoint.logged", "system")]


def test_an_excel_import_records_its_new_customers_once(session, frozen_clock, tmp_path: Path):
    org = f.org(session)
    known = f.customer(session, org.rep, name="南京鼓楼医院")  # already ours: not "imported"
    session.commit()
    imp, _ = commit.start_import(
        session, org.rep, owner=org.rep, data=sheets.rep_sheet(), filename="客户.xlsx", root=tmp_path, tz=TZ
    )
    session.commit()
    commit.commit_import(session, org.rep, import_id=imp.id, root=tmp_path, tz=TZ)
    session.commit()
    jobs_queue.backend().drain()
    session.expire_all()
    done = session.get(ExcelImport, imp.id)
    created = set(done.created_ids["customer"])
    assert created and known.id not in created

    imported = session.scalars(select(CustomerEvent).where(CustomerEvent.kind == "customer.imported")).all()
    assert {e.customer_id for e in imported} == created and len(imported) == len(created)
    assert all(e.payload == {"import_id": imp.id} and e.source == "system" for e in imported)
    names = {c.name for c in session.scalars(select(Customer).where(Customer.id.in_(created)))}
    assert "南京鼓楼医院" not in names
