"""The public pool (公海): a silent customer warns its owner, then returns; the customers of a member who left
are announced to the manager, then return; claims within the limits, the previous owner's cool-down, the
rate limit; managers assign within their scope; a rep never sees a customer outside their own and the pool."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers import pool, rule_settings
from salesnav.handlers.errors import DomainError, Forbidden, NotFound
from salesnav.handlers.scope import customer_for
from salesnav.models import AuditEntry, OutboundMessage, PoolEntry, PoolWarning, WarningState
from tests import factories as f


@pytest.fixture
def org(session):
    return f.org(session)


@pytest.fixture(autouse=True)
def _fresh_claim_counts():
    storage, _ = pool.claim_rate_limiter()
    storage.reset()
    yield
    storage.reset()


def _texts_to(session, userid: str) -> list[str]:
    rows = session.scalars(
        select(OutboundMessage).where(OutboundMessage.recipient_userid == userid).order_by(OutboundMessage.id)
    )
    return [row.body["content"] for row in rows]


def _into_pool(session, org, frozen_clock, grade="三乙", owner=None):
    """A customer of `owner` (the rep) left silent 45 days (三乙), warned, and returned 3 days later."""
    cust = f.customer(session, owner or org.rep, grade=grade)
    frozen_clock.advance(timedelta(days=45, minutes=1))
    pool.scan(session)
    frozen_clock.advance(timedelta(days=3))
    pool.scan(session)
    entry = session.scalars(select(PoolEntry).where(PoolEntry.customer_id == cust.id)).one()
    return cust, entry


def test_a_customer_silent_for_its_grades_days_warns_its_owner_once(session, org, frozen_clock):
    cust = f.customer(session, org.rep, name="六安市立医院", grade="三乙")
    f.touchpoint(session, org.rep, cust, summary="介绍监护仪")
    frozen_clock.advance(timedelta(days=44, hours=23))
    assert pool.scan(session).warned == 0
    frozen_clock.advance(timedelta(hours=2))
    assert pool.scan(session).warned == 1
    assert pool.scan(session).warned == 0  # one pending warning per customer
    [text] = _texts_to(session, "rep01")
    assert "六安市立医院" in text and "已 45 天未跟进" in text and "三乙客户超过 45 天未跟进退回公海" in text
    assert "记录一次跟进即可保留" in text


def test_the_grade_sets_the_days(session, org, frozen_clock):
    top = f.customer(session, org.rep, grade="三甲")
    other = f.customer(session, org.rep, grade="一级")
    frozen_clock.advance(timedelta(days=31))
    pool.scan(session)
    warned = set(session.scalars(select(PoolWarning.customer_id)))
    assert warned == {other.id}  # 其他: 30 days; 三甲: 60
    rule_settings.update(session, org.admin, "pool.silent_days.三甲", 20)
    pool.scan(session)
    assert set(session.scalars(select(PoolWarning.customer_id))) == {top.id, other.id}


def test_a_follow_up_after_the_warning_keeps_the_customer(session, org, frozen_clock):
    cust = f.customer(session, org.rep, grade="三乙")
    frozen_clock.advance(timedelta(days=46))
    pool.scan(session)
    frozen_clock.advance(timedelta(days=1))
    f.touchpoint(session, org.rep, cust, summary="回访")
    frozen_clock.advance(timedelta(days=3))
    result = pool.scan(session)
    assert (result.cancelled, result.returned) == (1, 0)
    assert cust.owner_id == org.rep.id
    [warning] = session.scalars(select(PoolWarning)).all()
    assert warning.state is WarningState.CANCELLED


def test_without_a_follow_up_the_customer_and_its_open_deals_return_and_leave_the_reps_scope(
    session, org, frozen_clock
):
    from salesnav.handlers.opportunities import create_from_touchpoint

    cust = f.customer(session, org.rep, name="苏州市肿瘤医院", grade="三乙")
    tp = f.touchpoint(session, org.rep, cust, summary="初次拜访")
    deal = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="超声更新", product_line="超声", expected_amount_fen=100
    )
    frozen_clock.advance(timedelta(days=45, minutes=1))
    pool.scan(session)
    frozen_clock.advance(timedelta(days=3))
    assert pool.scan(session).returned == 1
    member = pool.pool_member(session)
    assert cust.owner_id == member.id and deal.owner_id == member.id
    with pytest.raises(NotFound):
        customer_for(session, org.rep, cust.id)
    [item] = pool.list_pool(session, org.other_rep)
    assert (item.name, item.grade, item.reason, item.open_deals) == ("苏州市肿瘤医院", "三乙", "长期未跟进", 1)
    assert "已退回公海" in _texts_to(session, "rep01")[-1]
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id.in_([cust.id, deal.id])))
    assert {"pool.warned", "pool.returned"} <= set(actions)


def test_the_customers_of_a_member_who_left_are_announced_to_the_manager_then_return(session, org, frozen_clock):
    cust = f.customer(session, org.rep, name="合肥市第一人民医院")
    f.touchpoint(session, org.rep, cust, summary="拜访")
    org.rep.active = False
    pool.scan(session)
    [text] = _texts_to(session, "mgr01")
    assert "李销售已离职" in text and "合肥市第一人民医院" in text
    assert _texts_to(session, "rep01") == []
    frozen_clock.advance(timedelta(days=3))
    assert pool.scan(session).returned == 1
    [entry] = session.scalars(select(PoolEntry)).all()
    assert entry.reason.label == "负责人已离职"


def test_a_claim_makes_the_customer_the_reps_and_is_audited(session, org, frozen_clock):
    cust, entry = _into_pool(session, org, frozen_clock)
    pool.claim(session, org.other_rep, entry.id)
    assert cust.owner_id == org.other_rep.id
    assert customer_for(session, org.other_rep, cust.id) is cust
    assert pool.list_pool(session, org.other_rep) == []
    claimed = session.scalars(select(AuditEntry).where(AuditEntry.action == "pool.claimed")).one()
    assert claimed.actor_id == org.other_rep.id and claimed.after["owner_id"] == org.other_rep.id
    with pytest.raises(NotFound, match="可能已被领取"):
        pool.claim(session, org.outsider_rep, entry.id)


def test_the_previous_owner_waits_out_the_cool_down(session, org, frozen_clock):
    _, entry = _into_pool(session, org, frozen_clock)
    [item] = pool.list_pool(session, org.rep)
    assert item.cooldown_until == entry.entered_at + timedelta(days=30)
    with pytest.raises(DomainError, match=r"原负责人.*之后才能重新领取"):
        pool.claim(session, org.rep, entry.id)
    frozen_clock.advance(timedelta(days=30))
    pool.claim(session, org.rep, entry.id)


def test_claims_per_day_and_the_held_cap(session, org, frozen_clock):
    rule_settings.update(session, org.admin, "pool.claims_per_day", 1)
    entries = [_into_pool(session, org, frozen_clock)[1] for _ in range(3)]
    pool.claim(session, org.other_rep, entries[0].id)
    with pytest.raises(DomainError, match="已达每日上限（1 个）"):
        pool.claim(session, org.other_rep, entries[1].id)
    frozen_clock.advance(timedelta(days=1))
    rule_settings.update(session, org.admin, "pool.max_held", 1)
    with pytest.raises(DomainError, match="您已持有 1 个客户，达到上限（1 个）"):
        pool.claim(session, org.other_rep, entries[1].id)


def test_claiming_faster_than_the_rate_is_refused(session, org, frozen_clock):
    rule_settings.update(session, org.admin, "pool.claims_per_minute", 1)
    entries = [_into_pool(session, org, frozen_clock)[1] for _ in range(2)]
    pool.claim(session, org.other_rep, entries[0].id)
    with pytest.raises(DomainError, match="领取过于频繁"):
        pool.claim(session, org.other_rep, entries[1].id)


def test_a_manager_assigns_to_a_rep_of_the_team_only(session, org, frozen_clock):
    cust, entry = _into_pool(session, org, frozen_clock)
    with pytest.raises(Forbidden):
        pool.assign(session, org.other_rep, entry.id, org.rep)
    with pytest.raises(Forbidden, match="不在您的团队中"):
        pool.assign(session, org.manager, entry.id, org.outsider_rep)
    pool.assign(session, org.manager, entry.id, org.other_rep)
    assert cust.owner_id == org.other_rep.id
    assert "钱主管把公海客户" in _texts_to(session, "rep02")[-1]
    assigned = session.scalars(select(AuditEntry).where(AuditEntry.action == "pool.assigned")).one()
    assert assigned.actor_id == org.manager.id


def test_find_rep_names_only_team_members(session, org):
    assert pool.find_rep(session, org.manager, "周销售") is org.other_rep
    with pytest.raises(NotFound):
        pool.find_rep(session, org.manager, "吴销售")


def test_a_deal_in_the_pool_raises_no_follow_up_alert_until_someone_holds_it(session, org, frozen_clock):
    from salesnav.handlers.opportunities import create_from_touchpoint
    from salesnav.handlers.rules import follow_up_overdue

    rule_settings.update(session, org.admin, "follow_up.enabled", False)  # silent while the rep held it
    cust = f.customer(session, org.rep, grade="三乙")
    tp = f.touchpoint(session, org.rep, cust, summary="初次拜访")
    deal = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="监护仪", product_line="监护仪", expected_amount_fen=100
    )
    frozen_clock.advance(timedelta(days=45, minutes=1))
    pool.scan(session)
    frozen_clock.advance(timedelta(days=3))
    pool.scan(session)
    assert follow_up_overdue.find(session, clock.now()) == []
    entry = session.scalars(select(PoolEntry)).one()
    pool.claim(session, org.other_rep, entry.id)
    assert [m.subject_id for m in follow_up_overdue.find(session, clock.now())] == [deal.id]


def test_the_admins_audit_page_reads_each_pool_step_in_chinese(session, org, frozen_clock):
    from salesnav.pages.admin.audit_words import action_label, changes

    _, entry = _into_pool(session, org, frozen_clock)
    pool.claim(session, org.other_rep, entry.id)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action.like("pool.%")).order_by(AuditEntry.id))
    labels = [action_label(e.action) for e in entries]
    assert labels == ["公海预警", "退回公海", "领取公海客户"]
    returned = session.scalars(select(AuditEntry).where(AuditEntry.action == "pool.returned")).one()
    assert [(c.field, c.after) for c in changes(returned.before, returned.after)][1] == ("理由", "长期未跟进")
