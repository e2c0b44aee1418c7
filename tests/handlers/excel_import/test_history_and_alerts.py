"""An import brings history, and history stays where it happened: every imported record counts at its own date
(the week of the remark, the customer's first dated remark as its first touch), never at the import's; the
current window's Level 1 and Level 2 figures do not move; and deals that arrive already silent make one digest
to the rep, not an alert per deal, with nobody else told before the grace period (a setting) is over — then the
follow-up rule treats them as any deal, once.

The sheets here are written with full dates so that what is checked is where the records land, not how a
remark's date is read (test_real_sheets.py covers the reading)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from salesnav import metrics
from salesnav.handlers import pool, rule_settings
from salesnav.handlers.dashboards.executive import executive_figures
from salesnav.handlers.opportunities import NewOpportunity, create_from_touchpoints
from salesnav.jobs import rules as rule_jobs
from salesnav.metrics import Scope, Window
from salesnav.metrics.by_rep import counts_by_rep
from salesnav.models import (
    Alert,
    CaptureSource,
    Customer,
    Opportunity,
    OutboundMessage,
    PoolWarning,
    StageTransition,
    Task,
    Touchpoint,
)
from tests import factories as f
from tests.handlers.excel_import import sheets
from tests.handlers.excel_import.conftest import TZ

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # the frozen clock: Mon 2026-03-02 09:30 in Shanghai


def at9(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def history_sheet() -> bytes:
    """Three customers' follow-ups of last autumn, saved last December: two with amounts (deals)."""
    return sheets.xlsx(
        {
            "跟进": [
                ["客户名称", "联系人", "手机", "预计金额", "跟进记录"],
                ["台州第一医院", "钱主任", "13822226661", "20万", "2025-10-08 电话沟通需求；2025-10-29 面访钱主任"],
                ["丽水中心医院", "孙科长", "13822226662", None, "2025-11-04 拜访设备科；2025-11-19 微信发资料"],
                ["衢州妇保院", "李护士长", "13822226663", "15万", "2025-11-26 电话介绍公司，留了资料"],
            ]
        },
        modified=datetime(2025, 12, 20, 2, 0),
    )


def messages_to(session, user) -> list[str]:
    return [
        m.body.get("content") or m.body.get("title") or str(m.body)
        for m in session.scalars(
            select(OutboundMessage)
            .where(OutboundMessage.recipient_userid == user.wecom_userid)
            .order_by(OutboundMessage.id)
        )
    ]


