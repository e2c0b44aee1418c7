"""公海 in the client: the list (with the asker's quota and, for a manager, whom they may assign to), a claim,
and a manager's assignment — the use cases of salesnav/handlers/pool.py; and a customer's visit brief
(salesnav/handlers/visit_brief.py), as the chat's 简报 shows it."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from salesnav.handlers import pool, visit_brief
from salesnav.handlers.errors import NotFound
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.schemas import Code, IdOut, with_labels
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import CustomerKind, PoolEntry, User

TAGS = ["公海"]


@with_labels
class PoolItemOut(ma.Schema):
    entry_id = fields.Integer(required=True, metadata={"description": "公海编号（领取、分配用）"})
    customer_id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = Code(CustomerKind, required=True, metadata={"description": "客户类型"})
    grade = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    reason = fields.String(required=True, metadata={"description": "长期未跟进 / 负责人已离职"})
    entered_at = fields.AwareDateTime(required=True)
    days_in_pool = fields.Integer(required=True)
    open_deals = fields.Integer(required=True)
    cooldown_until = fields.AwareDateTime(
        allow_none=True, metadata={"description": "您是原负责人时：此时间之后才能重新领取"}
    )


class PoolQuotaOut(ma.Schema):
    claimed_today = fields.Integer(required=True)
    claims_per_day = fields.Integer(required=True)
    held = fields.Integer(required=True)
    max_held = fields.Integer(required=True)


class PoolOut(ma.Schema):
    items = fields.List(fields.Nested(PoolItemOut), required=True)
    quota = fields.Nested(PoolQuotaOut, required=True)
    can_assign = fields.Boolean(required=True)
    assignees = fields.List(fields.Nested(IdOut), required=True, metadata={"description": "主管可分配给的销售"})


class PoolQuery(ma.Schema):
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "客户名称包含的文字"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PoolTakenOut(ma.Schema):
    entry_id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    customer_name = fields.String(required=True)
    owner_id = fields.Integer(required=True)
    owner_name = fields.String(required=True)


class AssignIn(ma.Schema):
    rep_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**53))


@bp.route("/pool", methods=["GET"])
@bp.arguments(PoolQuery, location="query")
@bp.response(200, PoolOut)
@bp.doc(tags=TAGS, summary="公海客户列表")
def list_pool(args: dict[str, Any]) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    assignees = pool.assignable_reps(session, actor)
    return {
        "items": pool.list_pool(session, actor, limit=args["limit"], query=args.get("q")),
        "quota": pool.claim_quota(session, actor),
        "can_assign": actor.role in pool.ASSIGNERS,
        "assignees": [{"id": u.id, "name": u.name} for u in assignees],
    }


def _taken(entry: PoolEntry) -> dict[str, Any]:
    customer = entry.customer
    return {
        "entry_id": entry.id,
        "customer_id": customer.id,
        "customer_name": customer.name,
        "owner_id": customer.owner_id,
        "owner_name": customer.owner.name,
    }


@bp.route(f"/pool/<{ID}:entry_id>/claim", methods=["POST"])
@bp.response(200, PoolTakenOut)
@bp.doc(tags=TAGS, summary="领取公海客户")
def claim(entry_id: int) -> dict[str, Any]:
    entry = pool.claim(db_session(), current_actor(), entry_id)
    result = _taken(entry)
    commit()
    return result


@bp.route(f"/pool/<{ID}:entry_id>/assign", methods=["POST"])
@bp.arguments(AssignIn)
@bp.response(200, PoolTakenOut)
@bp.doc(tags=TAGS, summary="主管分配公海客户")
def assign(body: dict[str, Any], entry_id: int) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    rep = session.get(User, body["rep_id"])
    if rep is None:
        raise NotFound("该销售不存在")
    entry = pool.assign(session, actor, entry_id, rep)
    result = _taken(entry)
    commit()
    return result


class BriefObjectionOut(ma.Schema):
    objection = fields.String(required=True)
    count = fields.Integer(required=True)
    share = fields.Float(required=True)
    won_answer = fields.String(allow_none=True, metadata={"description": "赢单前最常见的应对（下一步行动）"})
    won_answer_count = fields.Integer(required=True)


class BriefPersonOut(ma.Schema):
    name = fields.String(required=True)
    title = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    role_guessed = fields.Boolean(required=True)


class BriefDealOut(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    product_line = fields.String(required=True)
    stage = fields.String(required=True)


class BriefTalkTrackOut(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(allow_none=True)
    url = fields.String(allow_none=True)


class BriefOut(ma.Schema):
    customer = fields.Nested(IdOut, required=True)
    deal = fields.Nested(BriefDealOut, allow_none=True)
    due_at = fields.String(required=True)
    what = fields.String(required=True)
    objections = fields.List(fields.Nested(BriefObjectionOut), required=True)
    objection_group = fields.String(required=True, metadata={"description": "异议统计依据的相似范围"})
    objection_group_size = fields.Integer(required=True)
    open_items = fields.List(fields.String(), required=True)
    people = fields.List(fields.Nested(BriefPersonOut), required=True)
    talk_track = fields.Nested(BriefTalkTrackOut, allow_none=True)
    text = fields.String(required=True, metadata={"description": "与企业微信推送相同的文字"})


@bp.route(f"/customers/<{ID}:customer_id>/brief", methods=["GET"])
@bp.response(200, BriefOut)
@bp.doc(tags=["拜访简报"], summary="客户的拜访简报（最可能的异议、未结事项、关键人、本阶段话术）")
def customer_brief(customer_id: int) -> dict[str, Any]:
    content = visit_brief.brief_now(db_session(), current_actor(), customer_id)
    return {**content, "text": visit_brief.brief_text(content)}
