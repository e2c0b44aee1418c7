"""Customers and their contacts: list (by name, phone or pinyin initials), read, file a new one."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from sqlalchemy import select

from salesnav.handlers.customers import add_contact, create_customer, initials, name_matches, normalise_phone
from salesnav.handlers.errors import DomainError
from salesnav.handlers.form_entry import record_form_entry
from salesnav.handlers.journeys.stats import customer_journeys
from salesnav.handlers.scope import customer_for, owned_by_visible
from salesnav.miniprogram_api import overdue
from salesnav.miniprogram_api import tags as tag_api
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.journeys import ATTR as JOURNEYS
from salesnav.miniprogram_api.journeys import journeys_field
from salesnav.miniprogram_api.listing import paginate
from salesnav.miniprogram_api.schemas import Code, FormTimes, PageArgs, page_of, with_labels
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import Contact, Customer, CustomerKind, DecisionRole, Health, LifecycleStage

TAGS = ["客户"]


@with_labels
class ContactOut(ma.Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    name = fields.String(required=True)
    title = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    decision_role = Code(DecisionRole, allow_none=True)


@with_labels
class CustomerOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = Code(CustomerKind, required=True)
    grade = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    tags = fields.List(fields.String(), metadata={"description": "标签名称（同 tag_list 的 label）"})
    tag_list = tag_api.field()
    owner_id = fields.Integer(required=True)
    health = Code(Health, required=True)
    lifecycle = Code(
        LifecycleStage,
        attribute="lifecycle_stage",
        allow_none=True,
        metadata={"description": "生命周期阶段；不在任何阶段时为空"},
    )
    lifecycle_since = fields.AwareDateTime(allow_none=True, metadata={"description": "进入该生命周期阶段的时间"})
    contacts = fields.List(fields.Nested(ContactOut), required=True)
    overdue_receivable_fen = overdue.field()


@with_labels
class CustomerDetailOut(CustomerOut):
    """A customer read alone: what the list carries, and the journeys the customer is in."""

    journeys = journeys_field(JOURNEYS)


CustomerPage = page_of(CustomerOut, "CustomerPage")


class CustomerQuery(PageArgs):
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "名称关键字或拼音首字母，如 rmyy"})
    phone = fields.String(validate=validate.Length(max=32), metadata={"description": "联系人手机号"})


class ContactIn(ma.Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    title = fields.String(allow_none=True, validate=validate.Length(max=100))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    decision_role = Code(DecisionRole, allow_none=True, metadata={"description": "决策链角色；不知道时不填"})


class CustomerIn(FormTimes):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = Code(CustomerKind, load_default=CustomerKind.HOSPITAL, metadata={"description": "客户类型"})
    grade = fields.String(allow_none=True, validate=validate.Length(max=20))
    region = fields.String(allow_none=True, validate=validate.Length(max=50))
    tags = fields.List(
        fields.String(validate=validate.Length(max=20)),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "标签名称，如展会名；还没有的名称成为新的手动标签"},
    )
    contacts = fields.List(fields.Nested(ContactIn), load_default=list, validate=validate.Length(max=20))


@bp.route("/customers", methods=["GET"])
@bp.arguments(CustomerQuery, location="query")
@bp.response(200, CustomerPage)
@bp.doc(tags=TAGS, summary="我可见的客户（按名称、手机号或拼音首字母搜索）")
def list_customers(args: dict[str, Any]) -> dict[str, Any]:
    session, actor = db_session(), current_actor()
    query = (
        select(Customer)
        .where(Customer.deleted_at.is_(None), owned_by_visible(session, actor, Customer.owner_id))
        .order_by(Customer.name, Customer.id)
    )
    if q := (args.get("q") or "").strip():
        query = query.where(name_matches(session, query, q))
    if phone := (args.get("phone") or "").strip():
        digits = "".join(ch for ch in phone if ch.isdigit())
        if not digits:
            raise DomainError("手机号格式不正确")
        # Phones are stored in E.164; the rep may type the last digits only.
        query = query.where(
            Customer.id.in_(
                select(Contact.customer_id).where(Contact.deleted_at.is_(None), Contact.phone.contains(digits))
            )
        )
    page = paginate(query, args)
    overdue.annotate(page["items"])
    tag_api.annotate(page["items"])
    return page


@bp.route(f"/customers/<{ID}:customer_id>", methods=["GET"])
@bp.response(200, CustomerDetailOut)
@bp.doc(tags=TAGS, summary="客户详情（含联系人与所在的客户旅程）")
def read_customer(customer_id: int) -> Customer:
    session = db_session()
    customer = customer_for(session, current_actor(), customer_id)
    setattr(customer, JOURNEYS, customer_journeys(session, customer.id))  # read by the answer, never stored
    return customer


@bp.route("/customers", methods=["POST"])
@bp.arguments(CustomerIn)
@bp.response(201, CustomerOut)
@bp.doc(tags=TAGS, summary="新建客户（如展会线索），可同时添加联系人")
def file_customer(body: dict[str, Any]) -> Customer:
    session, actor = db_session(), current_actor()
    customer = create_customer(
        session,
        actor,
        name=body["name"],
        kind=body["kind"],
        grade=body.get("grade"),
        region=body.get("region"),
        tags=body["tags"],
    )
    for contact in body["contacts"]:
        add_contact(session, actor, customer_id=customer.id, **contact)
    record_form_entry(
        session,
        actor,
        form="customer",
        subject_type="customer",
        subject_id=customer.id,
        opened=body.get("form_opened_at"),
        submitted=body.get("submitted_at"),
    )
    commit()
    session.refresh(customer)
    return customer


@bp.route(f"/customers/<{ID}:customer_id>/contacts", methods=["POST"])
@bp.arguments(ContactIn)
@bp.response(201, ContactOut)
@bp.doc(tags=TAGS, summary="为客户添加联系人")
def create_contact(body: dict[str, Any], customer_id: int) -> Contact:
    contact = add_contact(db_session(), current_actor(), customer_id=customer_id, **body)
    commit()
    return contact


__all__ = ["initials", "normalise_phone"]
