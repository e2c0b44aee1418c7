"""回款: a won deal's contract and instalment plan, payments against it, and the collections book (ageing)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from salesnav.handlers import collections_book, contracts
from salesnav.handlers.collections_book import Book
from salesnav.handlers.contracts import ContractView, PlannedInstalment
from salesnav.handlers.money import MAX_AMOUNT_FEN
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.schemas import BusinessDate, BusinessDateTime, ErrorOut
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import OpportunityStatus

TAGS = ["回款"]
DB_ID = validate.Range(min=1, max=2**53)


def _fen(what: str, example: int) -> fields.Integer:
    """An amount in fen, more than nothing and less than a trillion yuan."""
    return fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_AMOUNT_FEN, error=f"{what}必须大于 0，且不超过 1 万亿元"),
        metadata={"description": f"{what}（分）：30 万元写 30000000", "example": example},
    )


class InstalmentOut(ma.Schema):
    receivable_id = fields.Integer(required=True)
    instalment_no = fields.Integer(required=True, metadata={"description": "第几期"})
    amount_fen = fields.Integer(required=True)
    due_date = fields.Date(required=True)
    paid_fen = fields.Integer(required=True)
    outstanding_fen = fields.Integer(required=True)
    days_overdue = fields.Integer(required=True, metadata={"description": "逾期天数；未到期或已回款为 0"})
    status = fields.String(required=True, metadata={"description": "已回款、部分回款、未到期 或 逾期 N 天"})


class ContractBody(ma.Schema):
    id = fields.Integer(required=True, attribute="contract_id")
    contract_no = fields.String(allow_none=True)
    amount_fen = fields.Integer(required=True)
    signed_on = fields.Date(required=True)
    ends_on = fields.Date(
        required=True, allow_none=True, metadata={"description": "合同到期日（服务的最后一天）；未填为 null"}
    )
    term_ends_on = fields.Date(
        required=True,
        metadata={
            "description": "客户何时进入「老客户续费前3个月」（及以它为进入条件的客户旅程）按此日计算："
            "填了到期日即到期日，未填则按签约后的默认合同期估算"
        },
    )
    paid_fen = fields.Integer(required=True)
    outstanding_fen = fields.Integer(required=True)
    overdue_fen = fields.Integer(required=True)
    instalments = fields.List(fields.Nested(InstalmentOut), required=True)


class ContractOut(ma.Schema):
    opportunity_id = fields.Integer(required=True)
    won = fields.Boolean(required=True, metadata={"description": "商机已赢单：可以录入合同和回款计划"})
    contract = fields.Nested(ContractBody, allow_none=True, required=True, metadata={"description": "未录入时为 null"})


class InstalmentIn(ma.Schema):
    amount_fen = _fen("每期金额", 30_000_000)
    due_date = BusinessDate(required=True)


class ContractIn(ma.Schema):
    contract_no = fields.String(allow_none=True, validate=validate.Length(max=64))
    amount_fen = _fen("合同金额", 100_000_000)
    signed_on = BusinessDate(required=True)
    ends_on = BusinessDate(
        allow_none=True,
        metadata={
            "description": "合同到期日（服务的最后一天），须晚于签约日；null 清除；不传则保持原值。"
            "客户何时进入「老客户续费前3个月」（及以它为进入条件的客户旅程）按它计算"
        },
    )
    instalments = fields.List(fields.Nested(InstalmentIn), required=True, validate=validate.Length(min=1, max=36))


class PaymentIn(ma.Schema):
    amount_fen = _fen("回款金额", 30_000_000)
    paid_at = BusinessDateTime(load_default=None, allow_none=True, metadata={"description": "回款时间，默认现在"})


class BucketOut(ma.Schema):
    label = fields.String(required=True, metadata={"description": "未到期、1–30 天、31–60 天、61–90 天、90 天以上"})
    count = fields.Integer(required=True)
    outstanding_fen = fields.Integer(required=True)


class BookRowOut(ma.Schema):
    receivable_id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    customer_name = fields.String(required=True)
    owner_id = fields.Integer(required=True)
    owner_name = fields.String(required=True)
    opportunity_id = fields.Integer(allow_none=True)
    opportunity_title = fields.String(allow_none=True)
    what = fields.String(required=True, metadata={"description": "第 N 期（合同号）或 发票号"})
    amount_fen = fields.Integer(required=True)
    paid_fen = fields.Integer(required=True)
    outstanding_fen = fields.Integer(required=True)
    due_date = fields.Date(required=True)
    days_overdue = fields.Integer(required=True)
    bucket = fields.String(required=True)


class CollectionsOut(ma.Schema):
    today = fields.Date(required=True)
    outstanding_fen = fields.Integer(required=True)
    overdue_fen = fields.Integer(required=True)
    buckets = fields.List(fields.Nested(BucketOut), required=True)
    items = fields.List(fields.Nested(BookRowOut), required=True, attribute="rows")
    truncated = fields.Boolean(required=True)
    on_time_rate = fields.Float(
        allow_none=True, required=True, metadata={"description": "按时回款率（0–1），同信用校验"}
    )
    on_time_receivables = fields.Integer(
        allow_none=True, required=True, metadata={"description": "窗口内到期的应收笔数"}
    )
    on_time_late = fields.Integer(allow_none=True, required=True, metadata={"description": "其中逾期的笔数"})
    on_time_source = fields.String(
        allow_none=True, required=True, metadata={"description": "finance_system 或 receivables"}
    )
    on_time_note = fields.String(allow_none=True, required=True, metadata={"description": "未给出按时回款率时的说明"})
    window_months = fields.Integer(required=True)


class CollectionsQuery(ma.Schema):
    customer_id = fields.Integer(validate=DB_ID, metadata={"description": "只看一个客户（含按时回款率，同信用校验）"})


def _contract_out(opportunity_id: int, won: bool, view: ContractView | None) -> dict[str, Any]:
    return {"opportunity_id": opportunity_id, "won": won, "contract": view}


def book_out(book: Book) -> dict[str, Any]:
    history = book.on_time
    return {
        "today": book.today,
        "outstanding_fen": book.outstanding_fen,
        "overdue_fen": book.overdue_fen,
        "buckets": book.buckets,
        "rows": book.rows,
        "truncated": book.truncated,
        "on_time_rate": history.on_time_rate if history else None,
        "on_time_receivables": history.receivables if history else None,
        "on_time_late": len(history.late) if history else None,
        "on_time_source": history.source if history else None,
        "on_time_note": book.on_time_note,
        "window_months": book.window_months,
    }


@bp.route(f"/opportunities/<{ID}:opportunity_id>/contract", methods=["GET"])
@bp.response(200, ContractOut)
@bp.alt_response(404, schema=ErrorOut, description="商机不存在或无权查看")
@bp.doc(tags=TAGS, summary="商机的合同与回款计划（各期应收、已回款、逾期）")
def read_contract(opportunity_id: int) -> dict[str, Any]:
    opp, view = contracts.contract_for_deal(db_session(), current_actor(), opportunity_id)
    return _contract_out(opp.id, opp.status is OpportunityStatus.WON, view)


@bp.route(f"/opportunities/<{ID}:opportunity_id>/contract", methods=["PUT"])
@bp.arguments(
    ContractIn,
    example={
        "contract_no": "HT-2026-018",
        "amount_fen": 100_000_000,
        "signed_on": "2026-03-02",
        "ends_on": "2027-03-01",
        "instalments": [
            {"amount_fen": 30_000_000, "due_date": "2026-03-31"},
            {"amount_fen": 60_000_000, "due_date": "2026-09-30"},
            {"amount_fen": 10_000_000, "due_date": "2027-03-31"},
        ],
    },
)
@bp.response(200, ContractOut)
@bp.alt_response(400, schema=ErrorOut, description="各期合计与合同金额不符、到期日早于签约日、商机未赢单等")
@bp.alt_response(404, schema=ErrorOut, description="商机不存在或无权查看")
@bp.doc(
    tags=TAGS,
    summary="录入或修改赢单商机的合同和回款计划",
    description="每一期生成一笔应收款（到期前提醒销售，逾期提醒销售并向主管预警）。已有回款的一期金额不能改得比已回款少；期数只能增加。"
    "合同到期日（ends_on）决定客户何时进入「老客户续费前3个月」。",
)
def save_contract(body: dict[str, Any], opportunity_id: int) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    plan = [PlannedInstalment(i["amount_fen"], i["due_date"]) for i in body["instalments"]]
    contracts.save_contract(
        session,
        actor,
        opportunity_id,
        amount_fen=body["amount_fen"],
        signed_on=body["signed_on"],
        plan=plan,
        contract_no=body.get("contract_no"),
        ends_on=body["ends_on"] if "ends_on" in body else contracts.KEEP,
    )
    commit()
    opp, view = contracts.contract_for_deal(session, actor, opportunity_id)
    return _contract_out(opp.id, True, view)


@bp.route(f"/opportunities/<{ID}:opportunity_id>/payments", methods=["POST"])
@bp.arguments(PaymentIn, example={"amount_fen": 30_000_000})
@bp.response(201, ContractOut)
@bp.alt_response(400, schema=ErrorOut, description="金额超过未回款合计，或没有未回款的应收款")
@bp.alt_response(404, schema=ErrorOut, description="商机不存在或无权查看")
@bp.doc(tags=TAGS, summary="登记一笔回款：先冲抵到期最早的未回款一期，多出的冲抵下一期")
def record_payment(body: dict[str, Any], opportunity_id: int) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    contracts.record_payment(
        session,
        actor,
        opportunity_id=opportunity_id,
        amount_fen=body["amount_fen"],
        paid_at=body.get("paid_at"),
    )
    commit()
    opp, view = contracts.contract_for_deal(session, actor, opportunity_id)
    return _contract_out(opp.id, opp.status is OpportunityStatus.WON, view)


@bp.route("/collections", methods=["GET"])
@bp.arguments(CollectionsQuery, location="query")
@bp.response(200, CollectionsOut)
@bp.alt_response(404, schema=ErrorOut, description="客户不存在或无权查看")
@bp.doc(
    tags=TAGS,
    summary="回款台账：我可见的未回款应收（账龄分段）与按时回款率",
    description="销售看自己的，主管看团队的，总监看全部。按时回款率与大单信用校验同一口径；配置了财务系统时以财务系统为准。",
)
def collections(args: dict[str, Any]) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    if args.get("customer_id") is not None:
        _, book = collections_book.customer_book(session, actor, args["customer_id"])
    else:
        book = collections_book.team_book(session, actor)
    return book_out(book)
