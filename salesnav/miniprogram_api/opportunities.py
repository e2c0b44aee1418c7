"""Opportunities (商机推进卡): create from a touchpoint, advance a stage with checklist evidence, history."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import select

from salesnav.handlers.approvals import REASON_LIMIT, lift_freeze
from salesnav.handlers.form_entry import record_form_entry
from salesnav.handlers.money import MAX_AMOUNT_FEN
from salesnav.handlers.opportunities import Evidence, advance_stage, create_from_touchpoint
from salesnav.handlers.scope import opportunity_for, owned_by_visible
from salesnav.miniprogram_api import overdue
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.listing import paginate
from salesnav.miniprogram_api.schemas import Code, ErrorOut, FormTimes, PageArgs, Text, page_of, with_labels
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import Opportunity, OpportunityStatus, Stage, StageTransition

TAGS = ["商机"]
DB_ID = validate.Range(min=1, max=2**53)


class StageRef(ma.Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)


class EvidenceOut(ma.Schema):
    checklist_item_id = fields.Integer(required=True)
    item_name = Text(lambda e: e.item.name, required=True)
    text = fields.String(allow_none=True)
    attachment_id = fields.Integer(allow_none=True)
    checked = fields.Boolean(required=True)
    provided_by_id = fields.Integer(required=True)
    provided_at = fields.AwareDateTime(required=True)


@with_labels
class OpportunityOut(ma.Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    customer_name = Text(lambda o: o.customer.name, required=True)
    owner_id = fields.Integer(required=True)
    title = fields.String(required=True)
    product_line = fields.String(required=True)
    expected_amount_fen = fields.Integer(
        required=True, metadata={"description": "预计成交金额（分）", "example": 58000000}
    )
    stage = fields.Nested(StageRef, required=True)
    status = Code(OpportunityStatus, required=True)
    last_touchpoint_id = fields.Integer(required=True)
    last_follow_up_at = fields.AwareDateTime(required=True)
    stage_entered_at = fields.AwareDateTime(required=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    approval_frozen = fields.Boolean(required=True)
    approval_frozen_reason = fields.String(allow_none=True)
    evidence = fields.List(fields.Nested(EvidenceOut), required=True)
    overdue_receivable_fen = overdue.field()


OpportunityPage = page_of(OpportunityOut, "OpportunityPage")


class TransitionOut(ma.Schema):
    id = fields.Integer(required=True)
    from_stage = fields.Nested(StageRef, allow_none=True)
    to_stage = fields.Nested(StageRef, required=True)
    actor_id = fields.Integer(required=True)
    touchpoint_id = fields.Integer(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    checklist_complete = fields.Boolean(required=True)
    override_reason = fields.String(allow_none=True)


class HistoryOut(ma.Schema):
    items = fields.List(fields.Nested(TransitionOut), required=True)


class UnfreezeIn(ma.Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=REASON_LIMIT),
        metadata={
            "description": "解除冻结的理由：记入审计，并原样通知销售和其主管",
            "example": "客户已签预付款协议，首付30%",
        },
    )


class CreditWaiverOut(ma.Schema):
    id = fields.Integer(required=True)
    amount_fen = fields.Integer(
        required=True, metadata={"description": "总监接受风险的预计金额（分）；金额不变时合同审批不再做信用校验"}
    )
    waived_by_id = fields.Integer(required=True)
    waived_by_name = Text(lambda w: w.waived_by.name, required=True)
    reason = fields.String(required=True)
    frozen_reason = fields.String(allow_none=True, metadata={"description": "冻结时的原因与风险点"})
    waived_at = fields.AwareDateTime(required=True)


class UnfreezeOut(ma.Schema):
    opportunity = fields.Nested(OpportunityOut, required=True)
    waiver = fields.Nested(CreditWaiverOut, required=True)
    notified = fields.List(fields.String(), required=True, metadata={"description": "已通过企业微信通知的人"})
    message = fields.String(required=True, metadata={"description": "给操作者看的中文结果说明"})


UNFREEZE_DESCRIPTION = (
    "大单信用校验未通过时商机审批被冻结。只有销售总监或管理员可以解除，且必须填写理由。"
    "解除后：冻结预警关闭，操作记入审计（谁、何时、理由、渠道），销售及其主管收到企业微信通知；"
    "商机按当前预计金额重新提交合同审批时不再向财务系统校验（总监已接受该风险），"
    "若预计金额发生变化，则再次提交时重新校验，可能再次冻结。"
)


class OpportunityQuery(PageArgs):
    status = Code(OpportunityStatus)
    stage = fields.String(validate=validate.Length(max=40), metadata={"description": "阶段编码或名称"})
    customer_id = fields.Integer(validate=DB_ID)
    product_line = fields.String(validate=validate.Length(max=100))


class OpportunityIn(FormTimes):
    touchpoint_id = fields.Integer(required=True, validate=DB_ID)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    product_line = fields.String(required=True, validate=validate.Length(min=1, max=100))
    expected_amount_fen = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_AMOUNT_FEN, error="预计成交金额须大于 0 且不超过 1 万亿元"),
        metadata={"description": "预计成交金额（分）：58 万元写 58000000", "example": 58000000},
    )


class EvidenceIn(ma.Schema):
    checklist_item_id = fields.Integer(required=True, validate=DB_ID)
    text = fields.String(allow_none=True, validate=validate.Length(max=2000))
    attachment_id = fields.Integer(allow_none=True, validate=DB_ID, metadata={"description": "先上传附件得到的 id"})
    checked = fields.Boolean(load_default=False)


class AdvanceIn(FormTimes):
    to_stage = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "目标阶段编码或名称，如 方案演示"},
    )
    touchpoint_id = fields.Integer(allow_none=True, validate=DB_ID)
    evidence = fields.List(fields.Nested(EvidenceIn), load_default=list, validate=validate.Length(max=50))
    override_reason = fields.String(
        allow_none=True,
        validate=validate.Length(max=500),
        metadata={"description": "主管及以上跳过目标阶段检查清单时的理由"},
    )
    override_reasons = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=40)),
        values=fields.String(validate=validate.Length(max=500)),
        load_default=dict,
        validate=validate.Length(max=20),
        metadata={
            "description": "一次跨越多个阶段时，主管及以上为每个途经阶段跳过检查清单的理由（键为阶段编码或名称）",
            "example": {"需求确认": "客户口头确认，纪要后补", "方案演示": "线上演示已完成，PPT 后补"},
        },
    )


@bp.route("/opportunities", methods=["GET"])
@bp.arguments(OpportunityQuery, location="query")
@bp.response(200, OpportunityPage)
@bp.doc(tags=TAGS, summary="我可见的商机")
def list_opportunities(args: dict[str, Any]) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    query = (
        select(Opportunity)
        .where(Opportunity.deleted_at.is_(None), owned_by_visible(session, actor, Opportunity.owner_id))
        .order_by(Opportunity.last_follow_up_at.desc(), Opportunity.id.desc())
    )
    if args.get("status") is not None:
        query = query.where(Opportunity.status == args["status"])
    if args.get("customer_id") is not None:
        query = query.where(Opportunity.customer_id == args["customer_id"])
    if args.get("product_line"):
        query = query.where(Opportunity.product_line == args["product_line"])
    if args.get("stage"):
        stage_ids = select(Stage.id).where((Stage.code == args["stage"]) | (Stage.name == args["stage"]))
        query = query.where(Opportunity.stage_id.in_(stage_ids))
    page = paginate(query, args)
    overdue.annotate(page["items"])
    return page


@bp.route("/opportunities", methods=["POST"])
@bp.arguments(OpportunityIn)
@bp.response(201, OpportunityOut)
@bp.doc(tags=TAGS, summary="从触点创建商机")
def create_opportunity(body: dict[str, Any]) -> Opportunity:
    session, actor = db_session(), current_actor()
    opp = create_from_touchpoint(
        session,
        actor,
        touchpoint_id=body["touchpoint_id"],
        title=body["title"],
        product_line=body["product_line"],
        expected_amount_fen=body["expected_amount_fen"],
    )
    record_form_entry(
        session,
        actor,
        form="opportunity",
        subject_type="opportunity",
        subject_id=opp.id,
        opened=body.get("form_opened_at"),
        submitted=body.get("submitted_at"),
    )
    commit()
    return opp


@bp.route(f"/opportunities/<{ID}:opportunity_id>", methods=["GET"])
@bp.response(200, OpportunityOut)
@bp.doc(tags=TAGS, summary="商机详情（含已提交的检查清单材料）")
def read_opportunity(opportunity_id: int) -> Opportunity:
    return opportunity_for(db_session(), current_actor(), opportunity_id)


@bp.route(f"/opportunities/<{ID}:opportunity_id>/advance", methods=["POST"])
@bp.arguments(AdvanceIn)
@bp.response(200, OpportunityOut)
@bp.alt_response(
    422,
    schema=ErrorOut,
    description="检查清单未完成：missing 列出缺少的项目，stages 按途经阶段逐一列出；文件类检查项只勾选也会被拒绝",
)
@bp.doc(
    tags=TAGS,
    summary="推进阶段（附检查清单材料）；跨越多个阶段时，每个途经阶段的检查清单都要齐全",
    description=(
        "一次可以前进多个阶段，但途经的每个阶段的检查清单都要在同一请求中补齐（evidence 可包含途经阶段的检查项）；"
        "文件类检查项必须附上已上传的附件（图片、PDF 或 PPT）。主管及以上可为缺项的阶段填写跳过理由"
        "（目标阶段用 override_reason，途经阶段用 override_reasons），该次推进计为不合规。"
        "途经或进入样品测试会开启跨部门协同单；途经或进入合同审批及之后的阶段会执行大单信用校验。"
    ),
)
def advance(body: dict[str, Any], opportunity_id: int) -> Opportunity:
    session, actor = db_session(), current_actor()
    evidence = {
        e["checklist_item_id"]: Evidence(text=e.get("text"), attachment_id=e.get("attachment_id"), checked=e["checked"])
        for e in body["evidence"]
    }
    transition = advance_stage(
        session,
        actor,
        opportunity_id=opportunity_id,
        to_stage=body["to_stage"],
        touchpoint_id=body.get("touchpoint_id"),
        evidence=evidence,
        override_reason=body.get("override_reason"),
        override_reasons=body["override_reasons"],
    )
    record_form_entry(
        session,
        actor,
        form="stage_advance",
        subject_type="stage_transition",
        subject_id=transition.id,
        opened=body.get("form_opened_at"),
        submitted=body.get("submitted_at"),
    )
    commit()
    return opportunity_for(session, actor, opportunity_id)


@bp.route(f"/opportunities/<{ID}:opportunity_id>/history", methods=["GET"])
@bp.response(200, HistoryOut)
@bp.doc(tags=TAGS, summary="阶段变更历史（谁、何时、从哪到哪）")
def history(opportunity_id: int) -> dict[str, list[StageTransition]]:
    opp = opportunity_for(db_session(), current_actor(), opportunity_id)
    return {"items": opp.history}


@bp.route(f"/opportunities/<{ID}:opportunity_id>/unfreeze", methods=["POST"])
@bp.arguments(UnfreezeIn, example={"reason": "客户已签预付款协议，首付30%"})
@bp.response(200, UnfreezeOut)
@bp.alt_response(400, schema=ErrorOut, description="理由为空白")
@bp.alt_response(403, schema=ErrorOut, description="不是销售总监或管理员")
@bp.alt_response(404, schema=ErrorOut, description="商机不存在或无权查看")
@bp.alt_response(409, schema=ErrorOut, description="该商机的审批未被冻结（可能已被解除）")
@bp.doc(tags=TAGS, summary="解除审批冻结（销售总监或管理员，须填写理由）", description=UNFREEZE_DESCRIPTION)
def unfreeze(body: dict[str, Any], opportunity_id: int) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    lifted = lift_freeze(session, actor, opportunity_id=opportunity_id, reason=body["reason"], channel="api")
    commit()
    return {
        "opportunity": opportunity_for(session, actor, opportunity_id),
        "waiver": lifted.waiver,
        "notified": [user.name for user in lifted.told],
        "message": lifted.summary(),
    }
