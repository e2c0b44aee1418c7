"""公海 from the chat, through the callback and the emulator: the list, 领取 N, and a manager's 分配 N 给 X."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from salesnav.handlers import pool
from salesnav.models import Customer, PoolEntry
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat


def _pooled(session, org, frozen_clock, name: str) -> int:
    cust = f.customer(session, org.rep, name=name, grade="三乙")
    frozen_clock.advance(timedelta(days=46))
    pool.scan(session)
    frozen_clock.advance(timedelta(days=3))
    pool.scan(session)
    return session.scalars(select(PoolEntry.id).where(PoolEntry.customer_id == cust.id)).one()


def _owner_name(name: str) -> str:
    with db.transaction() as s:
        return s.scalars(select(Customer).where(Customer.name == name)).one().owner.name


def test_a_rep_lists_the_pool_and_claims_by_number(session, frozen_clock, live_app):
    storage, _ = pool.claim_rate_limiter()
    storage.reset()
    org = f.org(session)
    number = _pooled(session, org, frozen_clock, "六安市立医院")
    session.commit()
    rep = Chat(live_app, "rep02")
    rep.say("公海")
    text = rep.last_text()
    assert text.startswith("【公海】客户（最新的 1 个）：")
    assert f"编号 {number}｜六安市立医院（三乙·医院·上海）长期未跟进，入公海 0 天" in text
    assert f"回复「领取 编号」领取，例如「领取 {number}」" in text
    rep.say(f"领取 {number}")
    assert rep.last_text() == "已领取「六安市立医院」，现在是您的客户，请尽快跟进。"
    assert _owner_name("六安市立医院") == "周销售"
    rep.say(f"领取 {number}")
    assert rep.last_text().startswith("公海中没有这个编号的客户")


def test_the_previous_owner_is_told_when_the_cool_down_ends(session, frozen_clock, live_app):
    org = f.org(session)
    number = _pooled(session, org, frozen_clock, "六安市立医院")
    session.commit()
    rep = Chat(live_app, "rep01")
    rep.say("公海 六安")
    assert "您是原负责人" in rep.last_text()
    rep.say(f"领取 {number}")
    assert "原负责人" in rep.last_text() and "之后才能重新领取" in rep.last_text()


def test_a_manager_assigns_by_number_and_name_and_a_rep_may_not(session, frozen_clock, live_app):
    org = f.org(session)
    number = _pooled(session, org, frozen_clock, "苏州市肿瘤医院")
    session.commit()
    rep = Chat(live_app, "rep02")
    rep.say(f"分配 {number} 给 李销售")
    assert rep.last_text() == "只有销售主管、总监和管理员可以分配公海客户"
    manager = Chat(live_app, "mgr01")
    manager.say("公海")
    assert "分配给团队成员：「分配 编号 给 姓名」" in manager.last_text()
    manager.say(f"分配 {number} 给 吴销售")
    assert manager.last_text() == "您的团队中没有名为「吴销售」的在职销售"
    manager.say(f"分配 {number} 给 周销售")
    assert manager.last_text() == "已把「苏州市肿瘤医院」分配给周销售，并已通知对方。"
    assert _owner_name("苏州市肿瘤医院") == "周销售"
    assert "钱主管把公海客户「苏州市肿瘤医院」分配给了您" in rep.last_text()


def test_an_empty_pool_says_so(session, frozen_clock, live_app):
    f.org(session)
    session.commit()
    rep = Chat(live_app, "rep01")
    rep.say("公海")
    assert rep.last_text() == "公海中暂时没有客户。"
    rep.say("领取 abc")
    assert rep.last_text() == "请写公海列表中的编号，例如「领取 12」"


def test_a_rep_asks_for_the_brief_of_a_customer_by_name(session, frozen_clock, live_app):
    from salesnav import clock

    org = f.org(session)
    cust = f.customer(session, org.rep, name="无锡市人民医院")
    f.touchpoint(session, org.rep, cust, next_action="上门演示", next_action_due=clock.now() + timedelta(days=1))
    session.commit()
    rep = Chat(live_app, "rep01")
    rep.say("简报 无锡")
    text = rep.last_text()
    assert text.startswith("【拜访简报】「无锡市人民医院」") and "事项：上门演示" in text
    assert "关键人：联系人1（设备科，使用者）" in text
    f.customer(session, org.other_rep, name="常州市第一人民医院")
    session.commit()
    other = Chat(live_app, "rep02")
    other.say("简报 无锡市人民医院")
    assert other.last_text().startswith("没有找到客户「无锡市人民医院」")  # another rep's customer
