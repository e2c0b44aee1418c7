"""Contacts: correct one (name, title, phone, decision-chain role) on a customer the caller may see."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from salesnav.handlers.customers import update_contact
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.customers import ContactOut
from salesnav.miniprogram_api.schemas import Code, ErrorOut
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import Contact, DecisionRole


class ContactPatch(ma.Schema):
    name = fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "姓名", "example": "李建国"}
    )
    title = fields.String(
        allow_none=True, validate=validate.Length(max=100), metadata={"description": "职务", "example": "设备科主任"}
    )
    phone = fields.String(
        allow_none=True, validate=validate.Length(max=32), metadata={"description": "手机号", "example": "13800138000"}
    )
    decision_role = Code(
        DecisionRole, allow_none=True, metadata={"description": "决策链角色；null 清空", "example": "purchaser"}
    )


@bp.route(f"/contacts/<{ID}:contact_id>", methods=["PATCH"])
@bp.arguments(ContactPatch, example={"decision_role": "veto"})
@bp.response(200, ContactOut)
@bp.alt_response(401, schema=ErrorOut, description="未登录或令牌已过期")
@bp.alt_response(403, schema=ErrorOut, description="账号未开通")
@bp.alt_response(404, schema=ErrorOut, description="联系人不存在或不在您可见的客户下")
@bp.alt_response(422, schema=ErrorOut, description="字段不合规（如角色不在可选范围）")
@bp.doc(tags=["客户"], summary="修改联系人（含决策链角色；人工设定后不再标为推测）")
def patch_contact(body: dict[str, Any], contact_id: int) -> Contact:
    contact = update_contact(db_session(), current_actor(), contact_id=contact_id, **body)
    commit()
    return contact
