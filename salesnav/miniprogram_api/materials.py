"""Materials (素材): the reusable content library, filtered by product line, stage and customer type."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import or_, select

from salesnav import clock
from salesnav.miniprogram_api.blueprint import bp
from salesnav.miniprogram_api.listing import paginate
from salesnav.miniprogram_api.schemas import PageArgs, page_of
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
