"""rules.working_days_only: the 72 h of silence, the 48 h before escalation and a department's 24 h SLA
count working days only (weekends and statutory holidays left out), and the rep is told the deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers import rule_settings
from salesnav.handlers.collaboration import open_ticket
from salesnav.models import Alert, DepartmentKind, Task
from salesnav.models import session as db
from tests import factories as f
from tests.rules.arrange import deal
from tests.rules.conftest import received_texts, scan


@pytest.fixture
def friday_deal(session, frozen_clock, app):
    """Working days only; a deal last followed up on Friday 2026-03-06 09:30 (the clock starts Mon 03-02 09:30)."""
    org = f.org(session)
    rule_settings.update(session, None, "rules.working_days_only", True)
    frozen_clock.advance(timedelta(days=4))
    _, opp = deal(session, org)
    session.commit()
    app.drain()
    return org, opp


def test_the_weekend_does_not_count_towards_72_hours(friday_deal, frozen_clock, app):
    frozen_clock.advance(timedelta(days=3, minutes=1))  # Monday 09:31: 72 h on the calendar, 24 h of work
    scan(app)
    assert received_texts(app, "rep01") == []

    frozen_clock.advance(timedelta(days=1, hours=23, minutes=58))  # Wednesday 09:29
    scan(app)
    assert received_texts(app, "rep01") == []

    frozen_clock.advance(timedelta(minutes=2))  # Wednesday 09:31: 72 working hours and a minute
    scan(app)
    [text] = received_texts(app, "rep01")
    assert "已 5天1分钟 未跟进" in text  # what the rep reads is the calendar
    assert "请在 2026-03-13 09:31 前（48 小时，只计工作日）联系客户" in text
    with db.transaction() as s:
        [task] = s.scalars(select(Task)).all()
        assert task.due_at == clock.now() + timedelta(days=2)  # Wednesday 09:31 → Friday 09:31


def test_escalation_waits_48_working_hours_over_the_weekend(friday_deal, frozen_clock, app):
    frozen_clock.advance(timedelta(days=6, hours=2, minutes=30))  # Thursday 12:00: the alert
    scan(app)
    assert len(received_texts(app, "rep01")) == 1
    frozen_clock.advance(timedelta(days=2, minutes=1))  # Saturday 12:01: 48 h on the calendar, 36 h of work
    scan(app)
    frozen_clock.advance(timedelta(days=2, minutes=-2))  # Monday 11:59
    scan(app)
    assert received_texts(app, "dir01") == []

    frozen_clock.advance(timedelta(minutes=2))  # Monday 12:01
    scan(app)
    assert len(received_texts(app, "dir01")) == 1
    with db.transaction() as s:
        [alert] = s.scalars(select(Alert)).all()
        assert alert.state.value == "escalated"


def test_a_department_sla_set_on_friday_falls_due_after_the_weekend(friday_deal, session, frozen_clock):
    org, opp = friday_deal
    ticket = open_ticket(session, org.rep, session.merge(opp), reason="商机进入样品测试")
    due = {part.department.kind: part.due_at for part in ticket.parts}
    # Friday 09:30 + 24 working hours: the rest of Friday (14.5 h), then Monday until 09:30.
    assert due[DepartmentKind.DELIVERY] == clock.now() + timedelta(days=3)
    assert due[DepartmentKind.MARKETING] == clock.now() + timedelta(days=3)