def test_old_history_counts_in_its_own_weeks_and_leaves_the_current_window_alone(session, org, run_import):
    # The current window has life of its own: a new lead, and a visit to an old customer by the other rep.
    lead = f.customer(session, org.rep, name="新线索医院")
    f.touchpoint(session, org.rep, lead, occurred_at=at9(2026, 2, 20))
    f.touchpoint(session, org.other_rep, f.customer(session, org.other_rep), occurred_at=at9(2026, 2, 25))
    session.commit()
    company = Scope.company(session)
    current = Window.last_days(30, NOW)
    autumn = Window(at9(2025, 10, 15), at9(2025, 12, 1))  # 10-29, 11-04, 11-19, 11-26 happened in it
    week_of_visit = Window.week_of(date(2025, 10, 29), TZ)

    before = executive_figures(session, NOW, TZ)
    before_90 = executive_figures(session, NOW, TZ, days=90)
    before_reps = counts_by_rep(session, current, company)
    before_autumn = metrics.conversion_funnel(session, autumn, company)
    assert before.funnel.leads == 2 and before.visits_per_rep_month.numerator == 2
    assert metrics.visits_per_rep_month(session, week_of_visit, company).numerator == 0

    imp = run_import(org.rep, history_sheet())
    assert imp.counts == {"customers": 3, "contacts": 3, "touchpoints": 5, "opportunities": 2, "failed": 0}

    # Level 1 for the current window and its weekly trend (the last 8 weeks), to the last figure; 90 days too.
    assert executive_figures(session, NOW, TZ) == before
    assert executive_figures(session, NOW, TZ, days=90) == before_90
    # Level 2: each rep's counts behind the team's figures (touchpoints, effective, stage moves, closed, won).
    assert counts_by_rep(session, current, company) == before_reps

    # At their own dates: the remark of 2025-10-29 counts in that week, the autumn's new customers are its leads.
    assert metrics.visits_per_rep_month(session, week_of_visit, company).numerator == 1
    after_autumn = metrics.conversion_funnel(session, autumn, company)
    # 丽水 (first touch 11-04) and 衢州 (11-26) were first touched in the autumn window, 衢州 with a deal;
    # 台州's first touch (10-08) is before it, so it is not one of its leads.
    assert (after_autumn.leads, after_autumn.with_opportunity) == (
        before_autumn.leads + 2,
        before_autumn.with_opportunity + 1,
    )
    first_touch = dict(
        session.execute(
            select(Customer.name, func.min(Touchpoint.occurred_at))
            .join(Touchpoint, Touchpoint.customer_id == Customer.id)
            .where(Customer.id.in_(imp.created_ids["customer"]))
            .group_by(Customer.name)
        ).all()
    )
    assert {name: at.astimezone(TZ).date() for name, at in first_touch.items()} == {
        "台州第一医院": date(2025, 10, 8),
        "丽水中心医院": date(2025, 11, 4),
        "衢州妇保院": date(2025, 11, 26),
    }

    # Visible as an import: each touchpoint says so and was recorded now; the deals opened at their remarks.
    imported = session.scalars(select(Touchpoint).where(Touchpoint.id.in_(imp.created_ids["touchpoint"]))).all()
    assert {t.source for t in imported} == {CaptureSource.EXCEL_IMPORT}
    assert {t.created_at for t in imported} == {NOW}
    assert all(t.occurred_at < at9(2025, 12, 1) for t in imported)
    opened = session.execute(
        select(Customer.name, StageTransition.occurred_at)
        .join(Opportunity, Opportunity.id == StageTransition.opportunity_id)
        .join(Customer, Customer.id == Opportunity.customer_id)
        .where(Opportunity.id.in_(imp.created_ids["opportunity"]), StageTransition.from_stage_id.is_(None))
    ).all()
    assert sorted((name, at.astimezone(TZ).date()) for name, at in opened) == [
        ("台州第一医院", date(2025, 10, 8)),
        ("衢州妇保院", date(2025, 11, 26)),
    ]


def silent_deals_sheet() -> bytes:
    """Four deals: three last followed up weeks ago (silent), one followed up yesterday."""
    return sheets.xlsx(
        {
            "商机": [
                ["客户名称", "联系人", "手机", "预计金额", "跟进记录"],
                ["温州第一医院", "王主任", "13822227771", "30万", "2026-01-12 面访王主任，介绍方案"],
                ["金华中心医院", "赵科长", "13822227772", "12万", "2026-01-20 电话沟通需求"],
                ["舟山人民医院", "周主任", "13822227773", "8万", "2026-02-02 微信发报价"],
                ["宁波妇保院", "吴护士长", "13822227774", "5万", "2026-03-01 电话跟进报价"],
            ]
        },
        modified=datetime(2026, 3, 1, 12, 0),
    )


