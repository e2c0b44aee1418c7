"""Alerts (预警): the ones about reps in the caller's scope — a manager's team, a rep's own — with their 批注."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import func, select

from salesnav.handlers.scope import alert_for, owned_by_visible
from salesnav.metrics.management import alert_owner
from salesnav.miniprogram_api.annotations import AnnotationOut
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.listing import paginate
from salesnav.miniprogram_api.schemas import Code, ErrorOut, Number, PageArgs, Text, page_of, with_labels
from salesnav.miniprogram_api.unit_of_work import db_session
from salesnav.models import Alert, AlertState, Annotation, User

TAGS = ["预警"]
STATES = [s.value for s in AlertState]
STATES_TEXT = "、".join(f"{s.value}（{s.label}）" for s in AlertState)


def _owner_name(alert: Alert) -> str | None:
    owner_id = getattr(alert, "_owner_id", None)
    if owner_id is None:
        return None
    user = db_session().get(User, owner_id)
    return user.name if user else None


@with_labels
class AlertOut(ma.Schema):
    id = fields.Integer(required=True, metadata={"description": "预警 id"})
    rule = fields.String(required=True, metadata={"description": "触发规则编码", "example": "follow_up_overdue"})
    title = fields.String(
        required=True, metadata={"description": "预警标题", "example": "华山医院 CT 球管 14 天未跟进"}
    )
    subject_type = fields.String(
        required=True, metadata={"description": "预警对象类型：opportunity、customer、task、touchpoint、ticket 等"}
    )
    subject_id = fields.Integer(required=True, metadata={"description": "预警对象 id"})
    state = Code(AlertState, required=True, metadata={"description": "状态"})
    raised_at = fields.AwareDateTime(required=True, metadata={"description": "触发时间"})
    owner_id = Number(
        lambda a: getattr(a, "_owner_id", None), allow_none=True, metadata={"description": "预警涉及的销售"}
    )
    owner_name = Text(_owner_name, allow_none=True, metadata={"description": "预警涉及的销售姓名"})
    annotation_count = Number(
        lambda a: getattr(a, "_annotations", 0), required=True, metadata={"description": "已有批注条数"}
    )


AlertPage = page_of(AlertOut, "AlertPage")


class AlertDetailOut(AlertOut):
    annotations = fields.List(
        fields.Nested(AnnotationOut), required=True, metadata={"description": "这条预警的批注，新的在前"}
    )


class AlertQuery(PageArgs):
    state = fields.String(
        validate=validate.OneOf([*STATES, "active"]),
        load_default="active",
        metadata={
            "description": f"按状态筛选：{STATES_TEXT}；active（默认）为未处理与已升级",
            "enum": [*STATES, "active"],
        },
    )


def _decorate(rows: list[tuple[Alert, int | None, int]]) -> list[Alert]:
    out = []
    for alert, owner_id, count in rows:
        alert._owner_id = owner_id  # type: ignore[attr-defined]  # carried to the schema on the row, not a column
        alert._annotations = count  # type: ignore[attr-defined]  # carried to the schema on the row, not a column
        out.append(alert)
    return out


@bp.route("/alerts", methods=["GET"])
@bp.arguments(AlertQuery, location="query")
@bp.response(200, AlertPage)
@bp.alt_response(401, schema=ErrorOut, description="未登录或令牌已过期")
@bp.doc(tags=TAGS, summary="我可见的预警（主管：团队成员的；销售：自己的），带批注条数")
def list_alerts(args: dict[str, Any]) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    owner = alert_owner()
    query = select(Alert).where(owned_by_visible(session, actor, owner))
    if args["state"] == "active":
        query = query.where(Alert.state.in_((AlertState.OPEN, AlertState.ESCALATED)))
    else:
        query = query.where(Alert.state == AlertState(args["state"]))
    page = paginate(query.order_by(Alert.raised_at.desc(), Alert.id.desc()), args)
    ids = [a.id for a in page["items"]]
    owners = dict(session.execute(select(Alert.id, owner).where(Alert.id.in_(ids))).all()) if ids else {}
    counts = (
        dict(
            session.execute(
                select(Annotation.alert_id, func.count())
                .where(Annotation.alert_id.in_(ids))
                .group_by(Annotation.alert_id)
            ).all()
        )
        if ids
        else {}
    )
    page["items"] = _decorate([(a, owners.get(a.id), counts.get(a.id, 0)) for a in page["items"]])
    return page


@bp.route(f"/alerts/<{ID}:alert_id>", methods=["GET"])
@bp.response(200, AlertDetailOut)
@bp.alt_response(401, schema=ErrorOut, description="未登录或令牌已过期")
@bp.alt_response(404, schema=ErrorOut, description="预警不存在或您无权查看")
@bp.doc(tags=TAGS, summary="预警详情与批注")
def read_alert(alert_id: int) -> Alert:
    session, actor = db_session(), current_actor()
    alert = alert_for(session, actor, alert_id)
    owner_id = session.scalar(select(alert_owner()).where(Alert.id == alert.id))
    notes = list(
        session.scalars(
            select(Annotation).where(Annotation.alert_id == alert.id).order_by(Annotation.created_at.desc())
        )
    )
    alert._owner_id = owner_id  # type: ignore[attr-defined]  # carried to the schema on the row, not a column
    alert._annotations = len(notes)  # type: ignore[attr-defined]  # carried to the schema on the row, not a column
    alert.annotations = notes  # type: ignore[attr-defined]  # carried to the schema on the row, not a column
    return alert
