"""Touchpoints (客户触点日志): log from the mini-program form, list, read, correct one's own."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import select

from salesnav.handlers.form_entry import server_form_opened_at
from salesnav.handlers.scope import owned_by_visible, touchpoint_for
from salesnav.handlers.touchpoints import MAX_SUMMARY, log_touchpoint, update_touchpoint
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.customers import ContactOut
from salesnav.miniprogram_api.listing import paginate
from salesnav.miniprogram_api.schemas import BusinessDateTime, Code, FormTimes, PageArgs, Text, page_of, with_labels
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import CaptureSource, Emotion, Touchpoint, TouchpointType

TAGS = ["触点"]


@with_labels
class TouchpointOut(ma.Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    customer_name = Text(lambda t: t.customer.name, required=True)
    rep_id = fields.Integer(required=True)
    opportunity_id = fields.Integer(allow_none=True)
    type = Code(TouchpointType, required=True)
    emotion = Code(Emotion, required=True)
    summary = fields.String(required=True)
    next_action = fields.String(allow_none=True)
    next_action_due = fields.AwareDateTime(allow_none=True)
    occurred_at = fields.AwareDateTime(required=True)
    source = Code(CaptureSource, required=True)
    contacts = fields.List(fields.Nested(ContactOut), required=True)
    attachment_ids = fields.List(fields.Integer(), attribute="attachments", required=True)
    guessed_fields = fields.List(fields.String(), required=True, metadata={"description": "系统猜测、用户未改动的字段"})
    effective = fields.Boolean(attribute="is_effective", required=True, metadata={"description": "是否有效触点"})
    form_opened_at = fields.AwareDateTime(allow_none=True)
    submitted_at = fields.AwareDateTime(allow_none=True)


TouchpointPage = page_of(TouchpointOut, "TouchpointPage")


class TouchpointQuery(PageArgs):
    customer_id = fields.Integer(validate=validate.Range(min=1, max=2**53))
    opportunity_id = fields.Integer(validate=validate.Range(min=1, max=2**53))
    rep_id = fields.Integer(validate=validate.Range(min=1, max=2**53), metadata={"description": "主管按成员筛选"})
    since = BusinessDateTime()
    until = BusinessDateTime()


def _ids() -> fields.List:
    return fields.List(fields.Integer(validate=validate.Range(min=1, max=2**53)), validate=validate.Length(max=50))


class TouchpointIn(FormTimes):
    customer_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**53))
    type = Code(TouchpointType, required=True)
    emotion = Code(Emotion, load_default=Emotion.NEUTRAL)
    summary = fields.String(load_default="", validate=validate.Length(max=MAX_SUMMARY))
    contact_ids = _ids()
    next_action = fields.String(allow_none=True, validate=validate.Length(max=500))
    next_action_due = BusinessDateTime(allow_none=True)
    occurred_at = BusinessDateTime(allow_none=True)
    opportunity_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**53))
    attachment_ids = _ids()
    guessed_fields = fields.List(
        fields.String(validate=validate.Length(max=40)),
        validate=validate.Length(max=20),
        metadata={"description": "语音草稿中由系统猜测、用户未改动的字段"},
    )


class TouchpointPatch(ma.Schema):
    type = Code(TouchpointType)
    emotion = Code(Emotion)
    summary = fields.String(validate=validate.Length(max=MAX_SUMMARY))
    contact_ids = _ids()
    next_action = fields.String(allow_none=True, validate=validate.Length(max=500))
    next_action_due = BusinessDateTime(allow_none=True)
    attachment_ids = _ids()


@bp.route("/touchpoints", methods=["GET"])
@bp.arguments(TouchpointQuery, location="query")
@bp.response(200, TouchpointPage)
@bp.doc(tags=TAGS, summary="我可见的触点（销售本人、主管团队、总监全部）")
def list_touchpoints(args: dict[str, Any]) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    query = (
        select(Touchpoint)
        .where(Touchpoint.deleted_at.is_(None), owned_by_visible(session, actor, Touchpoint.rep_id))
        .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
    )
    for name in ("customer_id", "opportunity_id", "rep_id"):
        if args.get(name) is not None:
            query = query.where(getattr(Touchpoint, name) == args[name])
    if args.get("since"):
        query = query.where(Touchpoint.occurred_at >= args["since"])
    if args.get("until"):
        query = query.where(Touchpoint.occurred_at < args["until"])
    return paginate(query, args)


@bp.route("/touchpoints", methods=["POST"])
@bp.arguments(TouchpointIn)
@bp.response(201, TouchpointOut)
@bp.doc(tags=TAGS, summary="记录触点（小程序表单；带表单打开与提交时间）")
def create_touchpoint(body: dict[str, Any]) -> Touchpoint:
    session, actor = db_session(), current_actor()
    opened = server_form_opened_at(body.pop("form_opened_at"), body.pop("submitted_at"))
    touchpoint = log_touchpoint(
        session,
        actor,
        source=CaptureSource.MINIPROGRAM,
        form_opened_at=opened,
        **{k: v for k, v in body.items() if v is not None},
    )
    commit()
    return touchpoint


@bp.route(f"/touchpoints/<{ID}:touchpoint_id>", methods=["GET"])
@bp.response(200, TouchpointOut)
@bp.doc(tags=TAGS, summary="触点详情")
def read_touchpoint(touchpoint_id: int) -> Touchpoint:
    return touchpoint_for(db_session(), current_actor(), touchpoint_id)


@bp.route(f"/touchpoints/<{ID}:touchpoint_id>", methods=["PATCH"])
@bp.arguments(TouchpointPatch)
@bp.response(200, TouchpointOut)
@bp.doc(tags=TAGS, summary="修改自己记录的触点（留痕）")
def patch_touchpoint(body: dict[str, Any], touchpoint_id: int) -> Touchpoint:
    touchpoint = update_touchpoint(db_session(), current_actor(), touchpoint_id=touchpoint_id, **body)
    commit()
    return touchpoint
