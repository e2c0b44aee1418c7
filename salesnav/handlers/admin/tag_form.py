"""A tag definition as the admin page shows it: a few condition rows (a customer field compared with a value, or a
customer event within some days) turned into a rule spec (salesnav/handlers/tag_rules.py), and back.

Row i of the form: `cond-i-what` (a field code, "event", or empty for an unused row), `cond-i-op`, `cond-i-value`
(several values separated by 、 or commas; amounts in 元), `cond-i-event`, `cond-i-days`, `cond-i-count`.
"""

from __future__ import annotations

import re
from typing import Any

from salesnav.handlers.customer_events import KIND_LABELS
from salesnav.handlers.errors import DomainError
from salesnav.handlers.tag_rules import FIELDS, OP_LABELS, EventCondition, FieldCondition, check_rule
from salesnav.models import TagDefinition, TagKind

ROWS = 4
_SEPARATORS = re.compile(r"[、，,；;\s]+")
# The events a rule may count (the tag and lifecycle events are left out: a tag following tags would loop).
EVENT_CHOICES = [(k, v) for k, v in KIND_LABELS.items() if not k.startswith(("tag.", "lifecycle."))]


def blank_form() -> dict[str, str]:
    return {"kind": TagKind.MANUAL.value, "match": "all", "active": "on"}


def to_form(tag: TagDefinition) -> dict[str, str]:
    """The stored definition as the page's fields."""
    form = {
        "label": tag.label,
        "code": tag.code,
        "kind": tag.kind.value,
        "description": tag.description or "",
        "match": "all",
    }
    if tag.active:
        form["active"] = "on"
    rule = tag.rule or {}
    form["match"] = rule.get("match", "all")
    for i, c in enumerate(rule.get("conditions", [])[:ROWS]):
        if c.get("type") == "event":
            form.update(
                {
                    f"cond-{i}-what": "event",
                    f"cond-{i}-event": c["kinds"][0],
                    f"cond-{i}-days": str(c["within_days"]),
                    f"cond-{i}-count": str(c.get("min_count", 1)),
                }
            )
        else:
            value = c["value"]
            if FIELDS[c["field"]].kind == "money":
                value = int(value) // 100
            shown = "、".join(value) if isinstance(value, list) else str(value)
            form.update({f"cond-{i}-what": c["field"], f"cond-{i}-op": c["op"], f"cond-{i}-value": shown})
    return form


def read_rule(form: dict[str, Any]) -> dict[str, Any]:
    """The rule spec from the condition rows, checked; a Chinese DomainError naming the row otherwise."""
    conditions: list[dict[str, Any]] = []
    for i in range(ROWS):
        what = str(form.get(f"cond-{i}-what", "")).strip()
        if not what:
            continue
        n = len(conditions) + 1
        if what == "event":
            kind = str(form.get(f"cond-{i}-event", "")).strip()
            if not kind:
                raise DomainError(f"第 {n} 个条件：请选择客户事件")
            days = _whole(form.get(f"cond-{i}-days"), f"第 {n} 个条件：天数", 1, 3650)
            count = _whole(form.get(f"cond-{i}-count") or "1", f"第 {n} 个条件：次数", 1, 10_000)
            conditions.append(EventCondition(kinds=[kind], within_days=days, min_count=count).model_dump())
            continue
        spec = FIELDS.get(what)
        if spec is None:
            raise DomainError(f"第 {n} 个条件：请选择客户字段")
        op = str(form.get(f"cond-{i}-op", "")).strip()
        if op not in spec.ops:
            allowed = "、".join(OP_LABELS[o] for o in spec.ops)
            raise DomainError(f"第 {n} 个条件：「{spec.label}」只能用{allowed}比较")
        raw = str(form.get(f"cond-{i}-value", "")).strip()
        value: Any
        if spec.kind in ("money", "number"):
            value = _whole(raw, f"第 {n} 个条件：「{spec.label}」", 0, 10**12)
            if spec.kind == "money":
                value *= 100
        elif op == "in":
            value = [v for v in _SEPARATORS.split(raw) if v]
        else:
            value = raw
        if spec.kind == "choice":
            codes = {label: code for code, label in spec.choices} | {code: code for code, _ in spec.choices}
            if isinstance(value, list):
                value = [codes.get(v, v) for v in value]
            else:
                value = codes.get(value, value)
        conditions.append(FieldCondition(field=what, op=op, value=value).model_dump())
    if not conditions:
        raise DomainError("规则标签需要至少一个条件")
    match = "any" if form.get("match") == "any" else "all"
    return check_rule({"match": match, "conditions": conditions}).model_dump()


def _whole(raw: Any, what: str, lo: int, hi: int) -> int:
    text = str(raw if raw is not None else "").strip().replace(",", "").replace("，", "")
    if not text:
        raise DomainError(f"{what}未填写")
    try:
        value = int(text)
    except ValueError as exc:
        raise DomainError(f"{what}必须是整数") from exc
    if not lo <= value <= hi:
        raise DomainError(f"{what}必须在 {lo} 到 {hi} 之间")
    return value
