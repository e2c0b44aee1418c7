"""回款 in the rep's client (H5 build under /m/) at 390×844 against the real backend with the demo company: on a
won deal the rep enters the contract and a two-instalment plan, records a payment that settles the first
instalment, and the collections page shows it aged. Screenshots in $CLIENT_SHOTS (default /tmp/client-shots)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from salesnav import clock
from salesnav.models import Contract, Customer, Payment, Receivable, User
from salesnav.models import session as db
from tests.bot.conftest import LiveApp
from tests.metrics import builders
from tests.pages.test_h5_client_browser import company, h5_build, phone  # noqa: F401  (fixtures and the phone)


def test_a_rep_enters_a_plan_on_a_won_deal_records_a_payment_and_sees_it_aged(company: LiveApp) -> None:  # noqa: F811
    with db.transaction() as s:  # a deal rep01 has just won, with nothing receivable on it yet
        rep = s.scalars(select(User).where(User.wecom_userid == "rep01")).one()
        customer = s.scalars(select(Customer).where(Customer.owner_id == rep.id).order_by(Customer.id)).first()
        start = clock.now() - timedelta(days=30)
        deal = builders.deal(s, rep, customer, [("initial_contact", start), ("won", start + timedelta(days=20))])
        deal_id, title = deal.id, deal.title

    with phone(company, "rep01") as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/pages/deal/index?id={deal_id}")
        card = page.locator(".card.contract")
        card.wait_for()
        rep_phone.tap(card.locator(".btn", has_text="录入回款计划"))
        rep_phone.type_into(card.locator(".contract-no input"), "HT-DEMO-1")
        rep_phone.type_into(card.locator(".contract-amount input"), "100万")
        rep_phone.type_into(card.locator(".line-amount input").nth(0), "30万")
        rep_phone.tap(card.locator(".add-line"))
        rep_phone.type_into(card.locator(".line-amount input").nth(1), "70万")
        rep_phone.shot("contract-plan-form")
        rep_phone.tap(card.locator(".btn", has_text="保存回款计划"))
        card.locator(".instalment").nth(1).wait_for()
        assert card.locator(".instalment").count() == 2
        assert "第 1 期 30.0万元" in card.locator(".instalment").nth(0).inner_text()

        rep_phone.type_into(card.locator(".payment input"), "30万")
        rep_phone.tap(card.locator(".btn", has_text="登记回款"))
        page.locator(".ok", has_text="回款已登记").wait_for()
        assert "已回款" in card.locator(".instalment").nth(0).locator(".badge").inner_text()
        rep_phone.shot("contract-card-paid")

        page.goto(f"{company.base_url}/m/work/collections/index")
        page.locator(".item.receivable").first.wait_for()
        assert page.locator(".bucket").count() == 5
        rows = page.locator(".item.receivable", has_text="HT-DEMO-1")
        assert rows.count() == 1 and "第 2 期" in rows.first.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        rep_phone.shot("collections-page")

    with db.transaction() as s:
        contract = s.scalars(select(Contract).where(Contract.opportunity_id == deal_id)).one()
        assert (contract.amount_fen, contract.contract_no) == (100_000_000, "HT-DEMO-1")
        plan = s.scalars(select(Receivable).where(Receivable.contract_id == contract.id).order_by(Receivable.id)).all()
        assert [r.amount_fen for r in plan] == [30_000_000, 70_000_000]
        paid = s.scalars(select(Payment).where(Payment.receivable_id.in_([r.id for r in plan]))).all()
        assert [(p.receivable_id, p.amount_fen) for p in paid] == [(plan[0].id, 30_000_000)]
    assert title
