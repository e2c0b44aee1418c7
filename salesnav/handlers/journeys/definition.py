"""A journey's definition: what an admin builds on the page, stored as JSON on `Journey.definition`.

    trigger        the customer event that enters a customer (`kind`), optionally filtered on the customer's tag,
                   lifecycle stage, the event's contact title or fields of the event's payload
    steps          in order; each is exactly one of
                     action     message | card | task | ticket_part | email, done by an owner
                                (the customer's rep, a department, a role), with an optional SLA in hours
                     wait       hours before the next step
                     condition  whether an event of `event` happens within `within_hours`: then one step, else another
                   after a step comes `next` when given (a step key, or "end"), else the following step
    exit           event kinds that take a customer out of the journey at once
    reentry_days   a customer is not entered again within this many days of their last entry
    quiet_hours    messages due in this window (business time) wait until it ends
    frequency_cap  at most this many journey messages per contact (the customer when no contact) a day;
                   the rest wait for the next day, shown as 暂缓

`parse_definition(data)` validates and answers a `JourneyDefinition`, or raises `DefinitionError` whose
`messages` are Chinese, one per problem, each naming the step it is about: an admin's mistake is said in
words, never a 500. The pydantic model is also the JSON schema the builder page works from.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from salesnav.handlers.errors import DomainError

END = "end"  # `next` / `then` / `else` pointing here ends the journey's flow
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")  # dotted codes: material.read, webhook.crm_sync
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ACTION_TYPES = ("message", "card", "task", "ticket_part", "email")
ACTION_LABELS = {
    "message": "发消息",
    "card": "发卡片",
    "task": "待办",
    "ticket_part": "协同任务",
    "email": "发邮件",
}
OWNER_LABELS = {"rep": "客户的负责销售", "department": "部门", "role": "角色"}
# The roles a step may name (owner type "role"), relative to the customer where that makes sense.
ROLE_LABELS = {
    "manager": "负责销售的主管",
    "director": "销售总监",
    "key_account": "大客户经理",
    "dept_head": "部门负责人",
    "admin": "管理员",
}
DEPARTMENT_KINDS = {"sales": "销售部", "marketing": "市场部", "delivery": "交付部", "finance": "财务部"}
# Words a step's text may contain, filled in when it runs.
PLACEHOLDERS = {
    "客户": "客户名称",
    "联系人": "联系人（姓名与职务）",
    "销售": "负责销售",
    "素材": "素材标题",
    "链接": "素材链接",
    "截止": "截止时间",
    "旅程": "旅程名称",
}
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAX_STEPS = 30
MAX_HOURS = 24 * 365


class DefinitionError(DomainError):
    """The definition is not valid; `messages` says why, in Chinese, one line per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("；".join(messages), messages=messages)
        self.messages = messages


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TriggerFilter(_Model):
    tag: str | None = Field(None, max_length=60, description="客户须带有的标签（代码或名称）")
    lifecycle: str | None = Field(None, max_length=60, description="客户须处于的生命周期阶段（代码）")
    contact_title: str | None = Field(None, max_length=60, description="事件联系人的职务须包含这些字，如「设备科」")
    material_title: str | None = Field(None, max_length=100, description="事件所涉素材的标题须包含这些字")
    payload: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description='事件内容须逐项相等，如 {"material_id": 3}'
    )

    @field_validator("tag", "lifecycle", "contact_title", "material_title")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return (value or "").strip() or None


class Trigger(_Model):
    kind: str = Field(..., description="进入旅程的客户事件，如 material.downloaded")
    filter: TriggerFilter = Field(default_factory=TriggerFilter)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _event_kind(value, "进入条件的事件")


