"""客户旅程 pages: the list, the builder (admins) and how each journey works (admins, sales managers, directors).

The builder is one server-rendered form whose field names are the definition's own paths
(`steps.2.action.sla_hours`), so an error the definition reports lands next to its field. Adding, removing and
moving a step are buttons of the same form (`op`): the page comes back with the steps changed and everything
typed kept, nothing saved — it works without script; static/journeys.js only hides the fields a step's type
does not use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from salesnav.handlers.admin import journeys as use_cases
from salesnav.handlers.admin import materials as material_cases
from salesnav.handlers.admin.guard import is_admin
from salesnav.handlers.customer_events import KIND_LABELS, kind_label
from salesnav.handlers.errors import DomainError
from salesnav.handlers.journeys import definition as spec
from salesnav.handlers.journeys import stats as stats_cases
from salesnav.handlers.tags import definitions as tag_definitions
from salesnav.models import Department, Journey, LifecycleStage
from salesnav.pages.admin import bp

STEP_KINDS = {"action": "动作", "wait": "等待", "condition": "条件分支"}
# What each step does, in the figures' table.
STEP_WORDS = {
    "message": "发消息",
    "card": "发卡片",
    "task": "待办任务",
    "ticket_part": "协作工单",
    "email": "发邮件",
    "wait": "等待",
    "condition": "条件分支",
}
# The builder's words for the action types (the brief's: 消息、卡片、任务、协作工单、邮件).
ACTION_TYPES = {
    "message": "发消息",
    "card": "发卡片（附素材）",
    "task": "待办任务（有完成时限）",
    "ticket_part": "协作工单",
    "email": "发邮件",
}
OWNER_TYPES = {"rep": "客户的销售", "department": "部门", "role": "角色"}
END_LABEL = "结束旅程"
# Ready texts an admin may start a message from (the placeholders are filled when the step runs).
TEXT_TEMPLATES = {
    "case": "{联系人}刚下载了《{素材}》，请今天内把同等级医院的案例发给{客户}：{链接}",
    "demo": "请在 {截止} 前为{客户}预约区域技术顾问做线上演示，并在群里确认时间。",
    "report": "请为{客户}准备现有设备的兼容性报告，{截止} 前提交给负责销售{销售}。",
    "follow": "{客户}的{联系人}最近在看《{素材}》，记得跟进。",
}
TEMPLATE_LABELS = {"case": "发同级医院案例", "demo": "预约线上演示", "report": "兼容性报告", "follow": "提醒跟进"}
INDEX = re.compile(r"^\d{1,2}$")
MAX_FORM_STEPS = spec.MAX_STEPS


# --- the list ----------------------------------------------------------------------------------------------


@bp.get("/journeys")
def journeys() -> str:
    s = g.admin_db
    items = use_cases.journeys(s)
    archived = use_cases.archived_journeys(s)
    seen = use_cases.viewing(s, g.admin)
    tag_labels = {tag.code: tag.label for tag in tag_definitions(s, active_only=False)}
    return render_template(
        "admin/journeys.html",
        items=items,
        archived=archived,
        counts=use_cases.enrollment_counts(s, [j.id for j in items + archived], owners=seen.owners),
        scope_label=seen.label,
        scoped=seen.owners is not None,
        trigger_label=lambda j: trigger_text(j.definition or {}, tag_labels),
        step_count=lambda j: len((j.definition or {}).get("steps") or []),
        may_build=is_admin(g.admin),
        ready_missing=is_admin(g.admin) and use_cases.ready_missing(s),
    )


def trigger_text(definition: dict[str, Any], tag_labels: dict[str, str]) -> str:
    """What lets a customer in, as a person reads it: 「进入生命周期阶段「新客户试用期」」, not the bare event."""
    trigger = definition.get("trigger") or {}
    words = kind_label(str(trigger.get("kind") or ""))
    wanted = trigger.get("filter") or {}
    if stage := wanted.get("lifecycle"):
        labels = {s.value: s.label for s in LifecycleStage}
        words += f"「{labels.get(stage, stage)}」"
    if tag := wanted.get("tag"):
        words += f"「{tag_labels.get(tag, tag)}」"
    if title := wanted.get("material_title"):
        words += f"，资料标题含「{title}」"
    if who := wanted.get("contact_title"):
        words += f"，联系人职务含「{who}」"
    return words


# --- taking a journey off the list: delete (never run) or archive (customers went through it) --------------


@bp.get("/journeys/<int(min=1, max=9007199254740991):journey_id>/remove")
def journey_remove_confirm(journey_id: int) -> str:
    """What removing will do, said before it is done: a confirmation page (works without script)."""
    return render_template("admin/journey_remove.html", removal=use_cases.removal(g.admin_db, g.admin, journey_id))


@bp.post("/journeys/<int(min=1, max=9007199254740991):journey_id>/remove")
def journey_remove(journey_id: int) -> Response:
    name = use_cases.journey(g.admin_db, journey_id).name
    done, taken_out = use_cases.remove_journey(g.admin_db, g.admin, journey_id)
    g.admin_db.commit()
    if done == "deleted":
        flash(f"已删除客户旅程「{name}」")
    else:
        stopped = f"，{taken_out} 位客户移出旅程，尚未完成的步骤已停止" if taken_out else ""
        flash(f"已归档客户旅程「{name}」{stopped}。效果数据仍可在「已归档的旅程」中查看")
    return redirect(url_for("admin.journeys"))


@bp.post("/journeys/ready")
def journeys_install_ready() -> Response:
    written = use_cases.install_ready_journeys(g.admin_db, g.admin)
    g.admin_db.commit()
    flash(f"已添加现成旅程「{written[0].name}」，打开修改后即可启用" if written else "现成旅程已经在列表中")
    return redirect(url_for("admin.journeys"))


# --- the builder ---------------------------------------------------------------------------------------------


@dataclass
class Draft:
    """What the builder shows: the name, and the definition as typed (strings), step by step."""

    name: str = ""
    description: str = ""
    definition: dict[str, Any] = field(default_factory=dict)
    journey_id: int | None = None


@bp.get("/journeys/new")
def journey_new() -> tuple[str, int]:
    return _builder(Draft(definition=_blank()))


@bp.get("/journeys/<int(min=1, max=9007199254740991):journey_id>/edit")
def journey_edit(journey_id: int) -> tuple[str, int]:
    found = use_cases.journey(g.admin_db, journey_id)
    return _builder(_draft_of(found))


@bp.post("/journeys/save")
def journey_save() -> Response | tuple[str, int]:
    draft = _draft_from_form(request.form)
    op = request.form.get("op", "save")
    if op != "save":
        return _builder(_apply_op(draft, op))
    try:
        saved = use_cases.save_journey(
            g.admin_db,
            g.admin,
            draft.journey_id,
            name=draft.name,
            description=draft.description,
            definition=_definition_to_check(draft.definition),
        )
        g.admin_db.commit()
    except use_cases.JourneyInvalid as exc:
        g.admin_db.rollback()
        return _builder(draft, exc.errors, 400)
    flash(f"已保存客户旅程「{saved.name}」" + ("" if saved.active else "（尚未启用）"))
    return redirect(url_for("admin.journeys"))


@bp.post("/journeys/<int(min=1, max=9007199254740991):journey_id>/activate")
def journey_activate(journey_id: int) -> Response:
    return _switch(journey_id, active=True)


@bp.post("/journeys/<int(min=1, max=9007199254740991):journey_id>/pause")
def journey_pause(journey_id: int) -> Response:
    return _switch(journey_id, active=False)


def _switch(journey_id: int, *, active: bool) -> Response:
    try:
        found = use_cases.set_active(g.admin_db, g.admin, journey_id, active=active)
        g.admin_db.commit()
    except DomainError as exc:
        g.admin_db.rollback()
        flash(exc.message, "warning")
        return redirect(url_for("admin.journeys"))
    flash(
        f"已启用「{found.name}」：之后发生的事件会让客户进入旅程"
        if active
        else f"已暂停「{found.name}」：不再有新客户进入，已在旅程中的客户照常走完"
    )
    return redirect(url_for("admin.journeys"))


def _builder(draft: Draft, errors: list[tuple[str, str]] | None = None, status: int = 200) -> tuple[str, int]:
    s = g.admin_db
    steps = draft.definition.get("steps") or []
    materials = [m for m in material_cases.materials(s) if m.retired_at is None]
    placed, top = _place_errors(_nearer(errors or [], steps), len(steps))
    return render_template(
        "admin/journey_edit.html",
        draft=draft,
        d=draft.definition,
        steps=steps,
        step_kind=_step_kind,
        errors=placed,
        top_errors=top,
        kinds=_kind_options(draft.definition),
        tags=_tag_options(draft.definition),
        lifecycle_stages=_lifecycle_options(draft.definition),
        step_kinds=STEP_KINDS,
        action_types=ACTION_TYPES,
        owner_types=OWNER_TYPES,
        roles=spec.ROLE_LABELS,
        departments=_department_options(),
        materials=materials,
        material_ids={str(m.id) for m in materials},
        templates=TEMPLATE_LABELS,
        template_texts=TEXT_TEMPLATES,
        placeholders=spec.PLACEHOLDERS,
        end=spec.END,
        end_label=END_LABEL,
        journey=use_cases.journey(s, draft.journey_id) if draft.journey_id else None,
        journey_ran=bool(draft.journey_id and use_cases.enrollment_counts(s, [draft.journey_id])),
    ), status


# --- the form and the definition --------------------------------------------------------------------------


def _blank() -> dict[str, Any]:
    return {"trigger": {"kind": "", "filter": {}}, "steps": [_new_step(1)], "exit": {"events": []}, "reentry_days": 30}


def _new_step(number: int) -> dict[str, Any]:
    return {"key": f"s{number}", "title": "", "owner": {"type": "rep"}, "action": {"type": "message", "text": ""}}


def _draft_of(found: Journey) -> Draft:
    return Draft(found.name, found.description or "", dict(found.definition or {}), found.id)


def _unflatten(form: MultiDict[str, str]) -> dict[str, Any]:
    """`steps.2.action.text=…` → {"steps": {"2": {"action": {"text": …}}}} (lists come later)."""
    tree: dict[str, Any] = {}
    for name in form:
        if name in ("csrf_token", "op") or len(name) > 80:
            continue
        values = [v.strip() for v in form.getlist(name)]
        value: Any = values if name == "exit.events" else values[-1]
        node = tree
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[leaf] = value
    return tree


def _draft_from_form(form: MultiDict[str, str]) -> Draft:
    tree = _unflatten(form)
    raw_steps: dict[str, Any] = tree["steps"] if isinstance(tree.get("steps"), dict) else {}
    steps = [raw_steps[i] for i in sorted((k for k in raw_steps if INDEX.match(k)), key=int)][:MAX_FORM_STEPS]
    events = _part(tree.get("exit")).get("events", [])
    definition: dict[str, Any] = {
        "trigger": _part(tree.get("trigger")) or {"kind": ""},
        "steps": [s for s in steps if isinstance(s, dict)],
        "exit": {"events": [e for e in events if e] if isinstance(events, list) else []},
        "reentry_days": tree.get("reentry_days", ""),
    }
    for optional in ("quiet_hours", "frequency_cap"):
        if isinstance(tree.get(optional), dict):
            definition[optional] = tree[optional]
    journey_id = tree.get("journey_id", "")
    return Draft(
        name=str(tree.get("name", "")),
        description=str(tree.get("description", "")),
        definition=definition,
        journey_id=int(journey_id) if str(journey_id).isdigit() else None,
    )


def _step_kind(step: dict[str, Any]) -> str:
    kind = step.get("kind")
    if kind in STEP_KINDS:
        return str(kind)
    if step.get("condition"):
        return "condition"
    return "wait" if step.get("wait") and not step.get("action") else "action"


def _pruned(value: Any) -> Any:
    """Empty fields dropped (a field left blank is a field not given)."""
    if isinstance(value, dict):
        out = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ("", None, {}, [])}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _part(value: Any) -> dict[str, Any]:
    """A part of the form as a dict (a forged form may post `trigger=…` beside `trigger.kind=…`)."""
    return dict(value) if isinstance(value, dict) else {}


def _definition_to_check(typed: dict[str, Any]) -> dict[str, Any]:
    """The definition as the schema reads it: each step only its type's part, the owner's value from the
    department or role picked, a material filter as a number; blanks left out."""
    definition = dict(typed)
    trigger = _part(definition.get("trigger"))
    filters = _part(trigger.get("filter"))
    payload = {k: int(v) if str(v).isdigit() else v for k, v in _part(filters.get("payload")).items()}
    filters["payload"] = payload
    trigger["filter"] = filters
    definition["trigger"] = trigger
    steps = []
    for step in definition.get("steps") or []:
        kind = _step_kind(step)
        out: dict[str, Any] = {"key": step.get("key", ""), "title": step.get("title", "")}
        if kind == "action":
            owner = _part(step.get("owner"))
            owner_type = owner.get("type", "")
            out["owner"] = {"type": owner_type, "value": owner.get(owner_type) or owner.get("value", "")}
            if owner_type == "rep":
                out["owner"].pop("value")
            action = _part(step.get("action"))
            template = action.pop("template", "")
            if not action.get("text") and template in TEXT_TEMPLATES:
                action["text"] = TEXT_TEMPLATES[template]
            if action.get("type") != "email":
                action.pop("subject", None)
            out["action"] = action
            out["next"] = step.get("next", "")
        elif kind == "wait":
            out["wait"] = _part(step.get("wait")) or {"hours": ""}
            out["next"] = step.get("next", "")
        else:
            condition = _part(step.get("condition"))
            out["condition"] = {k: condition.get(k, "") for k in ("event", "within_hours", "then", "else")}
        steps.append(out)
    definition["steps"] = steps
    pruned = _pruned(definition)
    for step, typed_step in zip(pruned.get("steps", []), steps, strict=True):
        for part in ("action", "wait", "condition"):  # a part left wholly blank is reported as missing, not dropped
            if part in typed_step and part not in step:
                step[part] = {}
    pruned.setdefault("trigger", {"kind": ""})
    return pruned


def _apply_op(draft: Draft, op: str) -> Draft:
    """Add, remove or move a step (nothing is saved); an unknown op changes nothing."""
    steps = list(draft.definition.get("steps") or [])
    verb, _, index_text = op.partition(":")
    if verb == "add_step" and len(steps) < MAX_FORM_STEPS:
        used = {str(s.get("key", "")) for s in steps}
        number = len(steps) + 1
        while f"s{number}" in used:
            number += 1
        steps.append(_new_step(number))
    elif index_text.isdigit() and int(index_text) < len(steps):
        i = int(index_text)
        if verb == "remove" and len(steps) > 1:
            steps.pop(i)
        elif verb == "up" and i > 0:
            steps[i - 1], steps[i] = steps[i], steps[i - 1]
        elif verb == "down" and i + 1 < len(steps):
            steps[i + 1], steps[i] = steps[i], steps[i + 1]
    draft.definition["steps"] = steps
    return draft


def _kind_options(definition: dict[str, Any]) -> dict[str, str]:
    """Event kinds to pick from, Chinese labels; a kind already in the definition (a webhook's) is kept."""
    options = dict(KIND_LABELS)
    used = [(definition.get("trigger") or {}).get("kind")]
    used += list((definition.get("exit") or {}).get("events") or [])
    used += [(s.get("condition") or {}).get("event") for s in definition.get("steps") or [] if isinstance(s, dict)]
    for kind in used:
        if kind and kind not in options:
            options[str(kind)] = kind_label(str(kind))
    return options


def _nearer(errors: list[tuple[str, str]], steps: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """A step's or an action's own error beside the field it is about: a missing deadline beside 完成时限, a
    missing or wrong owner beside 负责人."""
    out = []
    for place, message in errors:
        parts = place.split(".")
        if len(parts) in (2, 3) and parts[0] == "steps" and parts[1].isdigit() and int(parts[1]) < len(steps):
            step = steps[int(parts[1])]
            action = step.get("action") or {}
            if parts[2:] == ["action"] and "完成时限" in message and not str(action.get("sla_hours") or "").strip():
                place = f"steps.{parts[1]}.action.sla_hours"
            elif len(parts) == 2 and "负责" in message:
                place = f"steps.{parts[1]}.owner"
        out.append((place, message))
    return out


def _department_options() -> dict[str, str]:
    """A department by its kind (销售部, 市场部 …: the first live one of that kind) or by the company's own name."""
    options = dict(spec.DEPARTMENT_KINDS)
    kinds = set(options.values())
    live = select(Department).where(Department.deleted_at.is_(None)).order_by(Department.name)
    for department in g.admin_db.scalars(live):
        if department.name not in kinds and department.name not in options:
            options[department.name] = department.name
    return options


def _tag_options(definition: dict[str, Any]) -> dict[str, str]:
    """The tags an admin defined (code → label); a tag the definition names (by code or label) that is gone is kept."""
    options = {tag.code: tag.label for tag in tag_definitions(g.admin_db, active_only=True)}
    wanted = ((definition.get("trigger") or {}).get("filter") or {}).get("tag")
    if wanted and wanted not in options and wanted not in options.values():
        options[str(wanted)] = f"{wanted}（已停用或不存在）"
    return options


def _lifecycle_options(definition: dict[str, Any]) -> dict[str, str]:
    options = {stage.value: stage.label for stage in LifecycleStage}
    wanted = ((definition.get("trigger") or {}).get("filter") or {}).get("lifecycle")
    if wanted and wanted not in options:
        options[str(wanted)] = f"{wanted}（不存在）"
    return options


def _place_errors(errors: list[tuple[str, str]], step_count: int) -> tuple[dict[str, list[str]], list[str]]:
    """Each error at the nearest place the builder shows one (a field, a step, a section); the rest on top."""
    slots = {"name", "description", "trigger", "trigger.kind", "trigger.filter", "exit", "exit.events"}
    slots |= {"reentry_days", "quiet_hours", "frequency_cap", "frequency_cap.per_contact_per_day", "steps"}
    slots |= {f"trigger.filter.{k}" for k in ("tag", "lifecycle", "contact_title", "material_title", "payload")}
    slots |= {"quiet_hours.start", "quiet_hours.end"}
    for i in range(step_count):
        slots |= {f"steps.{i}", f"steps.{i}.title", f"steps.{i}.owner", f"steps.{i}.next", f"steps.{i}.key"}
        actions = ("type", "text", "subject", "material_id", "sla_hours", "escalate_after_hours")
        slots |= {f"steps.{i}.action.{k}" for k in actions}
        slots |= {f"steps.{i}.action", f"steps.{i}.wait", f"steps.{i}.wait.hours", f"steps.{i}.condition"}
        slots |= {f"steps.{i}.condition.{k}" for k in ("event", "within_hours", "then", "else")}
        slots |= {f"steps.{i}.owner.type", f"steps.{i}.owner.value"}
    placed: dict[str, list[str]] = {}
    top: list[str] = []
    for place, message in errors:
        parts = place.split(".")
        while parts and ".".join(parts) not in slots:
            parts.pop()
        if parts:
            placed.setdefault(".".join(parts), []).append(message)
        else:
            top.append(message)
    return placed, top


# --- how a journey works ------------------------------------------------------------------------------------


@bp.get("/journeys/<int(min=1, max=9007199254740991):journey_id>/stats")
def journey_stats(journey_id: int) -> str:
    s = g.admin_db
    found = use_cases.journey_with_archived(s, journey_id)
    days = request.args.get("days", type=int)
    if days is not None and days not in stats_cases.WINDOW_CHOICES:
        abort(400, description="统计区间只能是 30、90、180 或 365 天")
    window = stats_cases.window_of(days)
    seen = use_cases.viewing(s, g.admin)
    figures = stats_cases.journey_stats(s, found, window, owners=seen.owners)
    return render_template(
        "admin/journey_stats.html",
        journey=found,
        stats=figures,
        scope_label=seen.label,
        scoped=seen.owners is not None,
        days=days or stats_cases.DEFAULT_WINDOW_DAYS,
        choices=stats_cases.WINDOW_CHOICES,
        trigger_label=trigger_text(
            found.definition or {}, {t.code: t.label for t in tag_definitions(g.admin_db, active_only=False)}
        ),
        step_words=STEP_WORDS,
        may_build=is_admin(g.admin),
    )
