"""回款: a reminder to the rep before a receivable's due date; past it, one reminder and one flag to the manager,
however often the clock runs; a payment that settles it clears the flag."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from redis import Redis
from sqlalchemy import select

from salesnav.jobs.clock import PERIODIC, Clock
from salesnav.jobs.leader import LocalLeadership
from salesnav.models import Alert, AlertState, Payment, Receivable
from salesnav.models import session as db
from tests import factories as f
from tests.bot.conftest import LiveApp, serve
from tests.handlers.battle_pack.arrange import customer, local
from tests.rules.conftest import received_texts

DUE = date(2026, 3, 5)  # a Thursday
JOB = next(p for p in PERIODIC if p.id == "reports.collections")


@pytest.fixture
def app(settings, database) -> Iterator[LiveApp]:
    if settings.redis_url:
        Redis.from_url(settings.redis_url).flushdb()
    yield from serve(settings)


@pytest.fixture
def receivable(session, frozen_clock) -> int:
    frozen_clock.set(local(DUE - timedelta(days=5), 9))
    org = f.org(session)
    huashan = customer(session, org.rep, "华山医院")
    r = Receivable(customer_id=huashan.id, amount_fen=120_000_00, due_date=DUE, invoice_no="08523671")
    session.add(r)
    session.flush()
    session.add(Payment(receivable_id=r.id, amount_fen=20_000_00, paid_at=frozen_clock.now()))
    session.commit()
    return r.id


def tick(app: LiveApp) -> None:
    Clock(LocalLeadership(), periodic=[JOB]).tick(JOB)
    app.drain()


def texts(app: LiveApp, userid: str) -> list[str]:
    """What one person was told: texts, and the message a manager's alert card quotes (one card per alert)."""
    return received_texts(app, userid)


def test_a_reminder_before_the_due_date_one_flag_when_overdue_and_a_payment_clears_it(
    app, receivable, frozen_clock, session
):
    tick(app)
    assert texts(app, "rep01") == []  # five days ahead: not yet

    frozen_clock.set(local(DUE - timedelta(days=3), 9))
    tick(app)
    frozen_clock.advance(timedelta(minutes=5))
    tick(app)
    assert texts(app, "rep01") == [
        "回款提醒：「华山医院」10万元（3月5日到期，发票号 08523671）即将到期，请跟进客户付款。"
    ]

    frozen_clock.set(local(DUE + timedelta(days=1), 9))
    tick(app)
    frozen_clock.advance(timedelta(minutes=5))
    tick(app)
    assert texts(app, "rep01")[1:] == [
        "回款已逾期 1 天：「华山医院」10万元（3月5日到期，发票号 08523671），请尽快跟进。"
    ]
    manager = texts(app, "mgr01")
    assert manager == ["逾期回款预警：李销售负责的「华山医院」10万元（3月5日到期，发票号 08523671）已逾期 1 天。"]
    assert texts(app, "mgr02") == [] and texts(app, "dir01") == []
    with db.transaction() as s:
        [alert] = s.scalars(select(Alert)).all()
        assert alert.state is AlertState.OPEN and alert.subject_type == "customer"

    session.add(Payment(receivable_id=receivable, amount_fen=100_000_00, paid_at=frozen_clock.now()))
    session.commit()
    frozen_clock.advance(timedelta(minutes=5))
    tick(app)
    assert texts(app, "mgr01")[-1] == "逾期回款已收回：「华山医院」的应收款已付清，预警解除。"
    with db.transaction() as s:
        [alert] = s.scalars(select(Alert)).all()
        assert alert.state is AlertState.RESOLVED and alert.resolution == "已回款"
    frozen_clock.advance(timedelta(days=1))
    tick(app)
    assert len(texts(app, "rep01")) == 2 and len(texts(app, "mgr01")) == 2  # nothing more


