"""Materials (素材): the reusable content library, filtered by product line, stage and customer type."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import or_, select

from salesnav import clock
from salesnav.handlers.radar import share_link
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.listing import paginate
from salesnav.miniprogram_api.schemas import PageArgs, page_of
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import Material, Stage

TAGS = ["素材"]


class MaterialOut(ma.Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    description = fields.String(allow_none=True)
    product_line = fields.String(allow_none=True)
    stage_code = fields.String(allow_none=True)
    customer_kind = fields.String(allow_none=True)
    tags = fields.List(fields.String(), required=True)
    attachment_id = fields.Integer(allow_none=True)
    url = fields.String(allow_none=True)
    published_at = fields.AwareDateTime(required=True)


MaterialPage = page_of(MaterialOut, "MaterialPage")


class MaterialQuery(PageArgs):
    product_line = fields.String(validate=validate.Length(max=100))
    stage = fields.String(validate=validate.Length(max=40), metadata={"description": "阶段编码或名称"})
    customer_kind = fields.String(validate=validate.Length(max=40))
    q = fields.String(validate=validate.Length(max=100))


@bp.route("/materials", methods=["GET"])
@bp.arguments(MaterialQuery, location="query")
@bp.response(200, MaterialPage)
@bp.doc(tags=TAGS, summary="素材库（已发布、未下架）")
def list_materials(args: dict[str, Any]) -> dict[str, Any]:
    query = select(Material).where(
        Material.deleted_at.is_(None), Material.retired_at.is_(None), Material.published_at <= clock.now()
    )
    if args.get("product_line"):
        # Material without a product line is general and fits every line.
        query = query.where(or_(Material.product_line == args["product_line"], Material.product_line.is_(None)))
    if args.get("stage"):
        codes = select(Stage.code).where((Stage.code == args["stage"]) | (Stage.name == args["stage"]))
        query = query.where(or_(Material.stage_code.in_(codes), Material.stage_code.is_(None)))
    if args.get("customer_kind"):
        query = query.where(or_(Material.customer_kind == args["customer_kind"], Material.customer_kind.is_(None)))
    if q := (args.get("q") or "").strip():
        query = query.where(Material.title.contains(q, autoescape=True))
    return paginate(query.order_by(Material.published_at.desc(), Material.id.desc()), args)


class MaterialLinkIn(ma.Schema):
    customer_id = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=2**53),
        metadata={"description": "收到资料的客户", "example": 12},
    )
    contact_id = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=2**53),
        metadata={"description": "收到资料的联系人（该客户的联系人）；不填则只知道是哪个客户", "example": 34},
    )
    external_userid = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "企业微信外部联系人 ID；不传 contact_id 时按它找该客户的联系人", "example": "wmXXXX"},
    )


class MaterialLinkOut(ma.Schema):
    url = fields.String(
        required=True,
        metadata={
            "description": "发给客户的雷达链接：打开、阅读时长和下载都会记录并在企业微信通知您",
            "example": "https://salesnav.example.com/r/eyJtIjo3LCJjIjoxMn0.abc",
        },
    )
    material_id = fields.Integer(required=True, metadata={"example": 7})
    material_title = fields.String(required=True, metadata={"example": "AI影像辅助诊断白皮书"})
    customer_id = fields.Integer(required=True, metadata={"example": 12})
    customer_name = fields.String(required=True, metadata={"example": "北京协和医院"})
    contact_id = fields.Integer(allow_none=True, metadata={"example": 34})
    contact_name = fields.String(allow_none=True, metadata={"example": "李明"})
    expires_at = fields.AwareDateTime(required=True, metadata={"description": "链接失效时间（30 天）"})


@bp.route(f"/materials/<{ID}:material_id>/links", methods=["POST"])
@bp.arguments(MaterialLinkIn)
@bp.response(201, MaterialLinkOut)
@bp.doc(tags=TAGS, summary="生成发给客户的资料雷达链接")
def create_material_link(body: dict[str, Any], material_id: int) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    link = share_link(
        session,
        actor,
        material_id,
        body["customer_id"],
        contact_id=body.get("contact_id"),
        external_userid=body.get("external_userid"),
    )
    commit()
    return {
        "url": link.url,
        "material_id": link.material.id,
        "material_title": link.material.title,
        "customer_id": link.customer.id,
        "customer_name": link.customer.name,
        "contact_id": link.contact.id if link.contact else None,
        "contact_name": link.contact.name if link.contact else None,
        "expires_at": link.expires_at,
    }
