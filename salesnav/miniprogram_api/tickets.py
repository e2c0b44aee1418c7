"""Collaboration tickets (跨部门协同单): list mine, answer my department's part, ask for enablement."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import select

from salesnav.handlers.collaboration import add_enablement_request, answer_part
from salesnav.handlers.form_entry import record_form_entry
from salesnav.handlers.scope import ticket_for, ticket_visible
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.listing import paginate
from salesnav.miniprogram_api.schemas import (
    BusinessDateTime,
    Code,
    FormTimes,
    Number,
    PageArgs,
    Text,
    page_of,
    with_labels,
)
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import (
    CollaborationTicket,
    EnablementKind,
    EnablementRequest,
    PartStatus,
    TicketPart,
    TicketStatus,
)

TAGS = ["协同单"]
DB_ID = validate.Range(min=1, max=2**53)


@with_labels
class PartOut(ma.Schema):
    id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    department_id = fields.Integer(required=True)
    department_name = Text(lambda p: p.department.name, required=True)
    request = fields.String(required=True)
    status = Code(PartStatus, required=True)
    sla_hours = fields.Integer(required=True)
    due_at = fields.AwareDateTime(required=True)
    first_response_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    response_text = fields.String(allow_none=True)
    attachment_ids = fields.List(fields.Integer(), required=True)
    material_ids = fields.List(fields.Integer(), required=True, metadata={"description": "市场部：所附素材库素材"})
    schedule_date = fields.AwareDateTime(allow_none=True)
    risks = fields.String(allow_none=True)
    valid_until = fields.AwareDateTime(allow_none=True)
    enablement_request_id = fields.Integer(allow_none=True, metadata={"description": "市场赋能请求对应的任务"})


@with_labels
class EnablementOut(ma.Schema):
    id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    kind = Code(EnablementKind, required=True)
    note = fields.String(allow_none=True)
    requested_by_id = fields.Integer(required=True)
    fulfilled_at = fields.AwareDateTime(allow_none=True)
    ticket_part_id = Number(
        lambda r: r.part.id if r.part is not None else None,
        allow_none=True,
        metadata={"description": "市场部回复这项请求的协同任务（附素材即完成）"},
    )


@with_labels
class TicketOut(ma.Schema):
    id = fields.Integer(required=True)
    opportunity_id = fields.Integer(required=True)
    opportunity_title = Text(lambda t: t.opportunity.title, required=True)
    reason = fields.String(required=True)
    status = Code(TicketStatus, required=True)
    opened_at = fields.AwareDateTime(required=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    parts = fields.List(fields.Nested(PartOut), required=True)
    enablement_requests = fields.List(fields.Nested(EnablementOut), required=True)


TicketPage = page_of(TicketOut, "TicketPage")


class TicketQuery(PageArgs):
    status = Code(TicketStatus)
    opportunity_id = fields.Integer(validate=DB_ID)


class AnswerIn(FormTimes):
    text = fields.String(load_default="", validate=validate.Length(max=5000))
    attachment_ids = fields.List(fields.Integer(validate=DB_ID), load_default=list, validate=validate.Length(max=20))
    material_ids = fields.List(
        fields.Integer(validate=DB_ID),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "市场部：从素材库选择的素材（与上传的材料一样算有效响应）"},
    )
    schedule_date = BusinessDateTime(allow_none=True, metadata={"description": "交付部：确认的排期"})
    risks = fields.String(allow_none=True, validate=validate.Length(max=2000))
    valid_until = BusinessDateTime(allow_none=True)


class EnablementIn(ma.Schema):
    kind = Code(EnablementKind, required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


@bp.route("/tickets", methods=["GET"])
@bp.arguments(TicketQuery, location="query")
@bp.response(200, TicketPage)
@bp.doc(tags=TAGS, summary="与我相关的协同单（我的商机的，或有我部门任务的）")
def list_tickets(args: dict[str, Any]) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    query = (
        select(CollaborationTicket)
        .where(ticket_visible(session, actor))
        .order_by(CollaborationTicket.opened_at.desc(), CollaborationTicket.id.desc())
    )
    if args.get("status") is not None:
        query = query.where(CollaborationTicket.status == args["status"])
    if args.get("opportunity_id") is not None:
        query = query.where(CollaborationTicket.opportunity_id == args["opportunity_id"])
    return paginate(query, args)


@bp.route(f"/tickets/<{ID}:ticket_id>", methods=["GET"])
@bp.response(200, TicketOut)
@bp.doc(tags=TAGS, summary="协同单详情")
def read_ticket(ticket_id: int) -> CollaborationTicket:
    return ticket_for(db_session(), current_actor(), ticket_id)


@bp.route(f"/ticket-parts/<{ID}:part_id>/answer", methods=["POST"])
@bp.arguments(AnswerIn)
@bp.response(200, PartOut)
@bp.doc(tags=TAGS, summary="回复我部门的协同任务（市场部附材料或素材、交付部确认排期即完成）")
def answer(body: dict[str, Any], part_id: int) -> TicketPart:
    session, actor = db_session(), current_actor()
    opened, submitted = body.pop("form_opened_at"), body.pop("submitted_at")
    part = answer_part(session, actor, part_id=part_id, **body)
    record_form_entry(
        session,
        actor,
        form="ticket_answer",
        subject_type="ticket_part",
        subject_id=part.id,
        opened=opened,
        submitted=submitted,
    )
    commit()
    return part


@bp.route(f"/tickets/<{ID}:ticket_id>/enablement-requests", methods=["POST"])
@bp.arguments(EnablementIn)
@bp.response(201, EnablementOut)
@bp.doc(
    tags=TAGS,
    summary="提出市场赋能请求（行业白皮书 / 专家直播 / 定制化案例）",
    description="请求成为市场部的一项协同任务（有自己的响应时限），市场部负责人立即收到企业微信通知。",
)
def request_enablement(body: dict[str, Any], ticket_id: int) -> EnablementRequest:
    request = add_enablement_request(
        db_session(), current_actor(), ticket_id=ticket_id, kind=body["kind"], note=body["note"]
    )
    commit()
    return request
