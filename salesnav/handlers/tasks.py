"""Tasks (待办): create for oneself or a team member, complete."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.journeys import progress as journey_progress
from salesnav.handlers.records import audit, record_event
from salesnav.handlers.scope import can_access_owner
from salesnav.models import Task, TaskStatus, User


def create_task(
    session: Session,
    actor: User | None,
    *,
    assignee_id: int,
    title: str,
    due_at: datetime | None = None,
    detail: str | None = None,
    origin: str = "manual",
    subject_type: str | None = None,
    subject_id: int | None = None,
) -> Task:
    """`actor` is None when a rule creates the task."""
    assignee = session.get(User, assignee_id)
    if assignee is None or not assignee.active or assignee.deleted_at:
        raise NotFound("被指派人不存在或已离职")
    if actor is not None and not can_access_owner(session, actor, assignee.id):
        raise NotFound("被指派人不存在或不在您的团队")
    title = (title or "").strip()
    if not title:
        raise DomainError("待办标题不能为空")
    if len(title) > 300:
        raise DomainError("待办标题过长（最多 300 字）")
    if due_at is not None and due_at.tzinfo is None:
        raise DomainError("截止时间缺少时区")
    task = Task(
        assignee_id=assignee.id,
        title=title,
        detail=detail,
        due_at=due_at,
        origin=origin,
        subject_type=subject_type,
        subject_id=subject_id,
        created_by_id=actor.id if actor else None,
    )
    session.add(task)
    session.flush()
    record_event(session, "task.created", "task", task.id, actor, assignee_id=assignee.id, origin=origin)
    return task


def complete_task(session: Session, actor: User, *, task_id: int) -> Task:
    task = session.get(Task, task_id)
    if task is None or not can_access_owner(session, actor, task.assignee_id):
        raise NotFound("待办不存在或您无权查看")
    if task.status is not TaskStatus.OPEN:
        raise DomainError(f"该待办{task.status.label}，无需再次完成")
    before = {"status": task.status.value}
    task.status, task.completed_at, task.completed_by_id = TaskStatus.DONE, clock.now(), actor.id
    session.flush()
    audit(session, actor, "task", task.id, "complete", before, {"status": task.status.value})
    record_event(session, "task.completed", "task", task.id, actor, origin=task.origin)
    journey_progress.task_completed(session, task)  # a journey step's task: that step is done
    return task
