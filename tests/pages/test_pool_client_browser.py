"""公海 in the rep's client (H5 build, headless Chromium, the demo company): the rep opens 更多 → 公海客户, sees
the quota and the customers, and claims one with a tap; a manager's page offers assignment to the team."""

from __future__ import annotations

from sqlalchemy import select

from salesnav import clock
from salesnav.handlers import pool
from salesnav.models import Customer, PoolEntry, PoolReason, User
from salesnav.models import session as db
from tests.bot.conftest import LiveApp
from tests.pages import test_h5_client_browser as h5

# The H5 journeys' fixtures (the build, the demo company served live) and their phone.
h5_build, company, phone = h5.h5_build, h5.company, h5.phone


def _one_in_the_pool() -> str:
    with db.transaction() as s:
        pool.claim_rate_limiter()[0].reset()
        member = pool.pool_member(s)
        cust = s.scalars(
            select(Customer).join(User, User.id == Customer.owner_id).where(User.wecom_userid == "rep02")
        ).first()
        assert cust is not None
        s.add(
            PoolEntry(
                customer_id=cust.id, previous_owner_id=cust.owner_id, reason=PoolReason.SILENT, entered_at=clock.now()
            )
        )
        cust.owner_id = member.id
        return cust.name


def test_a_rep_claims_a_pool_customer_with_one_tap(company: LiveApp) -> None:
    name = _one_in_the_pool()
    with phone(company, "rep01") as rep_phone:
        page = rep_phone.page
        page.goto(f"{company.base_url}/m/pages/more/index")
        rep_phone.tap(page.get_by_text("公海客户", exact=True))
        entry = page.locator(".pool-entry", has_text=name)
        entry.wait_for()
        assert "长期未跟进" in entry.inner_text()
        page.locator(".muted", has_text="今天已领取 0/5 个").wait_for()
        rep_phone.shot("pool-list")
        rep_phone.tap(entry.locator(".btn", has_text="领取"))
        page.get_by_text(f"已领取「{name}」，请尽快跟进").wait_for()
        rep_phone.shot("pool-claimed")
    with db.transaction() as s:
        cust = s.scalars(select(Customer).where(Customer.name == name)).one()
        assert cust.owner.wecom_userid == "rep01"
