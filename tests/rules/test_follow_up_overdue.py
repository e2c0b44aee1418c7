"""Rule 1 (跟进超时): an open opportunity silent for more than 72 h alerts the rep and the manager
once, gives the rep a task, escalates to the director when the task is still open 48 h later,
and is resolved by a new touchpoint."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from salesnav import clock
from salesnav.handlers import rule_settings
from salesnav.jobs.rules import run_scan
from salesnav.models import Alert, AlertState, OutboundMessage, Task, TaskStatus
from salesnav.models import session as db
from tests import factories as f
from tests.rules.arrange import deal
from tests.rules.conftest import outbox_texts, received_texts, scan

REP_TEXT = (
    "【跟进超时预警】客户「协和医院」的商机「CT球管更换」（初步接触，预计 ¥580,000.00）已 3天1分钟 未跟进"
    "（最后跟进：2026-03-02 09:30）。已为您创建待办，请在 48 小时内联系客户并记录触点，逾期将升级给销售总监。"
)
MANAGER_TEXT = (
    "【跟进超时预警】李销售负责的客户「协和医院」的商机「CT球管更换」（初步接触，预计 ¥580,000.00）已 3天1分钟 "
    "未跟进（最后跟进：2026-03-02 09:30）。已提醒李销售并创建跟进待办。"
)


@pytest.fixture
def silent_deal(session, frozen_clock, app):
    org = f.org(session)
    _, opp = deal(session, org)
    session.commit()
    app.drain()
    return org, opp


def alerts() -> list[Alert]:
    with db.transaction() as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def test_silence_over_72_hours_messages_rep_and_manager_and_gives_the_rep_a_task(silent_deal, frozen_clock, app):
    org, opp = silent_deal
    frozen_clock.advance(timedelta(hours=72, minutes=1))
    scan(app)

    assert received_texts(app, "rep01") == [REP_TEXT]
    assert received_texts(app, "mgr01") == [MANAGER_TEXT]
    assert received_texts(app, "dir01") == []
    [alert] = alerts()
    assert (alert.rule, alert.state, alert.subject_id) == ("follow_up_overdue", AlertState.OPEN, opp.id)
    assert sorted(alert.recipient_ids) == sorted([org.rep.id, org.manager.id])
    with db.transaction() as s:
        task = s.get(Task, alert.detail["task_id"])
        assert (task.assignee_id, task.status, task.origin) == (org.rep.id, TaskStatus.OPEN, "rule:follow_up_overdue")
        assert task.due_at == frozen_clock.now() + timedelta(hours=48)


def test_exactly_72_hours_of_silence_is_not_yet_overdue(silent_deal, frozen_clock, app):
    frozen_clock.advance(timedelta(hours=72))
    scan(app)
    assert alerts() == [] and outbox_texts("rep01") == []
    frozen_clock.advance(timedelta(seconds=1))
    scan(app)
    assert len(alerts()) == 1


def test_repeated_scans_send_one_alert_per_episode(silent_deal, frozen_clock, app):
    frozen_clock.advance(timedelta(hours=73))
    for _ in range(5):
        scan(app)
        frozen_clock.advance(timedelta(seconds=5))
    assert len(alerts()) == 1
    assert len(received_texts(app, "rep01")) == 1 and len(received_texts(app, "mgr01")) == 1
    with db.transaction() as s:
        assert s.scalar(select(func.count(Task.id))) == 1


def test_two_workers_scanning_at_once_send_one_alert(silent_deal, frozen_clock, app):
    frozen_clock.advance(timedelta(hours=73))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            run_scan(clock.now())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    app.drain()
    assert errors == []
    assert len(alerts()) == 1
    with db.transaction() as s:
        assert s.scalar(select(func.count(Task.id))) == 1
        # rep and manager, once each: the rep's text, the manager's alert card with its 批注 button
        assert s.scalar(select(func.count(OutboundMessage.id))) == 2
    assert len(received_texts(app, "rep01")) == 1


def test_task_still_open_48_hours_later_escalates_to_the_director(silent_deal, frozen_clock, app):
    frozen_clock.advance(timedelta(hours=72, minutes=1))
    scan(app)
    frozen_clock.advance(timedelta(hours=47, minutes=59))
    scan(app)
    assert received_texts(app, "dir01") == []

    frozen_clock.advance(timedelta(minutes=1))
    scan(app)
    scan(app)
    assert received_texts(app, "dir01") == [
        "【跟进超时升级】李销售（主管：钱主管）负责的客户「协和医院」的商机「CT球管更换」（初步接触，预计 ¥580,000.00）"
        "已 5天1分钟 未跟进，跟进待办已过 2天 仍未完成，请督办。"
    ]
    [alert] = alerts()
    assert alert.state is AlertState.ESCALATED and alert.escalated_at == frozen_clock.now()
    with db.transaction() as s:
        assert s.get(Task, alert.detail["task_id"]).escalation_level == 1


def test_a_new_touchpoint_resolves_the_alert_and_completes_the_task(silent_deal, session, frozen_clock, app):
    org, opp = silent_deal
    frozen_clock.advance(timedelta(hours=73))
    scan(app)
    frozen_clock.advance(timedelta(hours=2))
    f.touchpoint(session, org.rep, opp.customer, summary="电话回访，约下周演示", opportunity_id=opp.id)
    session.commit()
    app.drain()

    [alert] = alerts()
    assert alert.state is AlertState.RESOLVED and alert.resolved_by_id == org.rep.id
    assert alert.resolution == "李销售于 2026-03-05 12:30 记录了新触点（面访）"
    with db.transaction() as s:
        task = s.get(Task, alert.detail["task_id"])
        assert task.status is TaskStatus.DONE and task.completed_by_id == org.rep.id
    frozen_clock.advance(timedelta(hours=48))
    scan(app)
    assert received_texts(app, "dir01") == []  # resolved alerts never escalate
    assert len(alerts()) == 1  # and 50 h of new silence is no new episode yet


def test_the_next_silence_after_a_follow_up_is_a_new_episode(silent_deal, session, frozen_clock, app):
    org, opp = silent_deal
    frozen_clock.advance(timedelta(hours=73))
    scan(app)
    f.touchpoint(session, org.rep, opp.customer, summary="电话回访", opportunity_id=opp.id)
    session.commit()
    app.drain()
    frozen_clock.advance(timedelta(hours=73))
    scan(app)
    assert [a.state for a in alerts()] == [AlertState.RESOLVED, AlertState.OPEN]
    assert len(received_texts(app, "rep01")) == 2


def test_switched_off_the_rule_fires_nothing(silent_deal, session, frozen_clock, app):
    rule_settings.update(session, None, "follow_up.enabled", "关")
    session.commit()
    frozen_clock.advance(timedelta(days=10))
    scan(app)
    assert alerts() == []


def test_the_threshold_is_a_setting_read_at_run_time(silent_deal, session, frozen_clock, app):
    rule_settings.update(session, None, "follow_up.overdue_hours", 24)
    session.commit()
    frozen_clock.advance(timedelta(hours=24, seconds=1))
    scan(app)
    assert len(alerts()) == 1
