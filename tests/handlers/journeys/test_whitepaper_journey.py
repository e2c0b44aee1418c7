"""The article's example end to end, through the real handlers, the jobs and the WeCom emulator, the clock moved:
a 设备科主任 downloads the white paper → the rep's case card, marketing's demo task and delivery's compatibility
report part go out at once, each with its deadline → reminders at the deadlines → the late one escalated to the
manager → each finished by its owner → the journey completed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from salesnav.handlers import radar
from salesnav.handlers.collaboration import answer_part
from salesnav.handlers.tasks import complete_task
from salesnav.jobs.journeys import on_customer_event
from salesnav.models import Alert, AlertState, DomainEvent, EnrollmentState, StepRunState, TicketPart
from salesnav.models import session as db
from tests.handlers.journeys import arrange as a
from tests.rules.conftest import received, received_texts


def test_the_download_starts_three_departments_steps_with_their_deadlines_then_reminders_then_completion(
    session, frozen_clock, app
):
    h = a.hospital(session, frozen_clock, files_root=app.settings.attachments_dir)
    journey_id = a.ready_journey(session, h)
    start = frozen_clock.now()  # Monday 09:30 in Shanghai

    a.download_through_the_page(app, h)  # the rep's 雷达 link: 李主任 opens the white paper and downloads it

    [enrollment] = a.enrollments(journey_id)
    assert (enrollment.state, enrollment.contact_id) == (EnrollmentState.ACTIVE, h.contact_id)
    steps = a.runs(journey_id)
    assert {k: (r.state, r.sla_due_at) for k, r in steps.items()} == {
        "send_case": (StepRunState.OPEN, start + timedelta(hours=8)),
        "book_demo": (StepRunState.OPEN, start + timedelta(hours=48)),
        "compat_report": (StepRunState.OPEN, start + timedelta(hours=72)),
        "case_read": (StepRunState.WAITING, None),
    }
    # ① the rep: a card with the same-grade case, opened from the chat; a task to tick when it is sent
    [card] = received(app, h.org.rep.wecom_userid, "textcard")
    assert card["payload"]["title"] == "【客户旅程】销售当天发送同级医院案例"
    assert "嘉兴市第一医院的李主任（设备科主任）刚下载了《AI影像辅助诊断白皮书》" in card["payload"]["description"]
    claims = radar.read_link(card["payload"]["url"].rsplit("/r/", 1)[1])  # a tracked 雷达 link for 李主任
    assert (claims.material_id, claims.customer_id, claims.contact_id) == (h.case_id, h.customer_id, h.contact_id)
    # ② marketing's head: the demo to book within 48 h, with its absolute deadline
    [demo] = received_texts(app, h.org.marketer.wecom_userid)
    assert demo.startswith("【客户旅程·白皮书下载后三部门联动】新待办：市场部预约区域技术顾问线上演示")
    assert "截止 2026-03-04 09:30" in demo
    # ③ delivery: a part of a collaboration ticket on the hospital's deal, its card with the buttons to answer
    [part_card] = received(app, h.org.deliverer.wecom_userid, "template_card")
    assert "兼容性报告" in str(part_card["payload"])
    with db.transaction() as s:
        part = s.get(TicketPart, steps["compat_report"].ticket_part_id)
        assert (part.department_id, part.sla_hours, part.ticket.opportunity_id) == (
            h.org.delivery.id,
            72,
            h.opportunity_id,
        )

    # 8 h later the rep's step is due: one reminder, at the deadline
    frozen_clock.set(start + timedelta(hours=8))
    assert a.advance(app) == {"reminded": 1}
    assert received_texts(app, h.org.rep.wecom_userid)[-1].startswith("【客户旅程提醒】「销售当天发送同级医院案例」")
    # 24 h: no one read the case → the else branch (a nudge to the rep); the rep's step escalated to the manager
    frozen_clock.set(start + timedelta(hours=24))
    assert a.advance(app) == {"else": 1, "escalated": 1}
    assert a.runs(journey_id)["case_read"].outcome == "else"
    assert "book_visit" not in a.runs(journey_id)
    assert "李主任（设备科主任）一天内还没有阅读案例" in received_texts(app, h.org.rep.wecom_userid)[-1]
    [escalation] = received_texts(app, h.org.manager.wecom_userid)
    assert "李销售负责的「销售当天发送同级医院案例」" in escalation and "仍未完成" in escalation
    # 48 h: marketing's deadline, its reminder to marketing's head
    frozen_clock.set(start + timedelta(hours=48))
    assert a.advance(app) == {"reminded": 1}
    assert received_texts(app, h.org.marketer.wecom_userid)[-1].startswith("【客户旅程提醒】")

    # each owner finishes their step
    steps = a.runs(journey_id)
    with db.transaction() as s:
        complete_task(s, s.merge(h.org.rep), task_id=steps["send_case"].task_id)
        complete_task(s, s.merge(h.org.marketer), task_id=steps["book_demo"].task_id)
    with db.transaction() as s:
        assert a.enrollments(journey_id)[0].state is EnrollmentState.ACTIVE  # delivery's part is still open
        answer_part(s, s.merge(h.org.deliverer), part_id=steps["compat_report"].ticket_part_id, schedule_date=start)
    app.drain()
    [enrollment] = a.enrollments(journey_id)
    assert enrollment.state is EnrollmentState.COMPLETED
    assert {k: r.state for k, r in a.runs(journey_id).items()} == dict.fromkeys(
        ["send_case", "book_demo", "compat_report", "case_read", "nudge"], StepRunState.DONE
    )
    with db.transaction() as s:
        [alert] = s.scalars(select(Alert).where(Alert.rule == "journey_sla")).all()
        assert (alert.state, alert.resolution) == (AlertState.RESOLVED, "旅程步骤已完成")
    # nothing more is due: the clock's advance finds nothing, however often it runs
    frozen_clock.set(start + timedelta(days=5))
    assert a.advance(app) == {}


def test_the_branch_is_taken_when_the_contact_reads_the_case_within_24_hours(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock)
    journey_id = a.ready_journey(session, h)
    start = frozen_clock.now()
    a.download(app, h)
    frozen_clock.set(start + timedelta(hours=3))
    [card] = received(app, h.org.rep.wecom_userid, "textcard")
    a.read_through_the_page(app, card["payload"]["url"], 180, frozen_clock)  # 李主任 reads the case 3 minutes

    steps = a.runs(journey_id)
    assert steps["case_read"].outcome == "then"
    assert steps["book_visit"].state is StepRunState.OPEN
    assert steps["book_visit"].sla_due_at == start + timedelta(hours=3, minutes=3) + timedelta(hours=48)
    assert "nudge" not in steps
    assert any("新待办：趁热约设备科主任面谈" in t for t in received_texts(app, h.org.rep.wecom_userid))
    # at 24 h the condition is long settled: the clock's advance does not take the else branch too
    frozen_clock.set(start + timedelta(hours=24))
    assert "else" not in a.advance(app)
    assert "nudge" not in a.runs(journey_id)


def test_a_read_after_the_24_hours_does_not_take_the_branch(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock)
    journey_id = a.ready_journey(session, h)
    start = frozen_clock.now()
    a.download(app, h)
    frozen_clock.set(start + timedelta(hours=25))
    a.event(app, h, "material.read", material_id=h.case_id)  # too late, and before the clock's advance ran
    a.advance(app)
    steps = a.runs(journey_id)
    assert steps["case_read"].outcome == "else"
    assert "book_visit" not in steps and "nudge" in steps


def test_reentry_is_refused_within_its_window_and_allowed_after(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock)
    journey_id = a.ready_journey(session, h)
    start = frozen_clock.now()
    a.download(app, h)
    a.event(app, h, "opportunity.won")  # the exit: a won deal ends the journey
    [first] = a.enrollments(journey_id)
    assert (first.state, first.exit_reason) == (EnrollmentState.EXITED, "客户商机赢单")
    assert all(r.state in (StepRunState.CANCELLED, StepRunState.DONE) for r in a.runs(journey_id).values())

    frozen_clock.set(start + timedelta(days=89))
    refused = a.download(app, h)
    assert len(a.enrollments(journey_id)) == 1
    on_customer_event(refused)  # the job taken again (a retry): nothing more is recorded
    with db.transaction() as s:
        [refusal] = s.scalars(select(DomainEvent).where(DomainEvent.kind == "journey.entry_refused")).all()
        assert refusal.payload["why"] == "客户 90 天内已进入过该旅程（2026-03-02 09:30）"
        assert refusal.payload["event_id"] == refused

    frozen_clock.set(start + timedelta(days=91))
    a.download(app, h)
    assert [e.state for e in a.enrollments(journey_id)] == [EnrollmentState.EXITED, EnrollmentState.ACTIVE]


def test_the_same_event_twice_and_the_advance_run_twice_change_nothing_more(session, frozen_clock, app):
    from salesnav.models import OutboundMessage

    h = a.hospital(session, frozen_clock)
    journey_id = a.ready_journey(session, h)
    start = frozen_clock.now()
    event_id = a.download(app, h)

    def said() -> int:
        with db.transaction() as s:
            return len(s.scalars(select(OutboundMessage.id)).all())

    before = said()
    assert on_customer_event(event_id) == {"entered": 0, "refused": 0, "exited": 0, "settled": 0}
    app.drain()
    assert (len(a.enrollments(journey_id)), said()) == (1, before)
    frozen_clock.set(start + timedelta(hours=9))
    assert a.advance(app) == {"reminded": 1}
    after = said()
    assert a.advance(app) == {}
    assert said() == after
    frozen_clock.set(start + timedelta(hours=24))
    assert a.advance(app) == {"else": 1, "escalated": 1}
    after = said()
    assert a.advance(app) == {}
    assert said() == after
    with db.transaction() as s:
        assert len(s.scalars(select(Alert.id).where(Alert.rule == "journey_sla")).all()) == 1


def _sla_alert():
    with db.transaction() as s:
        [alert] = s.scalars(select(Alert).where(Alert.rule == "journey_sla")).all()
        return alert


def test_a_late_step_escalated_to_the_manager_is_settled_when_the_customer_leaves_the_journey(
    session, frozen_clock, app
):
    h = a.hospital(session, frozen_clock)
    journey_id = a.ready_journey(session, h)
    start = frozen_clock.now()
    a.download(app, h)
    a.escalate_the_reps_step(app, frozen_clock, start)  # the rep's step is late: the manager was told
    assert _sla_alert().state is AlertState.OPEN

    frozen_clock.set(start + timedelta(hours=30))
    a.event(app, h, "opportunity.won", key="won", opportunity_id=h.opportunity_id)  # the journey's exit

    [enrollment] = a.enrollments(journey_id)
    assert (enrollment.state, enrollment.exit_reason) == (EnrollmentState.EXITED, "客户商机赢单")
    assert a.runs(journey_id)["send_case"].state is StepRunState.CANCELLED
    alert = _sla_alert()  # not left on the manager's list for a step no one will finish
    assert (alert.state, alert.resolution) == (AlertState.RESOLVED, "客户已退出旅程（客户商机赢单）")
    assert alert.resolved_at == start + timedelta(hours=30)