class Owner(_Model):
    type: Literal["rep", "department", "role"]
    value: str | None = Field(None, max_length=100, description="部门：部门类型或名称；角色：角色代码")

    @model_validator(mode="after")
    def _value(self) -> Owner:
        value = (self.value or "").strip()
        if self.type == "department" and not value:
            raise ValueError("负责部门未填写")
        if self.type == "role" and value not in ROLE_LABELS:
            raise ValueError(f"负责角色「{value or '空'}」无效，可选：{'、'.join(ROLE_LABELS.values())}")
        return self

    def label(self) -> str:
        if self.type == "rep":
            return OWNER_LABELS["rep"]
        if self.type == "role":
            return ROLE_LABELS.get(self.value or "", self.value or "")
        return DEPARTMENT_KINDS.get(self.value or "", self.value or "")


class Action(_Model):
    type: Literal["message", "card", "task", "ticket_part", "email"]
    text: str = Field(..., min_length=1, max_length=1000, description="内容，可用 {客户} {联系人} {素材} {链接} {截止}")
    subject: str | None = Field(None, max_length=200, description="邮件标题（发邮件时）")
    material_id: int | None = Field(None, description="附带的素材")
    sla_hours: float | None = Field(None, gt=0, le=MAX_HOURS, description="完成时限（小时）：到期提醒，再过一段升级")
    escalate_after_hours: float = Field(24, gt=0, le=MAX_HOURS, description="超过时限后再过多少小时升级给上级")

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return _known_placeholders(value) if value else None

    @field_validator("text")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("内容不能为空")
        return _known_placeholders(value)

    @model_validator(mode="after")
    def _needs(self) -> Action:
        if self.type in ("task", "ticket_part") and self.sla_hours is None:
            raise ValueError(f"{ACTION_LABELS[self.type]}须填写完成时限（小时）")
        return self


class Wait(_Model):
    hours: float = Field(..., gt=0, le=MAX_HOURS)


class Condition(_Model):
    event: str = Field(..., description="等待的客户事件，如 material.read")
    within_hours: float = Field(..., gt=0, le=MAX_HOURS)
    then: str = Field(..., description="事件在时限内发生时的下一步（步骤代码或 end）")
    else_: str = Field(..., alias="else", description="未发生时的下一步（步骤代码或 end）")

    @field_validator("event")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _event_kind(value, "条件等待的事件")


