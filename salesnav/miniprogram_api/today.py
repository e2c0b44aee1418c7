"""今日: the rep's battle pack (ranked todos, a lead to review, a material) — the same use case as the chat's
今日作战包 button, so the client and the chat never disagree."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app
from marshmallow import fields

from salesnav import clock
from salesnav.handlers.battle_pack import battle_pack_for
from salesnav.handlers.battle_pack.material import MaterialPick
from salesnav.handlers.radar import link_token, link_url
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import bp
from salesnav.miniprogram_api.schemas import Code, Codes, with_labels
from salesnav.miniprogram_api.unit_of_work import db_session

TAGS = ["今日"]
TODO_SOURCES = Codes({"task": "待办", "next_action": "下一步行动", "follow_up": "待跟进商机"})


@with_labels
class TodoOut(ma.Schema):
    source = Code(TODO_SOURCES, required=True, metadata={"description": "来源：待办、触点的下一步行动、久未跟进的商机"})
    source_id = fields.Integer(required=True, metadata={"description": "待办、触点或商机的 id（按来源）"})
    who = fields.String(required=True, metadata={"description": "对象：联系人（客户）或客户名；与客户无关时为空串"})
    action = fields.String(required=True, metadata={"description": "要做的事", "example": "送样品并确认测试时间"})
    deadline = fields.AwareDateTime(allow_none=True, metadata={"description": "截止时间；无则为空"})
    overdue = fields.Boolean(required=True, metadata={"description": "是否已逾期"})
    score = fields.Float(required=True, metadata={"description": "优先级得分：金额(万)×阶段概率×紧迫度×客户健康度"})
    opportunity_id = fields.Integer(allow_none=True, metadata={"description": "相关商机"})
    customer_id = fields.Integer(allow_none=True, metadata={"description": "相关客户"})


class LeadOut(ma.Schema):
    opportunity_id = fields.Integer(required=True, metadata={"description": "建议复盘的商机"})
    customer_name = fields.String(required=True, metadata={"description": "客户名"})
    title = fields.String(required=True, metadata={"description": "商机名称"})
    amount_fen = fields.Integer(required=True, metadata={"description": "预计金额（分）"})
    stage_name = fields.String(required=True, metadata={"description": "当前阶段"})
    similarity = fields.String(required=True, metadata={"description": "与哪些赢单相似"})
    path_text = fields.String(required=True, metadata={"description": "相似赢单的阶段路径与平均用时"})
    suggestion = fields.String(required=True, metadata={"description": "建议动作"})
    lagging = fields.Boolean(required=True, metadata={"description": "是否落后于相似赢单的节奏"})


class ShareLinkOut(ma.Schema):
    customer_id = fields.Integer(required=True, metadata={"description": "资料匹配的商机所属客户", "example": 3})
    customer_name = fields.String(required=True, metadata={"description": "客户名称", "example": "华山医院"})
    url = fields.String(
        required=True,
        metadata={
            "description": "发给该客户的雷达链接，打开、阅读和下载会通知您；指定联系人请用生成雷达链接的接口",
            "example": "https://salesnav.example.com/r/eyJtIjo3LCJjIjozfQ.abc",
        },
    )


class MaterialPickOut(ma.Schema):
    material_id = fields.Integer(required=True, metadata={"description": "资料 id"})
    title = fields.String(required=True, metadata={"description": "资料标题"})
    url = fields.String(allow_none=True, metadata={"description": "资料链接（如有）"})
    attachment_id = fields.Integer(allow_none=True, metadata={"description": "资料文件（附件 id，如有）"})
    reason = fields.String(required=True, metadata={"description": "为什么推荐这份资料"})
    share_links = fields.List(
        fields.Nested(ShareLinkOut),
        required=True,
        metadata={"description": "转发给匹配商机客户的雷达链接（金额大的在前，最多 2 个）"},
    )


class TodayOut(ma.Schema):
    day = fields.Date(required=True, metadata={"description": "业务日（业务时区）", "example": "2026-03-02"})
    as_of = fields.AwareDateTime(required=True, metadata={"description": "计算时刻"})
    todos = fields.List(
        fields.Nested(TodoOut), required=True, metadata={"description": "按优先级排好的待办，最多 5 条"}
    )
    lead = fields.Nested(LeadOut, allow_none=True, metadata={"description": "今天值得复盘的一个商机；无则为空"})
    material = fields.Nested(MaterialPickOut, allow_none=True, metadata={"description": "今天推荐的资料；无则为空"})


@bp.route("/today", methods=["GET"])
@bp.response(
    200,
    TodayOut,
    example={
        "day": "2026-03-02",
        "as_of": "2026-03-02T02:00:00+00:00",
        "todos": [
            {
                "source": "next_action",
                "source_label": "下一步行动",
                "source_id": 12,
                "who": "李主任(华山医院)",
                "action": "送样品并确认测试时间",
                "deadline": "2026-03-02T09:00:00+00:00",
                "overdue": False,
                "score": 23.4,
                "opportunity_id": 7,
                "customer_id": 3,
            }
        ],
        "lead": None,
        "material": None,
    },
)
@bp.doc(tags=TAGS, summary="今日作战包：排好序的待办、值得复盘的商机、推荐资料（与企业微信里的作战包同源）")
def today() -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    now = clock.now()
    pack = battle_pack_for(session, actor, now, current_app.config["SALESNAV"].business_tz)
    return {
        "day": pack.day,
        "as_of": pack.as_of,
        "todos": [
            {
                "source": t.source.value,
                "source_id": t.source_id,
                "who": t.who,
                "action": t.action,
                "deadline": t.deadline,
                "overdue": t.is_overdue(now),
                "score": round(t.score, 2),
                "opportunity_id": t.opportunity_id,
                "customer_id": t.customer_id,
            }
            for t in pack.todos
        ],
        "lead": pack.lead,
        "material": _material(pack.material, actor.id),
    }


def _material(pick: MaterialPick | None, rep_id: int) -> dict[str, Any] | None:
    if pick is None:
        return None
    return {
        "material_id": pick.material_id,
        "title": pick.title,
        "url": pick.url,
        "attachment_id": pick.attachment_id,
        "reason": pick.reason,
        "share_links": [
            {"customer_id": cid, "customer_name": name, "url": link_url(link_token(pick.material_id, cid, rep_id))}
            for cid, name in pick.customers
        ],
    }