def test_deals_imported_silent_make_one_digest_and_wait_for_the_grace_before_the_rule(
    session, org, run_import, frozen_clock
):
    # The grace is a run-time setting (admin page 规则 → 跟进超时); here 24 hours instead of the default 72.
    rule_settings.update(session, org.admin, "follow_up.import_grace_hours", 24)
    # A deal of the rep's own, silent for four days and not imported: the grace is not for it.
    mine = f.customer(session, org.rep, name="自有客户医院")
    own = f.touchpoint(session, org.rep, mine, occurred_at=at9(2026, 2, 26))
    [own_deal] = create_from_touchpoints(
        session,
        org.rep,
        [NewOpportunity(own.id, "自有商机", "超声", 100_000_00, at_touchpoint_time=True)],
    )
    session.commit()

    imp = run_import(org.rep, silent_deals_sheet())
    assert imp.counts["opportunities"] == 4
    imported = set(imp.created_ids["opportunity"])
    deals = session.scalars(select(Opportunity).where(Opportunity.id.in_(imported))).all()
    silent = {o.id for o in deals if o.customer.name != "宁波妇保院"}
    digest = (
        "3 个导入的商机已超过 72 小时未跟进（来自「客户.xlsx」）。请尽快联系客户并记录触点；"
        "导入后 24 小时内不逐个预警，之后仍未跟进的将按跟进超时规则提醒您和主管。"
    )
    assert messages_to(session, org.rep) == [digest]  # one message, whatever the number of deals
    assert messages_to(session, org.manager) == [] and messages_to(session, org.director) == []

    def scan_at(hours: float) -> None:
        frozen_clock.set(NOW + timedelta(hours=hours))
        rule_jobs.scan()  # the clock's periodic job, as it runs every few seconds
        session.expire_all()

    def alerted() -> set[int]:
        return set(session.scalars(select(Alert.subject_id).where(Alert.rule == "follow_up_overdue")))

    scan_at(0.01)
    # During the grace: the rep's own silent deal is alerted as always; the imported ones are not.
    assert alerted() == {own_deal}
    own_messages = (len(messages_to(session, org.rep)), len(messages_to(session, org.manager)))
    assert own_messages == (2, 1)  # the digest + the own deal's alert; the manager: the own deal's alert only
    for hours in (1, 12, 23.9):
        scan_at(hours)
    assert alerted() == {own_deal}
    assert (len(messages_to(session, org.rep)), len(messages_to(session, org.manager))) == own_messages
    assert messages_to(session, org.director) == []
    assert session.scalar(select(func.count()).select_from(Task).where(Task.subject_id.in_(imported))) == 0

    # After the grace: the normal rule, once per silent imported deal — the rep and the manager told of each.
    scan_at(24.1)
    assert alerted() == {own_deal, *silent}
    rep_after, manager_after = messages_to(session, org.rep), messages_to(session, org.manager)
    assert (len(rep_after), len(manager_after)) == (own_messages[0] + 3, own_messages[1] + 3)
    assert all("跟进超时预警" in text for text in rep_after[-3:] + manager_after[-3:])
    scan_at(30)  # and never again for the same silence
    assert (len(messages_to(session, org.rep)), len(messages_to(session, org.manager))) == (
        len(rep_after),
        len(manager_after),
    )
    # 宁波妇保院 was followed up the day before the import: silent only 72 h after that, like any deal.
    scan_at(72)
    assert alerted() == imported | {own_deal}


def test_imported_customers_silent_in_the_old_sheet_get_their_pool_clock_from_the_import(
    session, org, run_import, frozen_clock
):
    """公海预警 counts a customer's silence from its last touchpoint; history an import brings in is not the rep's
    silence, so an imported customer's pool clock starts at the import (as imported deals' follow-up alerts wait
    for the grace period). A customer the rep neglected in SalesNav itself is warned as always."""
    neglected = f.customer(session, org.rep, name="老客户医院")  # 三甲: back to the pool after 60 silent days
    f.touchpoint(session, org.rep, neglected, occurred_at=at9(2025, 11, 1))
    session.commit()
    imp = run_import(org.rep, history_sheet())  # last remarks 2025-10-29, 11-19, 11-26: all > 90 days ago
    imported = set(imp.created_ids["customer"])
    assert len(imported) == 3
    assert {c.grade for c in session.scalars(select(Customer).where(Customer.id.in_(imported)))} == {None}  # 30 days

    def warned() -> set[int]:
        return set(session.scalars(select(PoolWarning.customer_id)))

    def pool_warnings() -> list[str]:
        return [m for m in messages_to(session, org.rep) if m.startswith("【公海预警】")]

    assert pool.scan(session).warned == 1
    session.commit()
    assert warned() == {neglected.id}
    assert pool_warnings() == [
        "【公海预警】客户「老客户医院」已 121 天未跟进（三甲客户超过 60 天未跟进退回公海），"
        "将于 2026-03-05 09:30 退回公海。在此之前记录一次跟进即可保留。"
    ]

    frozen_clock.advance(timedelta(days=30) - timedelta(minutes=1))  # the import's 30 days not yet over
    pool.scan(session)
    session.commit()
    assert warned() & imported == set()

    frozen_clock.advance(timedelta(minutes=2))  # 30 days after the import, still no follow-up: warned, once each
    assert pool.scan(session).warned == 3
    session.commit()
    assert warned() >= imported
    texts = pool_warnings()[1:]
    assert len(texts) == 3
    # The message tells the silence as it is: since the last remark, not since the import.
    assert "【公海预警】客户「衢州妇保院」已 126 天未跟进（其他客户超过 30 天未跟进退回公海）" in "".join(texts)
