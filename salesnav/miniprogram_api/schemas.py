"""Schemas every resource shares: errors, pagination, times, Chinese labels."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import marshmallow as ma
from flask import current_app, has_app_context
from marshmallow import fields, validate

from salesnav.models.base import LabelledEnum
from salesnav.models.record_dates import DAY_OUT_OF_RANGE, TIME_OUT_OF_RANGE, day_in_range, time_in_range

MAX_PER_PAGE = 100


class ErrorOut(ma.Schema):
    """Every error: a stable code, a message in Chinese, and details such as `missing` or `fields`."""

    error = fields.String(required=True, metadata={"description": "稳定的错误码，如 not_found、validation"})
    message = fields.String(required=True, metadata={"description": "给用户看的中文说明"})
    missing = fields.List(fields.String(), metadata={"description": "检查清单缺失项（推进被拒时）"})
    stages = fields.List(
        fields.Dict(),
        metadata={
            "description": '按阶段列出的缺失项（推进被拒时），如 [{"stage": "需求确认", "missing": ["客户需求记录"]}]'
        },
    )
    fields_ = fields.Dict(data_key="fields", metadata={"description": "各字段的校验错误"})


class BusinessDateTime(fields.AwareDateTime):
    """ISO 8601; a time without an offset is read in the business time zone (the phone's local time)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        if has_app_context():
            self.default_timezone = current_app.config["SALESNAV"].business_tz
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not time_in_range(moment):
            raise ma.ValidationError(TIME_OUT_OF_RANGE)
        return moment


class BusinessDate(fields.Date):
    """A calendar day within the years any record can have (a week around year 9999 cannot be computed)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        day = super()._deserialize(value, attr, data, **kwargs)
        if not day_in_range(day):
            raise ma.ValidationError(DAY_OUT_OF_RANGE)
        return day


class Label(fields.String):
    """A LabelledEnum on the wire: accepts the value or the Chinese label, dumps the label."""

    def __init__(self, enum_cls: type[LabelledEnum], **kwargs: Any) -> None:
        self.enum_cls = enum_cls
        kwargs.setdefault("metadata", {})["enum"] = [m.label for m in enum_cls] + [m.value for m in enum_cls]
        super().__init__(**kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.label

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        member = self.enum_cls.from_label(text)
        if member is None:
            raise ma.ValidationError("只能是：" + "、".join(m.label for m in self.enum_cls))
        return member


class FormTimes(ma.Schema):
    """Item 7: the client's form-open and submit times, so entry time per record becomes a metric."""

    form_opened_at = BusinessDateTime(load_default=None, allow_none=True, metadata={"description": "表单打开时间"})
    submitted_at = BusinessDateTime(load_default=None, allow_none=True, metadata={"description": "客户端提交时间"})


class PageArgs(ma.Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PER_PAGE))


class PageOut(ma.Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)


def page_of(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page envelope {"items": [...], "page", "per_page", "total"} named for the OpenAPI document."""
    return type(name, (PageOut,), {"items": fields.List(fields.Nested(item_schema), required=True)})


class IdOut(ma.Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class Text(fields.Function):
    """A computed text property (a name looked up through a relation): typed as a string in the document."""


class Number(fields.Function):
    """A computed integer property: typed as an integer in the document."""
