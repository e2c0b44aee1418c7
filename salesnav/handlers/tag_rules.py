"""A rule tag's rule: a small typed spec kept as data (tag_definitions.rule), never code.

    {"match": "all", "conditions": [
        {"type": "field", "field": "grade", "op": "in", "value": ["三级甲等", "三甲"]},
        {"type": "event", "kinds": ["material.downloaded"], "within_days": 30, "min_count": 1}]}

A field condition compares one of the customer's fields (`FIELDS`: grade, kind, region, health, the total of its
won deals, days without a touchpoint, its lifecycle stage); an event condition asks for at least `min_count`
customer events of the given kinds in the last `within_days` days. `match` combines them: all, or any.

`holders` turns a rule into one SQL query (the customers holding it now, optionally among some ids): the job
applies exactly what the admin page's preview showed, because both run this.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session

from salesnav.handlers.customer_events import KIND_LABELS, kind_label
from salesnav.handlers.errors import DomainError
from salesnav.models import (
    Customer,
    CustomerEvent,
    CustomerKind,
    Health,
    LifecycleStage,
    Opportunity,
    OpportunityStatus,
    Touchpoint,
)

Op = Literal["eq", "ne", "in", "contains", "gte", "lte"]
OP_LABELS: dict[str, str] = {
    "eq": "等于",
    "ne": "不等于",
    "in": "是其中之一",
    "contains": "包含",
    "gte": "不少于",
    "lte": "不超过",
}


@dataclass(frozen=True)
class FieldSpec:
    label: str
    kind: str  # text, choice, money (fen; shown in 元), number
    choices: tuple[tuple[str, str], ...] = ()  # (code, 中文) of a choice field

    @property
    def ops(self) -> tuple[str, ...]:
        if self.kind in ("money", "number"):
            return ("gte", "lte")
        if self.kind == "choice":
            return ("eq", "ne", "in")
        return ("eq", "ne", "in", "contains")


def _choices(enum: Any) -> tuple[tuple[str, str], ...]:
    return tuple((m.value, m.label) for m in enum)


FIELDS: dict[str, FieldSpec] = {
    "grade": FieldSpec("客户等级", "text"),
    "kind": FieldSpec("客户类型", "choice", _choices(CustomerKind)),
    "region": FieldSpec("地区", "text"),
    "health": FieldSpec("健康度", "choice", _choices(Health)),
    "won_total_fen": FieldSpec("累计赢单金额（元）", "money"),
    "silent_days": FieldSpec("未跟进天数", "number"),
    "lifecycle": FieldSpec("生命周期阶段", "choice", _choices(LifecycleStage)),
}

MAX_CONDITIONS = 8


class FieldCondition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["field"] = "field"
    field: str
    op: Op
    value: str | int | list[str]

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in FIELDS:
            raise ValueError(f"没有名为「{value}」的客户字段")
        return value


class EventCondition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["event"] = "event"
    kinds: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(min_length=1, max_length=10)
    within_days: int = Field(ge=1, le=3650)
    min_count: int = Field(default=1, ge=1, le=10_000)


Condition = Annotated[FieldCondition | EventCondition, Field(discriminator="type")]


class TagRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    match: Literal["all", "any"] = "all"
    conditions: list[Condition] = Field(min_length=1, max_length=MAX_CONDITIONS)


def check_rule(raw: dict[str, Any] | TagRule) -> TagRule:
    """The typed rule, or a Chinese DomainError saying what is wrong (each condition's value is checked
    against its field: a number for amounts and days, a known code for a choice)."""
    if isinstance(raw, TagRule):
        rule = raw
    else:
        try:
            rule = TagRule.model_validate(raw)
        except ValidationError as exc:
            raise DomainError("规则格式不正确：" + _first_error(exc)) from exc
    for n, condition in enumerate(rule.conditions, 1):
        if isinstance(condition, FieldCondition):
            _check_field_condition(n, condition)
        else:
            for kind in condition.kinds:
                if kind not in KIND_LABELS and not kind.startswith("webhook."):
                    raise DomainError(f"第 {n} 个条件：没有「{kind}」这种客户事件")
    return rule


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = str(error.get("msg", ""))
    return message.removeprefix("Value error, ") if "没有" in message else "请检查每个条件是否填写完整"


def _check_field_condition(n: int, c: FieldCondition) -> None:
    spec = FIELDS[c.field]
    if c.op not in spec.ops:
        raise DomainError(f"第 {n} 个条件：「{spec.label}」不能用「{OP_LABELS[c.op]}」比较")
    if spec.kind in ("money", "number"):
        if not isinstance(c.value, int) or isinstance(c.value, bool) or c.value < 0:
            raise DomainError(f"第 {n} 个条件：「{spec.label}」的值必须是不小于 0 的整数")
        return
    values = c.value if isinstance(c.value, list) else [c.value]
    if c.op == "in" and not isinstance(c.value, list):
        raise DomainError(f"第 {n} 个条件：「是其中之一」需要一个或几个值")
    if c.op != "in" and isinstance(c.value, list):
        raise DomainError(f"第 {n} 个条件：「{OP_LABELS[c.op]}」只能填一个值")
    if not values or any(not isinstance(v, str) or not v.strip() for v in values):
        raise DomainError(f"第 {n} 个条件：请填写「{spec.label}」的值")
    if spec.kind == "choice":
        codes = {code for code, _ in spec.choices}
        for v in values:
            if v not in codes:
                allowed = "、".join(label for _, label in spec.choices)
                raise DomainError(f"第 {n} 个条件：「{spec.label}」只能是{allowed}")


def describe(rule: TagRule) -> str:
    """The rule in Chinese: 客户等级 是其中之一 三级甲等、三甲，且 近 30 天 下载了资料 至少 1 次."""
    parts = []
    for c in rule.conditions:
        if isinstance(c, FieldCondition):
            spec = FIELDS[c.field]
            values = c.value if isinstance(c.value, list) else [c.value]
            shown = [_shown_value(spec, v) for v in values]
            parts.append(f"{spec.label} {OP_LABELS[c.op]} {'、'.join(shown)}")
        else:
            kinds = "或".join(kind_label(k) for k in c.kinds)
            parts.append(f"近 {c.within_days} 天{kinds}至少 {c.min_count} 次")
    return ("，且 " if rule.match == "all" else "，或 ").join(parts)


def _shown_value(spec: FieldSpec, value: Any) -> str:
    if spec.kind == "money":
        return f"{int(value) // 100:,}元"
    if spec.kind == "number":
        return f"{value}天" if spec.label.endswith("天数") else str(value)
    labels = dict(spec.choices)
    return labels.get(str(value), str(value))


def _field_clause(c: FieldCondition, now: datetime) -> ColumnElement[bool]:
    if c.field == "won_total_fen":
        won = (
            select(func.coalesce(func.sum(Opportunity.expected_amount_fen), 0))
            .where(
                Opportunity.customer_id == Customer.id,
                Opportunity.status == OpportunityStatus.WON,
                Opportunity.deleted_at.is_(None),
            )
            .scalar_subquery()
        )
        return won >= c.value if c.op == "gte" else won <= c.value
    if c.field == "silent_days":
        days = c.value if isinstance(c.value, int) else 0  # checked: a number
        recent = exists().where(
            Touchpoint.customer_id == Customer.id,
            Touchpoint.deleted_at.is_(None),
            Touchpoint.occurred_at > now - timedelta(days=days),
        )
        # gte N: no touchpoint in the last N days; lte N: one within them.
        return ~recent if c.op == "gte" else recent
    column: Any = {
        "grade": Customer.grade,
        "kind": Customer.kind,
        "region": Customer.region,
        "health": Customer.health,
        "lifecycle": Customer.lifecycle_stage,
    }[c.field]
    enum = {"kind": CustomerKind, "health": Health, "lifecycle": LifecycleStage}.get(c.field)
    raw: list[Any] = list(c.value) if isinstance(c.value, list) else [c.value]
    values: list[Any] = [enum(v) for v in raw] if enum is not None else raw
    if c.op == "in":
        return column.in_(values)
    if c.op == "contains":
        return column.contains(str(c.value), autoescape=True)
    if c.op == "ne":
        return or_(column.is_(None), column != values[0])
    return column == values[0]


def _event_clause(c: EventCondition, now: datetime) -> ColumnElement[bool]:
    within = and_(
        CustomerEvent.customer_id == Customer.id,
        CustomerEvent.kind.in_(c.kinds),
        CustomerEvent.occurred_at > now - timedelta(days=c.within_days),
        CustomerEvent.occurred_at <= now,
    )
    if c.min_count == 1:
        return exists().where(within)
    return select(func.count()).where(within).scalar_subquery() >= c.min_count


def clause(rule: TagRule, now: datetime) -> ColumnElement[bool]:
    """The rule as a condition on customers (correlated subqueries for amounts, touchpoints and events)."""
    parts = [_field_clause(c, now) if isinstance(c, FieldCondition) else _event_clause(c, now) for c in rule.conditions]
    return and_(true(), *parts) if rule.match == "all" else or_(*parts)


CHUNK = 1000


def holders(session: Session, rule: TagRule, now: datetime, among: Iterable[int] | None = None) -> set[int]:
    """The live customers the rule holds at `now` (only those of `among` when given)."""
    query = select(Customer.id).where(Customer.deleted_at.is_(None), clause(rule, now))
    if among is None:
        return set(session.scalars(query))
    ids = sorted(set(among))
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(session.scalars(query.where(Customer.id.in_(ids[start : start + CHUNK]))))
    return found
