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