def test_an_instalment_of_a_contract_reminds_flags_ages_and_is_cleared_by_a_payment_to_the_oldest(
    app, session, frozen_clock
):
    """The whole 回款 flow: a won deal's contract and plan, reminder, flag, book, team report, payment."""
    from salesnav.bot.report_cards import attention_lines
    from salesnav.handlers import collections_book, contracts
    from salesnav.handlers.contracts import PlannedInstalment
    from salesnav.handlers.reports import team
    from salesnav.metrics.scope import Window
    from tests.handlers.battle_pack.arrange import SHANGHAI, won_deal

    frozen_clock.set(local(DUE - timedelta(days=30), 10))
    org = f.org(session)
    ruijin = customer(session, org.rep, "瑞金医院")
    deal = won_deal(
        session,
        org.rep,
        ruijin,
        product_line="MR设备",
        start=local(DUE - timedelta(days=90), 9),
        days=[0, 10, 20, 30, 40, 50],
    )
    contracts.save_contract(
        session,
        org.rep,
        deal.id,
        amount_fen=100_000_00 * 10,
        signed_on=DUE - timedelta(days=30),
        contract_no="HT-7",
        plan=[PlannedInstalment(300_000_00, DUE), PlannedInstalment(700_000_00, DUE + timedelta(days=120))],
    )
    session.commit()

    frozen_clock.set(local(DUE - timedelta(days=3), 9))
    tick(app)
    assert texts(app, "rep01") == ["回款提醒：「瑞金医院」第 1 期 30万元（3月5日到期）即将到期，请跟进客户付款。"]

    frozen_clock.set(local(DUE + timedelta(days=1), 9))
    tick(app)
    frozen_clock.advance(timedelta(minutes=5))
    tick(app)
    assert texts(app, "rep01")[1:] == ["回款已逾期 1 天：「瑞金医院」第 1 期 30万元（3月5日到期），请尽快跟进。"]
    assert texts(app, "mgr01") == ["逾期回款预警：李销售负责的「瑞金医院」第 1 期 30万元（3月5日到期）已逾期 1 天。"]
    with db.transaction() as s:
        manager = s.get(type(org.manager), org.manager.id)
        book = collections_book.team_book(s, manager)
        assert [(r.what, r.bucket, r.outstanding_fen) for r in book.rows] == [
            ("第 1 期（合同 HT-7）", "1–30 天", 300_000_00),
            ("第 2 期（合同 HT-7）", "未到期", 700_000_00),
        ]
        assert collections_book.overdue_fen_by(s, Receivable.customer_id, [ruijin.id]) == {ruijin.id: 300_000_00}
        window = Window.last_days(1, frozen_clock.now())
        report = team.report_for(s, "daily", manager, window, frozen_clock.now(), SHANGHAI)
        assert [(r.customer, r.outstanding_fen) for r in report.overdue_receivables] == [("瑞金医院", 300_000_00)]
        assert "⚠ 逾期回款 1 笔：瑞金医院第1期 30万元（逾期1天）" in attention_lines(report, SHANGHAI)

    rep = session.get(type(org.rep), org.rep.id)
    contracts.record_payment(session, rep, opportunity_id=deal.id, amount_fen=300_000_00)
    session.commit()
    frozen_clock.advance(timedelta(minutes=5))
    tick(app)
    assert texts(app, "mgr01")[-1] == "逾期回款已收回：「瑞金医院」的应收款已付清，预警解除。"
    with db.transaction() as s:
        [alert] = s.scalars(select(Alert)).all()
        assert alert.state is AlertState.RESOLVED
        manager = s.get(type(org.manager), org.manager.id)
        assert collections_book.team_book(s, manager).overdue_fen == 0


def test_a_batch_never_fills_with_receivables_already_flagged(app, session, frozen_clock, monkeypatch):
    """More overdue receivables than one run takes: the next run flags the rest instead of the same ones."""
    from salesnav.handlers import collections

    monkeypatch.setattr(collections, "BATCH", 2)
    frozen_clock.set(local(DUE - timedelta(days=5), 9))
    org = f.org(session)
    for n, name in enumerate(("华山医院", "瑞金医院", "中山医院")):
        c = customer(session, org.rep, name)
        session.add(Receivable(customer_id=c.id, amount_fen=10_000_00 * (n + 1), due_date=DUE))
    session.commit()
    frozen_clock.set(local(DUE + timedelta(days=2), 9))
    tick(app)
    with db.transaction() as s:
        assert len(s.scalars(select(Alert)).all()) == 2
    frozen_clock.advance(timedelta(minutes=5))
    tick(app)
    with db.transaction() as s:
        assert sorted(a.title for a in s.scalars(select(Alert))) == [
            "逾期回款：中山医院 3万元",
            "逾期回款：华山医院 1万元",
            "逾期回款：瑞金医院 2万元",
        ]
    assert len(texts(app, "mgr01")) == 3
