"""赢单概率 for the mini-program: GET /opportunities/<id>/win-probability (salesnav/handlers/win_probability.py)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from salesnav import clock
from salesnav.handlers.win_probability import WinProbability, win_probability
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.schemas import Code, Codes, ErrorOut, with_labels
from salesnav.miniprogram_api.unit_of_work import db_session

TAGS = ["商机"]
SOURCES = Codes({"model": "本公司已结商机训练的模型", "stage_table": "阶段赢率表"})


class WinReasonOut(ma.Schema):
    text = fields.String(required=True, metadata={"description": "原因（中文）"})
    weight = fields.Float(required=True, metadata={"description": "对赢单几率（对数几率）的贡献：正数有利，负数不利"})
    helps = fields.Method("_helps", required=True, metadata={"description": "是否有利于赢单"})

    def _helps(self, reason: object) -> bool:
        return bool(getattr(reason, "weight", 0) > 0)


@with_labels
class WinProbabilityOut(ma.Schema):
    opportunity_id = fields.Integer(required=True)
    probability = fields.Float(required=True, metadata={"description": "赢单概率，0–1"})
    percent = fields.Integer(required=True, metadata={"description": "赢单概率，百分数"})
    stage_percent = fields.Integer(required=True, metadata={"description": "所处阶段在阶段赢率表中的赢率，百分数"})
    source = Code(SOURCES, required=True, metadata={"description": "概率从何而来"})
    version = fields.String(allow_none=True, metadata={"description": "模型版本；按阶段赢率表时为空"})
    note = fields.String(required=True, metadata={"description": "概率的来历（中文）"})
    reasons = fields.List(
        fields.Nested(WinReasonOut), required=True, metadata={"description": "主要原因，影响大者在前"}
    )


@bp.route(f"/opportunities/<{ID}:opportunity_id>/win-probability", methods=["GET"])
@bp.response(200, WinProbabilityOut)
@bp.alt_response(404, schema=ErrorOut, description="商机不存在或无权查看")
@bp.doc(tags=TAGS, summary="商机赢单概率：由本公司已结商机学得（历史不足时按阶段赢率表），附主要原因")
def opportunity_win_probability(opportunity_id: int) -> WinProbability:
    return win_probability(db_session(), current_actor(), opportunity_id, clock.now())
