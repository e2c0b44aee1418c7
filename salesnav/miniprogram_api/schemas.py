"""Schemas every resource shares: errors, pagination, times, Chinese labels."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar

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


class Codes:
    """A closed set of codes with their Chinese labels, for values that are not a stored enum
    (a todo's source, a diagnosis finding's area): `Codes({"task": "待办", ...})`."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = dict(labels)

    def codes(self) -> list[str]:
        return list(self.labels)

    def label(self, code: str) -> str:
        return self.labels[code]

    def code_for(self, text: str) -> str | None:
        text = text.strip()
        for code, label in self.labels.items():
            if text in (code, label):
                return code
        return None


def _pairs(source: type[LabelledEnum] | Codes) -> list[tuple[str, str]]:
    if isinstance(source, Codes):
        return list(source.labels.items())
    return [(m.value, m.label) for m in source]


def codes_text(source: type[LabelledEnum] | Codes) -> str:
    """`visit（面访）、phone（电话）`: the codes with their labels, for descriptions and error messages."""
    return "、".join(f"{code}（{label}）" for code, label in _pairs(source))


class Code(fields.String):
    """An enum on the wire as its stable English code (`visit`), documented with every code's Chinese label.

    Output schemas decorated with `@with_labels` carry the label alongside as `<field>_label`. Input takes the
    code; the Chinese label is still understood (a request typed by hand), but the code is the contract."""

    def __init__(self, source: type[LabelledEnum] | Codes, **kwargs: Any) -> None:
        self.source = source
        metadata = kwargs.setdefault("metadata", {})
        metadata["enum"] = [code for code, _ in _pairs(source)]
        summary = "编码：" + codes_text(source)
        metadata["description"] = f"{metadata['description']}。{summary}" if metadata.get("description") else summary
        super().__init__(**kwargs)

    def label_of(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, LabelledEnum):
            return value.label
        if isinstance(self.source, Codes):
            return self.source.labels.get(str(value), str(value))
        member = self.source.from_label(str(value))
        return member.label if member else str(value)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, LabelledEnum):
            return value.value
        # A use case that hands over a label (a voice draft's 积极) still goes out as the code.
        if isinstance(self.source, Codes):
            return self.source.code_for(str(value)) or str(value)
        member = self.source.from_label(str(value))
        return member.value if member else str(value)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        found: Any = self.source.code_for(text) if isinstance(self.source, Codes) else self.source.from_label(text)
        if found is None:
            raise ma.ValidationError("只能是：" + codes_text(self.source))
        return found


SchemaT = TypeVar("SchemaT", bound=type[ma.Schema])


def with_labels(schema: SchemaT) -> SchemaT:
    """Give every `Code` field of an output schema a `<field>_label` sibling: the code is for programs, the
    label for people, and a client never keeps its own copy of the Chinese names."""
    for name, field in list(schema._declared_fields.items()):
        if not isinstance(field, Code) or f"{name}_label" in schema._declared_fields:
            continue
        attribute = field.attribute or name

        def label(obj: Any, _field: Code = field, _attribute: str = attribute) -> str | None:
            value = obj.get(_attribute) if isinstance(obj, dict) else getattr(obj, _attribute, None)
            return _field.label_of(value)

        schema._declared_fields[f"{name}_label"] = Text(
            label,
            required=field.required,
            allow_none=field.allow_none,
            metadata={"description": f"{name} 的中文名", "example": _pairs(field.source)[0][1]},
        )
    return schema


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
