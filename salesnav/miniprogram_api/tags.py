"""Customer tags in the client (salesnav/handlers/tags.py): the tags an admin defined, a manual tag put on or taken
off a customer; and `tag_list` on a customer (the tags it holds, each with its code and label)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from salesnav.handlers import tags
from salesnav.handlers.scope import customer_for
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.schemas import Code, with_labels
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import Customer, TagKind, TagSource

TAGS = ["客户"]
ATTR = "_tag_list"


@with_labels
class HeldTagOut(ma.Schema):
    code = fields.String(required=True, metadata={"description": "标签编码（管理员定义）", "example": "zdkh"})
    label = fields.String(required=True, metadata={"description": "标签名称", "example": "重点客户"})
    kind = Code(TagKind, required=True, metadata={"description": "标签类型"})
    source = Code(TagSource, required=True, metadata={"description": "这个客户的标签从何而来"})
    applied_at = fields.AwareDateTime(required=True, metadata={"description": "加上标签的时间"})


@with_labels
class TagDefinitionOut(ma.Schema):
    code = fields.String(required=True, metadata={"description": "标签编码", "example": "zdkh"})
    label = fields.String(required=True, metadata={"description": "标签名称", "example": "重点客户"})
    kind = Code(TagKind, required=True, metadata={"description": "标签类型；只有手动标签可以由人添加"})
    description = fields.String(allow_none=True)


class TagListOut(ma.Schema):
    items = fields.List(fields.Nested(TagDefinitionOut), required=True)


class TagIn(ma.Schema):
    tag = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "标签编码或名称（手动标签）", "example": "重点客户"},
    )


def annotate(items: Iterable[Customer]) -> None:
    rows = list(items)
    if not rows:
        return
    found = tags.tags_of(db_session(), [r.id for r in rows])
    for row in rows:
        setattr(row, ATTR, found.get(row.id, []))


def _value(obj: Customer) -> list[Any]:
    if ATTR not in obj.__dict__:
        annotate([obj])
    return list(obj.__dict__[ATTR])


class _TagList(fields.List):
    """The customer's tags: annotated for a whole page at once, else looked up on dump."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = ma.missing) -> Any:
        return _value(obj)


def field() -> fields.List:
    return _TagList(
        fields.Nested(HeldTagOut),
        required=True,
        metadata={"description": "客户现在的标签（手动标签与规则计算的标签），每个带编码与名称"},
    )


@bp.route("/tags", methods=["GET"])
@bp.response(200, TagListOut)
@bp.doc(tags=TAGS, summary="管理员定义的客户标签（手动标签可由销售添加，规则标签自动计算）")
def list_tags() -> dict[str, Any]:
    return {"items": tags.definitions(db_session(), active_only=True)}


@bp.route(f"/customers/<{ID}:customer_id>/tags", methods=["POST"])
@bp.arguments(TagIn)
@bp.response(200, HeldTagOut)
@bp.doc(tags=TAGS, summary="给客户加上一个手动标签（已有时原样返回）")
def put_tag(body: dict[str, Any], customer_id: int) -> tags.HeldTag:
    held, _new = tags.apply_tag(db_session(), current_actor(), customer_id=customer_id, tag=body["tag"])
    commit()
    return held


@bp.route(f"/customers/<{ID}:customer_id>/tags/<string(maxlength=40):tag>", methods=["DELETE"])
@bp.response(204)
@bp.doc(tags=TAGS, summary="去掉客户的一个手动标签（本来没有时也成功）")
def take_off_tag(customer_id: int, tag: str) -> None:
    session, actor = db_session(), current_actor()
    customer_for(session, actor, customer_id)
    tags.remove_tag(session, actor, customer_id=customer_id, tag=tag)
    commit()
