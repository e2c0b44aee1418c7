"""Taking a journey off the admin page, through the real page handlers: one no customer ever entered is deleted
after a confirmation page; one that ran is archived — its customers still in it are taken out, their unfinished
steps stop (open tasks cancelled, nothing more sent when the clock moves on), and its figures stay to be seen
under 已归档. Only an admin may do either."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from salesnav.handlers.journeys.stats import customer_journeys, describe_customer_journey
from salesnav.models import (
    Alert,
    AlertState,
    AuditEntry,
    EnrollmentState,
    Journey,
    JourneyEnrollment,
    JourneyStepRun,
    StepRunState,
    Task,
    TaskStatus,
)
from salesnav.models import session as db
from tests.handlers.journeys import arrange as a
from tests.pages.admin.conftest import csrf, sign_in_with_wecom, text_of

NEVER_RUN = {
    "trigger": {"kind": "material.read"},
    "steps": [
        {"key": "s1", "title": "提醒跟进", "owner": {"type": "rep"}, "action": {"type": "message", "text": "跟进"}}
    ],
}


def _signed_in(app, userid: str):
    client = app.app.test_client()
    sign_in_with_wecom(client, userid)
    return client


def test_a_journey_no_customer_entered_is_deleted_after_a_confirmation(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock)
    journey_id = a.journey(session, h, NEVER_RUN, name="从未运行的旅程")
    admin = _signed_in(app, h.org.admin.wecom_userid)

    listing = text_of(admin.get("/admin/journeys"))
    assert "从未运行的旅程" in listing and "还没有客户进入" in listing
    assert f'href="/admin/journeys/{journey_id}/remove">删除</a>' in listing
    assert f'id="remove-journey-link" href="/admin/journeys/{journey_id}/remove">删除这个旅程' in text_of(
        admin.get(f"/admin/journeys/{journey_id}/edit")
    )
    confirm = text_of(admin.get(f"/admin/journeys/{journey_id}/remove"))
    assert "删除客户旅程「从未运行的旅程」" in confirm and "还没有客户进入过" in confirm and "确认删除" in confirm
    with db.transaction() as s:  # asking is not doing
        assert s.get(Journey, journey_id) is not None

    done = admin.post(f"/admin/journeys/{journey_id}/remove", data={"csrf_token": csrf(admin)})
    assert done.status_code == 302
    listing = text_of(admin.get("/admin/journeys"))
    assert "已删除客户旅程「从未运行的旅程」" in listing and "已归档的旅程" not in listing
    assert admin.get(f"/admin/journeys/{journey_id}/stats").status_code == 404
    with db.transaction() as s:
        gone = s.get(Journey, journey_id)  # kept as a row (none is ever hard-deleted), on no page
        assert gone.deleted_at is not None and not gone.active
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "journey", AuditEntry.action == "delete")
        ).one()
        assert entry.entity_id == journey_id and entry.before["name"] == "从未运行的旅程"
    assert f"<td>客户旅程 #{journey_id}</td><td>删除</td>" in text_of(admin.get("/admin/"))
    # Its name is free again.
    a.journey(session, h, NEVER_RUN, name="从未运行的旅程")


def test_a_journey_that_ran_is_archived_its_customers_steps_stop_and_its_figures_stay(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock, files_root=app.settings.attachments_dir)
    journey_id = a.ready_journey(session, h)
    a.download_through_the_page(app, h)  # 李主任 downloads the white paper: three departments' steps go out
    [enrollment] = a.enrollments(journey_id)
    assert enrollment.state is EnrollmentState.ACTIVE
    before = a.runs(journey_id)
    task_ids = [r.task_id for r in before.values() if r.task_id is not None]
    assert task_ids and {r.state for r in before.values()} == {StepRunState.OPEN, StepRunState.WAITING}
    sent_before = len(app.emulator.sent(h.org.rep.wecom_userid))

    admin = _signed_in(app, h.org.admin.wecom_userid)
    listing = text_of(admin.get("/admin/journeys"))
    assert "进入过 1 位客户，1 位在旅程中" in listing
    assert f'href="/admin/journeys/{journey_id}/remove">归档</a>' in listing
    confirm = text_of(admin.get(f"/admin/journeys/{journey_id}/remove"))
    assert "归档客户旅程「白皮书下载后三部门联动」" in confirm
    assert "已有 1 位客户进入过这个旅程，所以不能删除，只能归档" in confirm
    assert "正在旅程中的 1 位客户将被移出" in confirm and "确认归档" in confirm

    # A sales manager may look at the journeys, never take one away.
    manager = _signed_in(app, h.org.manager.wecom_userid)
    assert manager.get(f"/admin/journeys/{journey_id}/remove").status_code == 403
    assert manager.post(f"/admin/journeys/{journey_id}/remove", data={"csrf_token": csrf(manager)}).status_code == 403
    with db.transaction() as s:
        assert s.get(Journey, journey_id).deleted_at is None

    done = admin.post(f"/admin/journeys/{journey_id}/remove", data={"csrf_token": csrf(admin)})
    assert done.status_code == 302
    listing = text_of(admin.get("/admin/journeys"))
    assert "已归档客户旅程「白皮书下载后三部门联动」，1 位客户移出旅程，尚未完成的步骤已停止" in listing
    assert "已归档的旅程" in listing and "进入过 1 位客户" in listing
    assert "添加现成旅程" in listing  # the ready journey may be added afresh

    with db.transaction() as s:
        journey = s.get(Journey, journey_id)
        assert journey.deleted_at is not None and not journey.active
        out = s.get(JourneyEnrollment, enrollment.id)
        assert (out.state, out.exit_reason, out.current_step) == (EnrollmentState.EXITED, "旅程已归档", None)
        states = s.execute(
            select(JourneyStepRun.state, JourneyStepRun.wake_at).where(JourneyStepRun.journey_id == journey_id)
        ).all()
        assert states and all(state is StepRunState.CANCELLED and wake is None for state, wake in states)
        assert {s.get(Task, t).status for t in task_ids} == {TaskStatus.CANCELLED}
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.entity_type == "journey", AuditEntry.action == "archive")
        ).one()
        assert entry.after == {"active": False, "exited": 1}

    # The deadlines pass: no reminder, no escalation, nothing more to anyone; another download enters no one.
    frozen_clock.advance(timedelta(hours=80))
    a.advance(app)
    a.download(app, h, key="again")
    assert len(app.emulator.sent(h.org.rep.wecom_userid)) == sent_before
    with db.transaction() as s:
        assert s.scalar(select(func.count()).where(JourneyEnrollment.journey_id == journey_id)) == 1

    # The hospital's own history still says it went through it, and why it left.
    with db.transaction() as s:
        [went] = customer_journeys(s, h.customer_id)
        assert describe_customer_journey(went) == "「白皮书下载后三部门联动」已退出（旅程已归档）"

    # Its figures stay: the customer who went through it, now out of it.
    admin = _signed_in(app, h.org.admin.wecom_userid)  # signed in afresh: the page's sign-in lasts less than 80 h
    stats = admin.get(f"/admin/journeys/{journey_id}/stats")
    assert stats.status_code == 200
    page = text_of(stats)
    assert "已归档" in page and "打开修改" not in page
    assert 'data-figure="entered"><div class="num">1</div>' in page
    assert 'data-figure="exited"><div class="num">1</div>' in page
    # Archived is final: it cannot be opened, switched on or removed again.
    token = csrf(admin)
    assert admin.get(f"/admin/journeys/{journey_id}/edit").status_code == 404
    assert admin.post(f"/admin/journeys/{journey_id}/activate", data={"csrf_token": token}).status_code == 302
    assert admin.post(f"/admin/journeys/{journey_id}/remove", data={"csrf_token": token}).status_code == 404
    with db.transaction() as s:
        assert not s.get(Journey, journey_id).active


def test_archiving_settles_the_managers_alerts_for_late_steps_of_the_customers_taken_out(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock)
    journey_id = a.ready_journey(session, h)
    start = frozen_clock.now()
    a.download(app, h)
    a.escalate_the_reps_step(app, frozen_clock, start)  # the manager has an alert for the rep's late step

    admin = _signed_in(app, h.org.admin.wecom_userid)
    assert admin.post(f"/admin/journeys/{journey_id}/remove", data={"csrf_token": csrf(admin)}).status_code == 302

    with db.transaction() as s:
        [alert] = s.scalars(select(Alert).where(Alert.rule == "journey_sla")).all()
        assert (alert.state, alert.resolution) == (AlertState.RESOLVED, "客户已退出旅程（旅程已归档）")
        assert alert.resolved_at == start + timedelta(hours=24)
