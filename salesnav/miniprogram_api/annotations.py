"""Annotations (批注): a manager's note on an alert, an opportunity or a touchpoint; the rep reads them."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import or_, select

from salesnav.handlers.annotations import annotate_and_notify
from salesnav.handlers.scope import opportunity_for, owned_by_visible, touchpoint_for
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import bp
from salesnav.miniprogram_api.listing import paginate
from salesnav.miniprogram_api.schemas import PageArgs, Text, page_of
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import Annotation

TAGS = ["批注"]
DB_ID = validate.Range(min=1, max=2**53)


class AnnotationOut(ma.Schema):
    id = fields.Integer(required=True)
    author_id = fields.Integer(required=True)
    author_name = Text(lambda a: a.author.name, required=True)
    recipient_id = fields.Integer(allow_none=True)
    alert_id = fields.Integer(allow_none=True)
    opportunity_id = fields.Integer(allow_none=True)
    touchpoint_id = fields.Integer(allow_none=True)
    text = fields.String(required=True)
    audio_attachment_id = fields.Integer(allow_none=True)
    transcript = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(required=True)


AnnotationPage = page_of(AnnotationOut, "AnnotationPage")


class AnnotationQuery(PageArgs):
    opportunity_id = fields.Integer(validate=DB_ID)
    touchpoint_id = fields.Integer(validate=DB_ID)


class AnnotationIn(ma.Schema):
    text = fields.String(load_default="", validate=validate.Length(max=5000))
    alert_id = fields.Integer(allow_none=True, validate=DB_ID)
    opportunity_id = fields.Integer(allow_none=True, validate=DB_ID)
    touchpoint_id = fields.Integer(allow_none=True, validate=DB_ID)
    audio_attachment_id = fields.Integer(allow_none=True, validate=DB_ID)
    transcript = fields.String(allow_none=True, validate=validate.Length(max=5000))


@bp.route("/annotations", methods=["GET"])
@bp.arguments(AnnotationQuery, location="query")
@bp.response(200, AnnotationPage)
@bp.doc(tags=TAGS, summary="批注：我写的、写给我的，以及写给我团队成员的")
def list_annotations(args: dict[str, Any]) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    query = select(Annotation).where(
        or_(
            Annotation.author_id == actor.id,
            Annotation.recipient_id == actor.id,
            owned_by_visible(session, actor, Annotation.recipient_id),
        )
    )
    if args.get("opportunity_id") is not None:
        opportunity_for(session, actor, args["opportunity_id"])
        query = query.where(Annotation.opportunity_id == args["opportunity_id"])
    if args.get("touchpoint_id") is not None:
        touchpoint_for(session, actor, args["touchpoint_id"])
        query = query.where(Annotation.touchpoint_id == args["touchpoint_id"])
    return paginate(query.order_by(Annotation.created_at.desc(), Annotation.id.desc()), args)


@bp.route("/annotations", methods=["POST"])
@bp.arguments(AnnotationIn)
@bp.response(201, AnnotationOut)
@bp.doc(tags=TAGS, summary="批注预警、商机或触点（主管及以上）")
def annotate(body: dict[str, Any]) -> Annotation:
    annotation = annotate_and_notify(db_session(), current_actor(), **body)
    commit()
    return annotation
