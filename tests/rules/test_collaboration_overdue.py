"""Rule 2 (协同超时): a department's part past its SLA → that department's average handling time for
similar parts over 30 days → 效能预警简报 to the department head by e-mail and WeCom."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers.collaboration import answer_part, open_ticket
from salesnav.jobs.rules import run_scan
from salesnav.models import Alert, AlertState, Attachment
from salesnav.models import session as db
from tests import factories as f
from tests.rules.arrange import deal
from tests.rules.conftest import received_texts

REASON = "商机进入样品测试"


def _material(session, uploader):
    a = Attachment(
        sha256="b" * 64,
        filename="竞品对比.pdf",
        content_type="application/pdf",
        size_bytes=1,
        storage_path="x",
        uploaded_by_id=uploader.id,
    )
    session.add(a)
    session.flush()
    return a


def _past_ticket(session, org, frozen_clock, name: str, delivery_hours: float):
    """A ticket handled in the past: marketing on time, delivery after `delivery_hours`."""
    _, opp = deal(session, org, customer_name=name, title=f"{name}项目")
    ticket = open_ticket(session, org.rep, opp, reason=REASON)
    parts = {p.department_id: p for p in ticket.parts}
    material = _material(session, org.marketer)
    answer_part(session, org.marketer, part_id=parts[org.marketing.id].id, attachment_ids=[material.id])
    frozen_clock.advance(timedelta(hours=delivery_hours))
    answer_part(session, org.deliverer, part_id=parts[org.delivery.id].id, schedule_date=clock.now(), text="已排期")
    session.commit()


@pytest.fixture
def overdue_delivery(session, frozen_clock, app):
    org = f.org(session)
    start = frozen_clock.now()
    frozen_clock.set(start - timedelta(days=40))
    _past_ticket(session, org, frozen_clock, "仁济医院", 100)  # handled > 30 days ago: not in the average
    frozen_clock.set(start - timedelta(days=20))
    _past_ticket(session, org, frozen_clock, "华山医院", 10)
    frozen_clock.set(start - timedelta(days=10))
    _past_ticket(session, org, frozen_clock, "中山医院", 20)
    frozen_clock.set(start)
    _, opp = deal(session, org)
    ticket = open_ticket(session, org.rep, opp, reason=REASON)
    parts = {p.department_id: p for p in ticket.parts}
    material = _material(session, org.marketer)
    answer_part(session, org.marketer, part_id=parts[org.marketing.id].id, attachment_ids=[material.id])
    session.commit()
    app.drain()
    return org, parts[org.delivery.id]


def collaboration_alerts() -> list[Alert]:
    with db.transaction() as s:
        return list(s.scalars(select(Alert).where(Alert.rule == "collaboration_overdue")))


def test_part_past_its_sla_emails_and_messages_the_department_head_the_average(
    overdue_delivery, frozen_clock, app, mailbox
):
    box, _ = mailbox
    frozen_clock.advance(timedelta(hours=24, minutes=30))
    run_scan(clock.now())
    app.drain()

    assert received_texts(app, "dlv01") == [
        "【效能预警简报】交付部的协同任务「确认排期并标注风险点」（客户「协和医院」商机「CT球管更换」）"
        "响应时限 24 小时，截止 2026-03-03 09:30，已超时 30分钟仍未有效响应。"
        "近 30 天同类协同单平均处理时长 15.0小时（共 2 单）。"
        "请尽快安排处理。",
        "效能预警简报（含明细表）已发送至您的邮箱 dlv01@example.test。",  # said once the mail went out
    ]
    assert received_texts(app, "mkt01") == []
    [mail] = box.messages
    assert mail["X-Envelope-To"] == "dlv01@example.test"
    assert mail["Subject"] == "【效能预警简报】交付部协同任务超时：协和医院·CT球管更换"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "近 30 天同类平均处理时长：15.0小时（共 2 单）" in text
    assert "部门：交付部（负责人：王交付）" in text and "超时：预警时已超时 30分钟，仍未有效响应" in text
    assert "15.0小时（共 2 单）" in html and "<table" in html


def test_nothing_fires_just_before_the_sla_passes(overdue_delivery, frozen_clock, app, mailbox):
    box, _ = mailbox
    frozen_clock.advance(timedelta(hours=24))  # due at exactly now: not yet past
    run_scan(clock.now())
    app.drain()
    assert collaboration_alerts() == [] and box.messages == [] and received_texts(app, "dlv01") == []


def test_repeated_scans_send_one_brief(overdue_delivery, frozen_clock, app, mailbox):
    box, _ = mailbox
    frozen_clock.advance(timedelta(hours=25))
    for _ in range(3):
        run_scan(clock.now())
        app.drain()
    assert len(collaboration_alerts()) == 1 and len(box.messages) == 1 and len(received_texts(app, "dlv01")) == 2


def test_a_valid_answer_resolves_the_alert(overdue_delivery, session, frozen_clock, app):
    org, part = overdue_delivery
    frozen_clock.advance(timedelta(hours=25))
    run_scan(clock.now())
    app.drain()
    answer_part(session, org.deliverer, part_id=part.id, schedule_date=clock.now(), text="下周二送样")
    session.commit()
    app.drain()
    [alert] = collaboration_alerts()
    assert alert.state is AlertState.RESOLVED and alert.resolved_by_id == org.deliverer.id