class Step(_Model):
    key: str = Field(..., description="步骤代码：小写字母开头，字母、数字、下划线")
    title: str = Field(..., min_length=1, max_length=100)
    owner: Owner | None = None
    action: Action | None = None
    wait: Wait | None = None
    condition: Condition | None = None
    next: str | None = Field(None, description="之后的步骤（步骤代码或 end）；不填则为下一个步骤")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_PATTERN.match(value or ""):
            raise ValueError(f"步骤代码「{value}」无效：须以小写字母开头，只含小写字母、数字、下划线，最多 40 字")
        if value == END:
            raise ValueError("步骤代码不能是 end（它表示旅程结束）")
        return value

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("步骤名称不能为空")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        given = [name for name in ("action", "wait", "condition") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("每个步骤须且只能是动作、等待、条件之一")
        if self.action is not None and self.owner is None:
            raise ValueError("动作步骤须指定负责人（客户的负责销售、部门或角色）")
        if self.action is not None and self.action.type == "ticket_part" and self.owner.type != "department":  # type: ignore[union-attr]  # checked just above
            raise ValueError("协同任务须由部门负责")
        if self.condition is not None and self.next is not None:
            raise ValueError("条件步骤的去向由「则」「否则」决定，不能再填之后的步骤")
        return self

    @property
    def kind(self) -> str:
        """action type, "wait" or "condition"."""
        if self.action is not None:
            return self.action.type
        return "wait" if self.wait is not None else "condition"


class QuietHours(_Model):
    start: time = Field(..., description="免打扰开始（业务时区），如 21:00")
    end: time = Field(..., description="免打扰结束，如 08:00")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("免打扰的开始与结束不能相同")
        return self


class FrequencyCap(_Model):
    per_contact_per_day: int = Field(..., ge=1, le=50)


class Exit(_Model):
    events: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("events")
    @classmethod
    def _kinds(cls, values: list[str]) -> list[str]:
        return list(dict.fromkeys(_event_kind(v, "退出事件") for v in values))


class JourneyDefinition(_Model):
    trigger: Trigger
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]
    exit: Exit = Field(default_factory=Exit)
    reentry_days: int = Field(30, ge=0, le=3650, description="再次进入的最短间隔（天）；0 = 旅程结束后即可再进入")
    quiet_hours: QuietHours | None = None
    frequency_cap: FrequencyCap | None = None

    @model_validator(mode="after")
    def _flow(self) -> JourneyDefinition:
        keys = [step.key for step in self.steps]
        seen: set[str] = set()
        for key in keys:
            if key in seen:
                raise ValueError(f"步骤代码「{key}」重复")
            seen.add(key)
        for step in self.steps:
            for target in self._targets(step):
                if target != END and target not in seen:
                    raise ValueError(f"步骤「{step.title}」指向的步骤「{target}」不存在")
        self._no_cycle()
        return self

    def _targets(self, step: Step) -> list[str]:
        if step.condition is not None:
            return [step.condition.then, step.condition.else_]
        return [self.following(step.key)]

    def _no_cycle(self) -> None:
        state: dict[str, int] = {}  # 1 on the path, 2 done

        def visit(key: str) -> None:
            if key == END or state.get(key) == 2:
                return
            if state.get(key) == 1:
                raise ValueError(f"步骤「{self.step(key).title}」会回到自己，旅程须能走到结束")
            state[key] = 1
            for target in self._targets(self.step(key)):
                visit(target)
            state[key] = 2

        for step in self.steps:
            visit(step.key)

    # --- reading a valid definition --------------------------------------------------------------

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)

    def has_step(self, key: str) -> bool:
        return any(step.key == key for step in self.steps)

    def first(self) -> str:
        return self.steps[0].key

    def following(self, key: str) -> str:
        """The step after `key` when it is not a condition: its `next`, else the next in the list, else END."""
        keys = [step.key for step in self.steps]
        step = self.step(key)
        if step.next:
            return step.next
        index = keys.index(key)
        return keys[index + 1] if index + 1 < len(keys) else END

    def kinds_heard(self) -> set[str]:
        """Every customer event kind this journey reacts to: its trigger, its conditions, its exits."""
        kinds = {self.trigger.kind, *self.exit.events}
        kinds.update(step.condition.event for step in self.steps if step.condition is not None)
        return kinds

    def material_ids(self) -> list[int]:
        return [s.action.material_id for s in self.steps if s.action is not None and s.action.material_id]


def _known_placeholders(value: str) -> str:
    unknown = [name for name in PLACEHOLDER.findall(value) if name not in PLACEHOLDERS]
    if unknown:
        raise ValueError(f"「{{{unknown[0]}}}」无法填写，可用：{'、'.join('{' + k + '}' for k in PLACEHOLDERS)}")
    return value


def _event_kind(value: str, what: str) -> str:
    value = (value or "").strip()
    if not KIND_PATTERN.match(value) or len(value) > 60:
        raise ValueError(f"{what}「{value or '空'}」无效：须为如 material.read 的事件代码")
    return value


# --- validation in Chinese ---------------------------------------------------------------------------

_FIELD_NAMES = {
    "trigger": "进入条件",
    "kind": "事件",
    "filter": "筛选",
    "tag": "标签",
    "lifecycle": "生命周期阶段",
    "contact_title": "联系人职务",
    "material_title": "素材标题",
    "payload": "事件内容",
    "steps": "步骤",
    "key": "步骤代码",
    "title": "步骤名称",
    "owner": "负责人",
    "type": "类型",
    "value": "值",
    "action": "动作",
    "text": "内容",
    "subject": "邮件标题",
    "material_id": "素材",
    "sla_hours": "完成时限（小时）",
    "escalate_after_hours": "升级等待（小时）",
    "wait": "等待",
    "hours": "小时数",
    "condition": "条件",
    "event": "事件",
    "within_hours": "时限（小时）",
    "then": "则",
    "else": "否则",
    "next": "之后的步骤",
    "exit": "退出条件",
    "events": "事件",
    "reentry_days": "再次进入间隔（天）",
    "quiet_hours": "免打扰时段",
    "start": "开始",
    "end": "结束",
    "frequency_cap": "频次上限",
    "per_contact_per_day": "每位联系人每天最多条数",
}


