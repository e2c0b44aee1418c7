"""Tasks (待办): list mine (a manager: the team's), create for oneself or a team member, complete."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import select

from salesnav.handlers.scope import owned_by_visible
from salesnav.handlers.tasks import complete_task, create_task
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.listing import paginate
from salesnav.miniprogram_api.schemas import BusinessDateTime, Code, PageArgs, page_of, with_labels
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import Task, TaskStatus

TAGS = ["待办"]
DB_ID = validate.Range(min=1, max=2**53)


@with_labels
class TaskOut(ma.Schema):
    id = fields.Integer(required=True)
    assignee_id = fields.Integer(required=True)
    title = fields.String(required=True)
    detail = fields.String(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    status = Code(TaskStatus, required=True)
    origin = fields.String(required=True)
    subject_type = fields.String(allow_none=True)
    subject_id = fields.Integer(allow_none=True)
    escalation_level = fields.Integer(required=True)
    completed_at = fields.AwareDateTime(allow_none=True)


TaskPage = page_of(TaskOut, "TaskPage")


class TaskQuery(PageArgs):
    status = Code(TaskStatus)
    assignee_id = fields.Integer(validate=DB_ID)


class TaskIn(ma.Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    detail = fields.String(allow_none=True, validate=validate.Length(max=5000))
    due_at = BusinessDateTime(allow_none=True)
    assignee_id = fields.Integer(allow_none=True, validate=DB_ID, metadata={"description": "默认指派给自己"})


@bp.route("/tasks", methods=["GET"])
@bp.arguments(TaskQuery, location="query")
@bp.response(200, TaskPage)
@bp.doc(tags=TAGS, summary="待办列表")
def list_tasks(args: dict[str, Any]) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    query = select(Task).where(owned_by_visible(session, actor, Task.assignee_id))
    if args.get("status") is not None:
        query = query.where(Task.status == args["status"])
    if args.get("assignee_id") is not None:
        query = query.where(Task.assignee_id == args["assignee_id"])
    # Open tasks with the nearest due time first; tasks without a due time after them.
    query = query.order_by(Task.due_at.is_(None), Task.due_at, Task.id)
    return paginate(query, args)


@bp.route("/tasks", methods=["POST"])
@bp.arguments(TaskIn)
@bp.response(201, TaskOut)
@bp.doc(tags=TAGS, summary="新建待办")
def new_task(body: dict[str, Any]) -> Task:
    session, actor = db_session(), current_actor()
    task = create_task(
        session,
        actor,
        assignee_id=body.get("assignee_id") or actor.id,
        title=body["title"],
        due_at=body.get("due_at"),
        detail=body.get("detail"),
    )
    commit()
    return task


@bp.route(f"/tasks/<{ID}:task_id>/complete", methods=["POST"])
@bp.response(200, TaskOut)
@bp.doc(tags=TAGS, summary="完成待办")
def complete_task_view(task_id: int) -> Task:
    task = complete_task(db_session(), current_actor(), task_id=task_id)
    commit()
    return task
