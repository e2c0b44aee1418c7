"""客户健康度诊断 for the mini-program: GET /customers/<id>/diagnosis (each call counts as one use)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from salesnav.handlers.diagnosis import Diagnosis, diagnose
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.journeys import journeys_field
from salesnav.miniprogram_api.schemas import Code, Codes, with_labels
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.miniprogram_api.win_probability import WinProbabilityOut
from salesnav.models import Health

TAGS = ["客户"]
AREAS = Codes(
    {
        "emotion": "客户情绪",
        "decision_chain": "决策链",
        "stage": "阶段进展",
        "collaboration": "跨部门协同",
        "payment": "回款",
        "activity": "跟进频率",
    }
)
SEVERITIES = Codes({"ok": "正常", "warn": "注意", "bad": "严重"})
TRENDS = Codes({"falling": "走低", "rising": "好转", "steady": "平稳", "none": "无记录"})


@with_labels
class DiagnosisFindingOut(ma.Schema):
    area = Code(AREAS, required=True, metadata={"description": "诊断维度"})
    severity = Code(SEVERITIES, required=True, metadata={"description": "严重程度"})
    text = fields.String(required=True)


@with_labels
class DiagnosisEmotionOut(ma.Schema):
    recent = fields.List(fields.String(), required=True, metadata={"description": "最近几次触点情绪，由远到近"})
    trend = Code(TRENDS, required=True, metadata={"description": "情绪走势"})
    resistant = fields.Integer(required=True)


class DiagnosisDealOut(ma.Schema):
    opportunity_id = fields.Integer(required=True)
    title = fields.String(required=True)
    stage_name = fields.String(required=True)
    days_in_stage = fields.Float(required=True)
    baseline_days = fields.Float(allow_none=True, metadata={"description": "同类已结商机在该阶段的平均天数"})
    stalled = fields.Boolean(required=True)
    next_stage_name = fields.String(allow_none=True)
    missing_items = fields.List(fields.String(), required=True)
    win = fields.Nested(WinProbabilityOut, allow_none=True, metadata={"description": "赢单概率及主要原因"})


class DiagnosisPartOut(ma.Schema):
    part_id = fields.Integer(required=True)
    ticket_id = fields.Integer(required=True)
    department = fields.String(required=True)
    request = fields.String(required=True)
    due_at = fields.AwareDateTime(required=True)
    overdue = fields.Boolean(required=True)


class DiagnosisPaymentOut(ma.Schema):
    on_time_rate = fields.Float(allow_none=True)
    receivables = fields.Integer(required=True)
    late = fields.Integer(required=True)
    minimum = fields.Float(required=True)
    risk_points = fields.List(fields.String(), required=True)
    unavailable = fields.String(allow_none=True)


@with_labels
class DiagnosisOut(ma.Schema):
    customer_id = fields.Integer(required=True)
    customer_name = fields.String(required=True)
    health = Code(Health, required=True, metadata={"description": "诊断结论：绿灯 / 黄灯 / 红灯"})
    stored_health = Code(Health, required=True, metadata={"description": "系统记录的健康度"})
    emotion = fields.Nested(DiagnosisEmotionOut, required=True)
    roles_met = fields.List(fields.String(), required=True)
    roles_not_met = fields.List(fields.String(), required=True)
    roles_missing = fields.List(fields.String(), required=True)
    deals = fields.List(fields.Nested(DiagnosisDealOut), required=True)
    open_parts = fields.List(fields.Nested(DiagnosisPartOut), required=True)
    payment = fields.Nested(DiagnosisPaymentOut, required=True)
    findings = fields.List(fields.Nested(DiagnosisFindingOut), required=True)
    next_steps = fields.List(fields.String(), required=True)
    journeys = journeys_field()


@bp.route(f"/customers/<{ID}:customer_id>/diagnosis", methods=["GET"])
@bp.response(200, DiagnosisOut)
@bp.doc(tags=TAGS, summary="客户健康度诊断：健康度、原因与下一步建议（每次调用计为一次使用）")
def customer_diagnosis(customer_id: int) -> Diagnosis:
    diagnosis = diagnose(db_session(), current_actor(), customer_id, channel="miniprogram")
    commit()  # the use is counted (health.diagnosis_requested)
    return diagnosis
