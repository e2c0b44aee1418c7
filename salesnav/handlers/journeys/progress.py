"""A journey step finished by the work it asked for: its task completed, its ticket part answered.

The use cases that finish that work (handlers/tasks.py `complete_task`, handlers/collaboration.py `answer_part`)
call these in their own transaction; a customer whose steps are all done, at the end of the flow, has completed
the journey. Only models are imported here, so the use cases below the runner may call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.rules import engine
from salesnav.models import (
    EnrollmentState,
    JourneyEnrollment,
    JourneyStepRun,
    StepRunState,
    Task,
    TicketPart,
)

UNFINISHED = (StepRunState.PENDING, StepRunState.HELD, StepRunState.WAITING, StepRunState.OPEN)


def finish(session: Session, run: JourneyStepRun, now: datetime, outcome: str) -> bool:
    """Mark an open run done (guarded: of two concurrent finishers one wins); False when it was not open."""
    session.flush()
    changed = session.execute(
        update(JourneyStepRun)
        .where(JourneyStepRun.id == run.id, JourneyStepRun.state == StepRunState.OPEN)
        .values(state=StepRunState.DONE, done_at=now, wake_at=None, outcome=outcome, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(run)
    if changed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
        return False
    settle_escalation(session, run, now, "旅程步骤已完成")
    maybe_complete(session, run.enrollment, now)
    return True


def settle_escalation(session: Session, run: JourneyStepRun, now: datetime, resolution: str) -> None:
    """A step that was late and escalated to the manager is over (done, or its customer left the journey): the
    manager's alert for it is resolved, with why, instead of waiting on a step no one will finish."""
    if run.escalated_at is not None:
        settle_escalations(session, [(run.id, run.enrollment.customer_id)], now, resolution)


def settle_escalations(session: Session, runs: Sequence[tuple[int, int]], now: datetime, resolution: str) -> int:
    """`settle_escalation` for many escalated runs at once: (run id, its customer id) each."""
    return engine.resolve_by_keys(
        session, [escalation_key(run_id, cid) for run_id, cid in runs], now=now, resolution=resolution
    )


def escalation_key(run_id: int, customer_id: int) -> str:
    """The idempotency key of a late step's escalation alert (subject: the customer; one per run)."""
    return engine.alert_key(SLA_RULE, "customer", customer_id, escalation_episode(run_id))


def escalation_episode(run_id: int) -> str:
    """The episode the runner raises a late step's escalation alert under: the run, so that it is raised once."""
    return f"run{run_id}"


def maybe_complete(session: Session, enrollment: JourneyEnrollment, now: datetime) -> bool:
    """The journey is completed once its flow ended and none of its steps is left unfinished."""
    if enrollment.state is not EnrollmentState.ACTIVE or enrollment.flow_ended_at is None:
        return False
    session.flush()
    left = session.scalars(
        select(JourneyStepRun.id).where(
            JourneyStepRun.enrollment_id == enrollment.id, JourneyStepRun.state.in_(UNFINISHED)
        )
    ).first()
    if left is not None:
        return False
    enrollment.state, enrollment.completed_at = EnrollmentState.COMPLETED, now
    session.flush()
    return True


def task_completed(session: Session, task: Task) -> bool:
    """A journey task was completed: its step is done."""
    if task.subject_type != RUN_SUBJECT or task.subject_id is None:
        return False
    run = session.get(JourneyStepRun, task.subject_id)
    return run is not None and run.task_id == task.id and finish(session, run, clock.now(), "task_done")


def ticket_part_closed(session: Session, part: TicketPart) -> bool:
    """A journey's ticket part got its valid answer: its step is done."""
    run = session.scalars(select(JourneyStepRun).where(JourneyStepRun.ticket_part_id == part.id)).first()
    return run is not None and finish(session, run, clock.now(), "part_closed")


RUN_SUBJECT = "journey_step_run"  # Task.subject_type of a journey step's task
SLA_RULE = "journey_sla"  # the rule code of a late step's escalation alert (subject: the customer)