def _where(loc: tuple[int | str, ...], data: Any) -> str:
    parts: list[str] = []
    for index, item in enumerate(loc):
        if isinstance(item, int):
            if index > 0 and loc[index - 1] == "steps":
                title = _step_title(data, item)
                parts[-1:] = [f"第 {item + 1} 步{f'「{title}」' if title else ''}"]
            else:
                parts.append(f"第 {item + 1} 项")
        elif item in _FIELD_NAMES:
            parts.append(_FIELD_NAMES[item])
        elif not str(item).startswith(("function-", "literal[", "tagged-union")):
            parts.append(str(item))
    return " · ".join(parts)


def _step_title(data: Any, index: int) -> str:
    try:
        title = data["steps"][index].get("title")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""
    return str(title).strip()[:30] if title else ""


def _message(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    words = {
        "missing": "未填写",
        "extra_forbidden": "不是可填写的项目",
        "string_type": "须为文字",
        "int_type": "须为整数",
        "int_parsing": "须为整数",
        "float_type": "须为数字",
        "float_parsing": "须为数字",
        "bool_type": "须为是或否",
        "bool_parsing": "须为是或否",
        "dict_type": "格式不对",
        "list_type": "须为列表",
        "model_type": "格式不对",
        "model_attributes_type": "格式不对",
        "time_type": "须为时间，如 21:00",
        "time_parsing": "须为时间，如 21:00",
        "literal_error": "不是可选的值",
        "union_tag_invalid": "不是可选的值",
    }
    if kind in words:
        return words[kind]
    if kind == "string_too_short":
        return "不能为空"
    if kind == "string_too_long":
        return f"过长（最多 {ctx.get('max_length')} 字）"
    if kind == "too_short":
        return f"至少须有 {ctx.get('min_length')} 项"
    if kind == "too_long":
        return f"最多 {ctx.get('max_length')} 项"
    if kind in ("greater_than", "greater_than_equal"):
        return f"须{'大于' if kind == 'greater_than' else '不小于'} {ctx.get('gt', ctx.get('ge'))}"
    if kind in ("less_than", "less_than_equal"):
        return f"须{'小于' if kind == 'less_than' else '不大于'} {ctx.get('lt', ctx.get('le'))}"
    return "填写有误"


def error_lines(exc: ValidationError, data: Any) -> list[tuple[tuple[int | str, ...], str]]:
    """Each problem as (where in the JSON, its Chinese line): the builder page puts each line beside its field
    (loc ("steps", 1, "action", "sla_hours") is the form field steps.1.action.sla_hours; a condition's `else`
    is "else")."""
    out: list[tuple[tuple[int | str, ...], str]] = []
    for error in exc.errors(include_url=False):
        loc = tuple(item for item in error["loc"] if not str(item).startswith(("function-", "literal[")))
        where = _where(loc, data)
        message = _message(error)
        line = f"{where}：{message}" if where else message
        if (loc, line) not in out:
            out.append((loc, line))
    return out


def chinese_errors(exc: ValidationError, data: Any) -> list[str]:
    """One Chinese line per problem, naming where it is (第 2 步「…」 · 动作 · 完成时限)."""
    return list(dict.fromkeys(line for _, line in error_lines(exc, data)))


def parse_definition(data: Any) -> JourneyDefinition:
    """A valid definition from its JSON (a dict), or DefinitionError with the problems in Chinese."""
    if isinstance(data, JourneyDefinition):
        return data
    if not isinstance(data, dict):
        raise DefinitionError(["旅程定义格式不对：须为 JSON 对象"])
    try:
        return JourneyDefinition.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(chinese_errors(exc, data)) from None


def definition_json(definition: JourneyDefinition) -> dict[str, Any]:
    """The JSON stored on `Journey.definition` (aliases: a condition's `else`)."""
    return definition.model_dump(mode="json", by_alias=True, exclude_none=True)
