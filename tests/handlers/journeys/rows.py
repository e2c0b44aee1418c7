"""Journeys arranged row by row for the figures' tests (the runner's own tests drive them through events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from salesnav import clock
from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.models import EnrollmentState, Journey, JourneyEnrollment, JourneyStepRun, OpportunityStatus, StepRunState
from tests import factories as f

DEFINITION = {
    "trigger": {"kind": "material.downloaded"},
    "steps": [
        {
            "key": "s1",
            "title": "销售发案例",
            "owner": {"type": "rep"},
            "action": {"type": "task", "text": "发案例", "sla_hours": 8},
        },
        {
            "key": "s2",
            "title": "三天内是否读完",
            "condition": {"event": "material.read", "within_hours": 72, "then": "s3", "else": "end"},
        },
        {
            "key": "s3",
            "title": "市场部约演示",
            "owner": {"type": "department", "value": "marketing"},
            "action": {"type": "ticket_part", "text": "约演示", "sla_hours": 48},
        },
    ],
}
KIND = {"s1": "task", "s2": "condition", "s3": "ticket_part"}


@dataclass
class Run:
    key: str
    state: StepRunState
    outcome: str | None = None
    sla_in_hours: float | None = None  # the deadline from now (negative: passed)


def journey(session, name="白皮书跟进") -> Journey:
    found = Journey(name=name, definition=DEFINITION, trigger_kind="material.downloaded", active=True)
    session.add(found)
    session.flush()
    return found


def enrol(session, journey_, customer, days_ago: float, state: EnrollmentState, runs: list[Run]) -> JourneyEnrollment:
    now = clock.now()
    entered = now - timedelta(days=days_ago)
    enrollment = JourneyEnrollment(
        journey_id=journey_.id,
        customer_id=customer.id,
        entered_at=entered,
        state=state,
        current_step=next((r.key for r in runs if r.state in (StepRunState.OPEN, StepRunState.PENDING)), None),
        completed_at=now if state is EnrollmentState.COMPLETED else None,
        exited_at=now if state is EnrollmentState.EXITED else None,
        exit_reason="商机赢单" if state is EnrollmentState.EXITED else None,
    )
    session.add(enrollment)
    session.flush()
    for run in runs:
        session.add(
            JourneyStepRun(
                enrollment_id=enrollment.id,
                journey_id=journey_.id,
                step_key=run.key,
                step_kind=KIND[run.key],
                state=run.state,
                due_at=entered,
                sla_due_at=None if run.sla_in_hours is None else now + timedelta(hours=run.sla_in_hours),
                done_at=now if run.state is StepRunState.DONE else None,
                outcome=run.outcome,
            )
        )
    session.flush()
    return enrollment


def won(session, customer, owner, amount_fen: int, days_ago: float, status=OpportunityStatus.WON) -> None:
    tp = f.touchpoint(session, owner, customer, occurred_at=clock.now() - timedelta(days=days_ago + 1))
    opp = create_from_touchpoint(
        session, owner, touchpoint_id=tp.id, title="CT", product_line="CT", expected_amount_fen=amount_fen
    )
    opp.status, opp.closed_at = status, clock.now() - timedelta(days=days_ago)  # arranged: the close is not under test
    session.flush()


DONE, OPEN, CANCELLED = StepRunState.DONE, StepRunState.OPEN, StepRunState.CANCELLED
ACTIVE, COMPLETED, EXITED = EnrollmentState.ACTIVE, EnrollmentState.COMPLETED, EnrollmentState.EXITED
