"""Contracts and instalment plans of won deals; payments to the oldest open instalment; the collections book."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from salesnav.finance.receivables import from_receivables
from salesnav.handlers import collections_book, contracts
from salesnav.handlers.contracts import PlannedInstalment
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.models import Receivable
from tests import factories as f
from tests.handlers.battle_pack.arrange import customer, local, open_deal, won_deal

SIGNED = date(2026, 3, 2)
WAN = 10_000_00  # 1万元 in fen


@pytest.fixture
def org(session, frozen_clock):
    frozen_clock.set(local(SIGNED, 10))
    return f.org(session)


@pytest.fixture
def deal(session, org):
    huashan = customer(session, org.rep, "华山医院")
    return won_deal(
        session,
        org.rep,
        huashan,
        product_line="CT设备",
        start=local(SIGNED - timedelta(days=60), 9),
        days=[0, 10, 20, 30, 40, 50],
    )


def plan(*lines: tuple[int, date]) -> list[PlannedInstalment]:
    return [PlannedInstalment(amount * WAN, due) for amount, due in lines]


THREE = ((30, date(2026, 3, 10)), (40, date(2026, 6, 30)), (30, date(2026, 12, 31)))


def test_a_won_deal_gets_a_contract_whose_instalments_are_receivables(session, org, deal):
    contract = contracts.save_contract(
        session, org.rep, deal.id, amount_fen=100 * WAN, signed_on=SIGNED, plan=plan(*THREE), contract_no="HT-2026-01"
    )
    rows = sorted(contract.instalments, key=lambda r: r.instalment_no)
    assert [(r.instalment_no, r.amount_fen, r.due_date) for r in rows] == [
        (1, 30 * WAN, date(2026, 3, 10)),
        (2, 40 * WAN, date(2026, 6, 30)),
        (3, 30 * WAN, date(2026, 12, 31)),
    ]
    assert all(r.customer_id == deal.customer_id and r.opportunity_id == deal.id for r in rows)


def test_the_plan_must_add_up_to_the_contract_and_fall_after_signing(session, org, deal):
    with pytest.raises(DomainError, match="各期金额合计 70万元，与合同金额 100万元 不一致"):
        contracts.save_contract(
            session, org.rep, deal.id, amount_fen=100 * WAN, signed_on=SIGNED, plan=plan(*THREE[:2])
        )
    with pytest.raises(DomainError, match="第 1 期到期日 2026-03-01 早于签约日 2026-03-02"):
        contracts.save_contract(
            session, org.rep, deal.id, amount_fen=30 * WAN, signed_on=SIGNED, plan=plan((30, date(2026, 3, 1)))
        )
    with pytest.raises(DomainError, match="请至少填写一期回款"):
        contracts.save_contract(session, org.rep, deal.id, amount_fen=30 * WAN, signed_on=SIGNED, plan=[])


def test_only_a_won_deal_in_scope_gets_a_contract(session, org, frozen_clock):
    tiantan = customer(session, org.rep, "天坛医院")
    opp = open_deal(
        session,
        org.rep,
        tiantan,
        product_line="CT设备",
        stage="negotiation",
        amount_yuan=1_000_000,
        stage_entered_at=frozen_clock.now(),
    )
    with pytest.raises(DomainError, match="尚未赢单"):
        contracts.save_contract(session, org.rep, opp.id, amount_fen=30 * WAN, signed_on=SIGNED, plan=plan(THREE[0]))
    with pytest.raises(NotFound):
        contracts.save_contract(
            session, org.outsider_rep, opp.id, amount_fen=30 * WAN, signed_on=SIGNED, plan=plan(THREE[0])
        )


def test_a_payment_settles_the_oldest_open_instalment_first_and_spills_over(session, org, deal, frozen_clock):
    contracts.save_contract(session, org.rep, deal.id, amount_fen=100 * WAN, signed_on=SIGNED, plan=plan(*THREE))
    payments = contracts.record_payment(session, org.rep, opportunity_id=deal.id, amount_fen=35 * WAN)
    assert [(session.get(Receivable, p.receivable_id).instalment_no, p.amount_fen) for p in payments] == [
        (1, 30 * WAN),
        (2, 5 * WAN),
    ]
    _, view = contracts.contract_for_deal(session, org.rep, deal.id)
    assert [i.status for i in view.instalments] == ["已回款", "部分回款", "未到期"]
    assert view.outstanding_fen == 65 * WAN
    with pytest.raises(DomainError, match="超过商机「华山医院CT设备」未回款合计 65万元"):
        contracts.record_payment(session, org.rep, opportunity_id=deal.id, amount_fen=66 * WAN)


def test_editing_a_plan_keeps_what_was_paid(session, org, deal):
    contracts.save_contract(session, org.rep, deal.id, amount_fen=100 * WAN, signed_on=SIGNED, plan=plan(*THREE))
    contracts.record_payment(session, org.rep, opportunity_id=deal.id, amount_fen=35 * WAN)
    with pytest.raises(DomainError, match="第 2 期已回款 5万元，金额不能改得比已回款少"):
        contracts.save_contract(
            session,
            org.rep,
            deal.id,
            amount_fen=100 * WAN,
            signed_on=SIGNED,
            plan=plan((30, date(2026, 3, 10)), (4, date(2026, 6, 30)), (66, date(2026, 12, 31))),
        )
    with pytest.raises(DomainError, match="回款计划已有 3 期，不能减为 2 期"):
        contracts.save_contract(
            session,
            org.rep,
            deal.id,
            amount_fen=100 * WAN,
            signed_on=SIGNED,
            plan=plan((30, date(2026, 3, 10)), (70, date(2026, 9, 30))),
        )
    contract = contracts.save_contract(
        session,
        org.rep,
        deal.id,
        amount_fen=110 * WAN,
        signed_on=SIGNED,
        plan=plan((30, date(2026, 3, 10)), (40, date(2026, 9, 30)), (30, date(2026, 12, 31)), (10, date(2027, 3, 31))),
    )
    assert [(r.instalment_no, r.amount_fen, r.due_date) for r in contract.instalments] == [
        (1, 30 * WAN, date(2026, 3, 10)),
        (2, 40 * WAN, date(2026, 9, 30)),
        (3, 30 * WAN, date(2026, 12, 31)),
        (4, 10 * WAN, date(2027, 3, 31)),
    ]


def test_the_book_ages_open_receivables_and_counts_on_time_as_the_credit_check(session, org, deal, frozen_clock):
    contracts.save_contract(session, org.rep, deal.id, amount_fen=100 * WAN, signed_on=SIGNED, plan=plan(*THREE))
    other = customer(session, org.outsider_rep, "协和医院")
    session.add(Receivable(customer_id=other.id, amount_fen=5 * WAN, due_date=date(2026, 1, 5)))
    session.flush()
    frozen_clock.set(local(date(2026, 8, 20), 9))  # instalment 1: 163 days late, 2: 51 days
    book = collections_book.team_book(session, org.manager)
    assert [(r.what, r.bucket) for r in book.rows] == [
        ("第 1 期", "90 天以上"),
        ("第 2 期", "31–60 天"),
        ("第 3 期", "未到期"),
    ]
    assert [(b.label, b.count, b.outstanding_fen) for b in book.buckets] == [
        ("未到期", 1, 30 * WAN),
        ("1–30 天", 0, 0),
        ("31–60 天", 1, 40 * WAN),
        ("61–90 天", 0, 0),
        ("90 天以上", 1, 30 * WAN),
    ]
    assert book.overdue_fen == 70 * WAN  # the other team's customer is not in it
    credit = from_receivables(session, deal.customer_id, as_of=frozen_clock.now(), months=12)
    assert book.on_time is not None and book.on_time.on_time_rate == credit.on_time_rate == 0.0
    _, mine = collections_book.customer_book(session, org.rep, deal.customer_id)
    assert mine.on_time == credit
    assert collections_book.overdue_fen_by(session, Receivable.opportunity_id, [deal.id]) == {deal.id: 70 * WAN}
