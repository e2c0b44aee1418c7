"""A customer's journeys (issue 20) as the customer's detail and its 诊断 carry them: which journeys the customer
is in, at which step, by when, and the ones they finished lately (salesnav/handlers/journeys/stats.py)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from salesnav.handlers.journeys.stats import CustomerJourney, describe_customer_journey
from salesnav.miniprogram_api.schemas import Code, Text, with_labels
from salesnav.models import EnrollmentState, StepRunState


@with_labels
class CustomerJourneyOut(ma.Schema):
    journey_id = fields.Integer(required=True, metadata={"description": "客户旅程的编号"})
    journey_name = fields.String(
        required=True, metadata={"description": "客户旅程的名称", "example": "白皮书下载后三部门联动"}
    )
    state = Code(EnrollmentState, required=True, metadata={"description": "客户在这个旅程中的状态"})
    entered_at = fields.AwareDateTime(required=True, metadata={"description": "进入旅程的时间"})
    step_key = fields.String(allow_none=True, metadata={"description": "当前所在步骤的代码；旅程已结束时为空"})
    step_title = fields.String(
        allow_none=True, metadata={"description": "当前所在步骤的名称", "example": "市场部预约区域技术顾问线上演示"}
    )
    step_state = Code(StepRunState, allow_none=True, metadata={"description": "当前步骤的进度"})
    due_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "未完成步骤中最近的完成时限；没有时限时为空"}
    )
    due_step_title = fields.String(
        allow_none=True, metadata={"description": "这个完成时限所属的步骤（可能不是当前步骤，如仍未完成的待办）"}
    )
    overdue = fields.Boolean(required=True, metadata={"description": "是否有未完成的步骤已超过完成时限"})
    ended_at = fields.AwareDateTime(allow_none=True, metadata={"description": "完成或退出旅程的时间"})
    exit_reason = fields.String(allow_none=True, metadata={"description": "中途退出的原因"})
    summary = Text(
        describe_customer_journey,
        required=True,
        metadata={
            "description": "一句话说明客户在这个旅程中走到了哪一步",
            "example": "「白皮书下载后三部门联动」当前步骤「市场部预约线上演示」 · 进行中，截止 2026-12-08 10:00",
        },
    )


ATTR = "_journeys"  # where a customer read alone carries its journeys for the answer


def journeys_field(attribute: str | None = None) -> fields.List:
    """The journeys of a customer: from the answer's own `journeys` (a diagnosis), or `attribute` (a customer)."""
    return fields.List(
        fields.Nested(CustomerJourneyOut),
        required=True,
        attribute=attribute,
        metadata={"description": "客户所在的客户旅程（进行中的在前），及最近走完的旅程"},
    )


__all__ = ["ATTR", "CustomerJourney", "CustomerJourneyOut", "journeys_field"]
