"""回款 in the rep's client (H5 build under /m/) at 390×844 against the real backend with the demo company: on a
won deal the rep enters the contract and a two-instalment plan, records a payment that settles the first
instalment, and the collections page shows it aged. Screenshots in $CLIENT_SHOTS (default /tmp/client-shots)."""

from __future__ import annotations

import re
from datetime import date, timedelta

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


SETTLED = "() => document.getAnimations().every((a) => a.playState !== 'running')"  # the picker's sheet slid in or out


def test_a_rep_enters_the_contracts_end_date_on_the_contract_card(company: LiveApp) -> None:  # noqa: F811
    """The end date (老客户续费前3个月 counts from it) on the contract card at 390 px: not entered, the card says
    which day the renewal window is estimated from; picked in the plan's form (the date picker, 确定), it is
    saved with the plan, shown on the card, and cleared again with 清除."""
    with db.transaction() as s:
        rep = s.scalars(select(User).where(User.wecom_userid == "rep01")).one()
        customer = s.scalars(select(Customer).where(Customer.owner_id == rep.id).order_by(Customer.id)).first()
        start = clock.now() - timedelta(days=30)
        deal = builders.deal(s, rep, customer, [("initial_contact", start), ("won", start + timedelta(days=20))])
        deal_id = deal.id

    def ends_on():
        with db.transaction() as s:
            return s.scalars(select(Contract).where(Contract.opportunity_id == deal_id)).one().ends_on

    with phone(company, "rep01") as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/pages/deal/index?id={deal_id}")
        card = page.locator(".card.contract")
        card.wait_for()
        rep_phone.tap(card.locator(".btn", has_text="录入回款计划"))
        rep_phone.type_into(card.locator(".contract-amount input"), "100万")
        rep_phone.type_into(card.locator(".line-amount input").nth(0), "100万")
        rep_phone.tap(card.locator(".btn", has_text="保存回款计划"))
        shown = card.locator(".ends-on")
        shown.wait_for()
        assert shown.inner_text().startswith("合同到期日未填：续费期暂按 ")
        assert ends_on() is None

        rep_phone.tap(card.locator(".btn", has_text="修改回款计划"))
        field = card.locator(".ends-on-input")
        assert field.inner_text() == "未填，点此选择"
        rep_phone.tap(field)
        sheet = page.locator(".weui-picker").locator("visible=true")  # the date picker's sheet, slid up
        sheet.wait_for()
        assert sheet.count() == 1
        page.wait_for_function(SETTLED)
        rep_phone.shot("contract-end-picker")
        rep_phone.tap(sheet.locator(".weui-picker__action", has_text="确定"))
        page.locator(".weui-picker__overlay").locator("visible=true").wait_for(state="hidden")
        page.wait_for_function(SETTLED)
        picked = field.inner_text()
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", picked), picked  # a year after signing, as the picker opened
        assert card.locator(".clear-ends").is_visible()
        rep_phone.shot("contract-end-form")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        rep_phone.tap(card.locator(".btn", has_text="保存回款计划"))
        page.locator(".ok", has_text="回款计划已保存").wait_for()
        assert shown.inner_text() == f"合同到期 {picked}（续费期按此计算）"
        assert ends_on() == date.fromisoformat(picked)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        rep_phone.shot("contract-end-card")

        rep_phone.tap(card.locator(".btn", has_text="修改回款计划"))
        assert field.inner_text() == picked
        rep_phone.tap(card.locator(".clear-ends"))
        assert field.inner_text() == "未填，点此选择"
        rep_phone.tap(card.locator(".btn", has_text="保存回款计划"))
        page.locator(".ok", has_text="回款计划已保存").wait_for()
        assert shown.inner_text().startswith("合同到期日未填")
    assert ends_on() is None
