"""The customer's page in the rep's client (H5, headless Chromium, the demo company): its tags and lifecycle
stage shown, a manual tag put on with one tap and taken off again."""

from __future__ import annotations

from sqlalchemy import select

from salesnav.handlers import tags
from salesnav.models import Customer, LifecycleStage, User
from salesnav.models import session as db
from tests.bot.conftest import LiveApp
from tests.pages.test_h5_client_browser import company, h5_build, phone  # noqa: F401  (fixtures)


def test_a_rep_sees_tags_and_lifecycle_on_the_customer_page_and_tags_a_customer(company: LiveApp) -> None:  # noqa: F811
    with db.transaction() as s:
        rep = s.scalars(select(User).where(User.wecom_userid == "rep01")).one()
        key = tags.find_definition(s, "重点客户")
        assert key is not None  # the demo's labels are manual tags
        holders = set(s.scalars(tags.customers_with_tag(s, key.code)))
        customer = s.scalars(
            select(Customer)
            .where(Customer.owner_id == rep.id, Customer.id.not_in(holders), Customer.deleted_at.is_(None))
            .order_by(Customer.id)
        ).first()
        customer.lifecycle_stage = LifecycleStage.RENEWAL
        customer_id, shown_before = customer.id, [t.label for t in tags.customer_tags(s, customer.id)]

    with phone(company, "rep01") as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/pages/customer/index?id={customer_id}")
        row = page.locator(".tags")
        for label in shown_before:
            row.locator(".badge", has_text=label).first.wait_for()
        row.locator(".lifecycle", has_text="老客户续费前3个月").wait_for()
        rep_phone.tap(row.locator(".row"))
        rep_phone.tap(row.locator(".chip", has_text="重点客户"))
        row.locator(".row .badge", has_text="重点客户").wait_for()
        rep_phone.shot("customer-tags")
        with db.transaction() as s:
            assert "重点客户" in [t.label for t in tags.customer_tags(s, customer_id)]
        rep_phone.tap(row.locator(".chip", has_text="重点客户"))
        row.locator(".row .badge", has_text="重点客户").wait_for(state="detached")

    with db.transaction() as s:
        assert [t.label for t in tags.customer_tags(s, customer_id)] == shown_before
