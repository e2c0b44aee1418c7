"""The demo's 客户旅程 history (salesnav/demo/journeys.py): non-zero, internally consistent figures on the journeys'
pages, every step that went out with its message in the outbox, no alert raised, and a customer's own history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav.demo import journeys as demo_journeys
from salesnav.demo import seed as demo
from salesnav.handlers.journeys import stats
from salesnav.models import (
    Alert,
    EnrollmentState,
    Journey,
    JourneyEnrollment,
    JourneyStepRun,
    OutboundMessage,
    OutboundStatus,
    StepRunState,
    TicketPart,
)

pytestmark = pytest.mark.calendar  # anchored to the clock: it must hold on any day


def _journeys(session: Session) -> dict[str, Journey]:
    return {j.name: j for j in session.scalars(select(Journey))}


def test_the_demo_journeys_have_a_believable_consistent_history(session: Session, today_clock: Any) -> None:
    summary = demo.seed()
    now = today_clock.now()
    journeys = _journeys(session)
    paper = journeys["白皮书下载后三部门联动"]
    trial = journeys[demo_journeys.TRIAL_NAME]
    sheet = journeys[demo_journeys.SOLUTION_NAME]
    assert paper.active and trial.active and paper.deleted_at is None and trial.deleted_at is None
    assert not sheet.active and sheet.deleted_at is not None  # archived (it ran): kept with its history
    # Switched on about 2 and 4 months ago, in working hours: counted in days, whatever the hour of today.
    assert (now - paper.activated_at).days >= 59 and (now - trial.activated_at).days >= 119

    window = stats.window_of(365, now)
    figures = {name: stats.journey_stats(session, j, window, now) for name, j in journeys.items()}
    total = 0
    for name, f in figures.items():
        assert f.entered > 0, name
        assert f.entered == f.active + f.completed + f.exited, name
        assert f.entered >= f.completed > 0, name
        assert f.stuck <= f.active, name
        total += f.entered
        for step in f.steps:
            assert step.reached >= step.done + step.now, (name, step.key)
            assert step.reached <= f.entered and step.stuck <= step.now, (name, step.key)
            if step.kind == "condition":
                assert step.then + step.otherwise == step.done, (name, step.key)
        first = f.steps[0]
        assert first.reached == f.entered, name  # every customer who entered got the first step
    assert total == summary.journey_enrollments >= 40  # dozens of customers
    assert summary.journeys == 3

    p = {s.key: s for s in figures["白皮书下载后三部门联动"].steps}
    assert p["case_read"].then > 0 and p["case_read"].otherwise > 0  # a branch taken and not taken
    assert p["book_visit"].reached == p["case_read"].then and p["nudge"].reached == p["case_read"].otherwise
    assert figures["白皮书下载后三部门联动"].exited == 1  # the customer whose deal was won
    assert figures["白皮书下载后三部门联动"].active >= 1  # the latest one, still in it
    assert figures[demo_journeys.TRIAL_NAME].steps[2].now > 0  # some wait for their 满月回访
    assert figures[demo_journeys.SOLUTION_NAME].exited == 2  # taken out when it was archived
    # The page's default window (90 days) shows the journeys on today, not zeros.
    for journey in (paper, trial):
        assert stats.journey_stats(session, journey, stats.window_of(None, now), now).entered > 0

    # Entered at different past times, never in the future; the exits say why.
    times = list(session.scalars(select(JourneyEnrollment.entered_at)))
    assert max(times) <= now and max(times) - min(times) > timedelta(days=90)
    reasons = set(
        session.scalars(select(JourneyEnrollment.exit_reason).where(JourneyEnrollment.exit_reason.is_not(None)))
    )
    assert reasons == {"客户商机赢单", "旅程已归档"}


def test_every_step_that_went_out_has_its_message_and_reminders_only_where_late(
    session: Session, today_clock: Any
) -> None:
    demo.seed()
    now = today_clock.now()
    keys = set(
        session.scalars(
            select(OutboundMessage.idempotency_key).where(OutboundMessage.idempotency_key.like("journey:%"))
        )
    )
    runs = list(session.scalars(select(JourneyStepRun)))
    went_out = [r for r in runs if r.step_kind in ("card", "task", "message") and r.state is not StepRunState.HELD]
    assert went_out
    for run in went_out:
        kind = {"card": "card", "task": "task", "message": "msg"}[run.step_kind]
        assert any(k.startswith(f"journey:{run.id}:{kind}:") for k in keys), run.step_key
    # a reminder at the deadline for exactly the steps not done by then
    late = {
        r.id
        for r in runs
        if r.sla_due_at is not None and r.state is not StepRunState.CANCELLED and r.sla_due_at <= (r.done_at or now)
    }
    reminded = {int(k.split(":")[1]) for k in keys if k.endswith(":remind")}
    assert reminded == late and late
    # the reps were told of each opening, reading and download, naming the material once (its title has 《》)
    told = [m.body.get("content", "") for m in session.scalars(select(OutboundMessage))]
    assert any("下载了《AI影像辅助诊断白皮书》" in text for text in told)
    assert not [text for text in told if "《《" in text or "》》" in text]
    # every journey message is history: delivered when it was queued, nothing left to send at start
    assert not session.scalar(select(func.count()).where(OutboundMessage.status != OutboundStatus.SENT))
    # the demo raises no alerts: late steps were done before their escalation
    assert not session.scalar(select(func.count()).select_from(Alert))
    assert all(r.escalated_at is None for r in runs)
    # delivery's reports on a deal are ticket parts answered with a schedule
    for run in runs:
        if run.ticket_part_id is not None and run.state is StepRunState.DONE:
            part = session.get(TicketPart, run.ticket_part_id)
            assert part is not None and part.first_valid_response_at is not None


def test_a_customer_sees_their_own_journey_history(session: Session, today_clock: Any) -> None:
    demo.seed()
    now = today_clock.now()
    exited = session.scalars(select(JourneyEnrollment).where(JourneyEnrollment.exit_reason == "客户商机赢单")).one()
    [item] = stats.customer_journeys(session, exited.customer_id, now)
    assert stats.describe_customer_journey(item) == "「白皮书下载后三部门联动」已退出（客户商机赢单）"
    waiting = session.scalars(
        select(JourneyEnrollment)
        .where(JourneyEnrollment.state == EnrollmentState.ACTIVE)
        .order_by(JourneyEnrollment.id)
    ).first()
    assert waiting is not None
    active = [
        j for j in stats.customer_journeys(session, waiting.customer_id, now) if j.state is EnrollmentState.ACTIVE
    ]
    assert active and active[0].step_title
