"""Saving a journey (the admin's builder page calls these): validate, keep the columns the runner reads in step
with the definition, bump the version, keep who did what, and let the event hook hear the change at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.journeys import listening, progress
from salesnav.handlers.journeys.definition import (
    DEPARTMENT_KINDS,
    DefinitionError,
    JourneyDefinition,
    definition_json,
    parse_definition,
)
from salesnav.handlers.records import audit
from salesnav.models import (
    Customer,
    Department,
    DepartmentKind,
    EnrollmentState,
    Journey,
    JourneyEnrollment,
    JourneyStepRun,
    Material,
    StepRunState,
    Task,
    TaskStatus,
    User,
)

ARCHIVED_REASON = "旅程已归档"


def check_references(session: Session, definition: JourneyDefinition) -> None:
    """What the schema cannot know: the materials and departments a definition names exist and are live."""
    problems = []
    for step in definition.steps:
        if step.action is not None and step.action.material_id:
            material = session.get(Material, step.action.material_id)
            if material is None or material.deleted_at is not None or material.retired_at is not None:
                problems.append(f"步骤「{step.title}」的素材不存在或已下架，请重新选择")
        if step.owner is not None and step.owner.type == "department" and department_named(session, step.owner.value):
            continue
        if step.owner is not None and step.owner.type == "department":
            problems.append(f"步骤「{step.title}」的负责部门「{step.owner.label()}」不存在")
    if problems:
        raise DefinitionError(problems)


def department_named(session: Session, value: str | None) -> Department | None:
    """A department by kind code (marketing, delivery, …) or by its name; the first live one."""
    value = (value or "").strip()
    if not value:
        return None
    query = select(Department).where(Department.deleted_at.is_(None)).order_by(Department.id)
    if value in DEPARTMENT_KINDS:
        return session.scalars(query.where(Department.kind == DepartmentKind(value))).first()
    return session.scalars(query.where(Department.name == value)).first()


def save_journey(
    session: Session,
    actor: User | None,
    *,
    name: str,
    definition: dict[str, Any] | JourneyDefinition,
    description: str | None = None,
    journey_id: int | None = None,
) -> Journey:
    """Create a journey (inactive) or change one; a change bumps its version. Customers already in it go on
    with the steps of the new version that still exist."""
    name = (name or "").strip()
    if not name:
        raise DomainError("旅程名称不能为空")
    if len(name) > 100:
        raise DomainError("旅程名称过长（最多 100 字）")
    parsed = parse_definition(definition)
    check_references(session, parsed)
    stored = definition_json(parsed)
    if journey_id is None:
        journey = Journey(name=name, description=description, definition=stored, trigger_kind=parsed.trigger.kind)
        journey.created_by_id = actor.id if actor else None
        session.add(journey)
        session.flush()
        audit(session, actor, "journey", journey.id, "create", {}, {"name": name, "version": 1})
    else:
        journey = journey_by_id(session, journey_id)
        before = {"name": journey.name, "version": journey.version}
        journey.name, journey.description, journey.definition = name, description, stored
        journey.trigger_kind = parsed.trigger.kind
        journey.version += 1
        session.flush()
        audit(session, actor, "journey", journey.id, "update", before, {"name": name, "version": journey.version})
    listening.forget()
    return journey


def set_active(session: Session, actor: User | None, journey_id: int, active: bool) -> Journey:
    """Switch a journey on (customers enter it from the next event) or off (no one enters; those in it go on)."""
    journey = journey_by_id(session, journey_id)
    if active:
        parsed = parse_definition(journey.definition)
        check_references(session, parsed)
    before = {"active": journey.active}
    journey.active = active
    if active and journey.activated_at is None:
        journey.activated_at = clock.now()
    session.flush()
    audit(session, actor, "journey", journey.id, "activate" if active else "deactivate", before, {"active": active})
    listening.forget()
    return journey


def journey_by_id(session: Session, journey_id: int) -> Journey:
    journey = session.get(Journey, journey_id)
    if journey is None or journey.deleted_at is not None:
        raise NotFound("旅程不存在")
    return journey


def enrollment_counts(
    session: Session, journey_ids: list[int] | None = None, *, owners: set[int] | None = None
) -> dict[int, tuple[int, int]]:
    """journey id → (customers who ever entered it, customers in it now), among the customers of `owners` (None:
    all); journeys none of them entered are absent."""
    query = select(
        JourneyEnrollment.journey_id,
        func.count(),
        func.count(case((JourneyEnrollment.state == EnrollmentState.ACTIVE, 1))),
    ).group_by(JourneyEnrollment.journey_id)
    if journey_ids is not None:
        query = query.where(JourneyEnrollment.journey_id.in_(journey_ids))
    if owners is not None:
        query = query.where(
            JourneyEnrollment.customer_id.in_(select(Customer.id).where(Customer.owner_id.in_(sorted(owners))))
        )
    return {journey_id: (int(ever), int(now)) for journey_id, ever, now in session.execute(query)}


def remove_journey(session: Session, actor: User | None, journey_id: int) -> tuple[str, int]:
    """Take a journey off the list (rows are never hard-deleted: `deleted_at` is set either way). Never run (no
    customer ever entered it): deleted — gone from every page. Run: archived — switched off, kept with its
    customers' history and figures (under 已归档), and everyone still in it taken out: their unfinished steps
    cancelled (their open tasks too), so nothing more is sent or asked of anyone.

    Returns ("deleted", 0) or ("archived", customers taken out)."""
    journey = journey_by_id(session, journey_id)
    now = clock.now()
    ever = session.scalar(select(func.count()).where(JourneyEnrollment.journey_id == journey.id)) or 0
    before = {"name": journey.name, "version": journey.version, "active": journey.active}
    journey.active, journey.deleted_at = False, now
    journey.template = None  # the ready journey it came from may be added afresh
    session.flush()
    if not ever:
        audit(session, actor, "journey", journey.id, "delete", before, {"active": False})
        listening.forget()
        return "deleted", 0
    # Everyone still in it out, in a few statements whatever their number (guarded by state, as the runner's
    # own exit is: a step the runner finishes meanwhile stays finished).
    unfinished = (JourneyStepRun.journey_id == journey.id) & JourneyStepRun.state.in_(progress.UNFINISHED)
    open_tasks = select(JourneyStepRun.task_id).where(unfinished, JourneyStepRun.task_id.is_not(None))
    escalated = session.execute(  # late steps already escalated to a manager: their alerts are settled below
        select(JourneyStepRun.id, JourneyEnrollment.customer_id)
        .join(JourneyEnrollment, JourneyEnrollment.id == JourneyStepRun.enrollment_id)
        .where(unfinished, JourneyStepRun.escalated_at.is_not(None))
    ).all()
    session.execute(
        update(Task)
        .where(Task.id.in_(open_tasks), Task.status == TaskStatus.OPEN)
        .values(status=TaskStatus.CANCELLED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(JourneyStepRun)
        .where(unfinished)
        .values(state=StepRunState.CANCELLED, wake_at=None, outcome="exited", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    taken_out = session.execute(
        update(JourneyEnrollment)
        .where(JourneyEnrollment.journey_id == journey.id, JourneyEnrollment.state == EnrollmentState.ACTIVE)
        .values(
            state=EnrollmentState.EXITED, exited_at=now, exit_reason=ARCHIVED_REASON, current_step=None, updated_at=now
        )
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
    progress.settle_escalations(
        session, [(run_id, cid) for run_id, cid in escalated], now, f"客户已退出旅程（{ARCHIVED_REASON}）"
    )
    session.expire_all()
    audit(session, actor, "journey", journey.id, "archive", before, {"active": False, "exited": int(taken_out)})
    listening.forget()
    return "archived", int(taken_out)
