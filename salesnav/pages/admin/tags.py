"""Customer tags and lifecycle stages (issue 20): the tag definitions (list, create and edit a manual or rule tag,
with a preview of which customers a rule would hold today before saving) and the lifecycle settings (with a
preview of which customers each stage would hold today). Saving queues the recompute of every customer."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from salesnav import clock
from salesnav.handlers import lifecycle, rule_settings, tag_rules, tags
from salesnav.handlers.admin import rules as rule_use_cases
from salesnav.handlers.admin import settings_form, tag_form
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import CustomerTag, TagDefinition, TagKind
from salesnav.models.setting_areas import Lifecycle
from salesnav.pages.admin import bp

LIFECYCLE_KEYS = [f"{Lifecycle.PREFIX}.{name}" for name in Lifecycle.model_fields]
RECOMPUTE_JOB = "salesnav.jobs.customer_tags:recompute"


@bp.get("/tags")
def tag_list() -> str:
    s = g.admin_db
    counts = dict(
        s.execute(
            select(CustomerTag.tag_id, func.count())
            .where(CustomerTag.removed_at.is_(None))
            .group_by(CustomerTag.tag_id)
        ).all()
    )
    rows = [
        (
            d,
            tag_rules.describe(tag_rules.check_rule(d.rule)) if d.rule else "由销售或管理员手动添加",
            counts.get(d.id, 0),
        )
        for d in tags.definitions(s)
    ]
    return render_template("admin/tags.html", rows=rows)


def _render_form(
    tag: TagDefinition | None,
    form: dict[str, Any],
    error: str | None = None,
    preview: tags.RulePreview | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "admin/tag_form.html",
        tag=tag,
        form=form,
        error=error,
        preview=preview,
        rows=range(tag_form.ROWS),
        fields=tag_rules.FIELDS,
        ops=tag_rules.OP_LABELS,
        events=tag_form.EVENT_CHOICES,
        kinds=list(TagKind),
    ), status


def _tag(tag_id: int) -> TagDefinition:
    tag = g.admin_db.get(TagDefinition, tag_id)
    if tag is None:
        raise NotFound("标签不存在")
    return tag


@bp.post("/tags/examples")
def tag_examples() -> Response:
    written = tags.install_example_tags(g.admin_db, g.admin)
    g.admin_db.commit()
    if written:
        flash(f"已添加示例规则标签：{'、'.join(t.label for t in written)}，正在计算哪些客户符合")
    else:
        flash("示例规则标签的名称都已被使用，没有添加")
    return redirect(url_for("admin.tag_list"))


@bp.get("/tags/new")
def tag_new() -> tuple[str, int]:
    return _render_form(None, tag_form.blank_form())


@bp.get("/tags/<int(min=1, max=9007199254740991):tag_id>")
def tag_edit(tag_id: int) -> tuple[str, int]:
    tag = _tag(tag_id)
    return _render_form(tag, tag_form.to_form(tag))


@bp.post("/tags/new")
def tag_new_submit() -> Response | tuple[str, int]:
    return _submit(None)


@bp.post("/tags/<int(min=1, max=9007199254740991):tag_id>")
def tag_edit_submit(tag_id: int) -> Response | tuple[str, int]:
    return _submit(_tag(tag_id))


def _submit(tag: TagDefinition | None) -> Response | tuple[str, int]:
    s = g.admin_db
    form = request.form.to_dict()
    kind = TagKind.RULE if form.get("kind") == TagKind.RULE.value else TagKind.MANUAL
    try:
        rule = tag_form.read_rule(form) if kind is TagKind.RULE else None
        if request.form.get("action") != "save":
            if rule is None:
                raise DomainError("手动标签没有规则，无需预览；请直接保存")
            return _render_form(tag, form, preview=tags.preview(s, rule, clock.now()))
        saved = tags.save_definition(
            s,
            g.admin,
            tag_id=tag.id if tag is not None else None,
            label=form.get("label", ""),
            kind=kind,
            rule=rule,
            code=form.get("code") or None,
            description=form.get("description"),
            active=form.get("active") == "on",
        )
    except DomainError as exc:
        s.rollback()
        return _render_form(tag, form, error=exc.message, status=400)
    s.commit()
    flash(f"已保存标签「{saved.label}」" + ("，正在按规则重新计算客户标签" if saved.kind is TagKind.RULE else ""))
    return redirect(url_for("admin.tag_list"))


def _render_lifecycle(
    form_values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    preview: list[lifecycle.StagePreview] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    fields = [settings_form.field(g.admin_db, key) for key in LIFECYCLE_KEYS]
    return render_template(
        "admin/lifecycle.html", fields=fields, form_values=form_values, errors=errors or {}, preview=preview
    ), status


@bp.get("/lifecycle")
def lifecycle_settings() -> tuple[str, int]:
    return _render_lifecycle()


@bp.post("/lifecycle")
def lifecycle_submit() -> Response | tuple[str, int]:
    s = g.admin_db
    form = request.form.to_dict()
    try:
        values = settings_form.read_form(LIFECYCLE_KEYS, form)
    except settings_form.SettingsRefused as exc:
        return _render_lifecycle(form, exc.errors, status=400)
    if request.form.get("action") != "save":
        keys = Lifecycle.keys()
        proposed = rule_settings.lifecycle(s).model_copy(update={keys[k]: v for k, v in values.items()})
        return _render_lifecycle(form, preview=lifecycle.preview(s, proposed, clock.now()))
    changed = rule_use_cases.save(s, g.admin, values)
    if changed:
        enqueue_after_commit(s, RECOMPUTE_JOB, key=f"tags:recompute:lifecycle:{clock.now().timestamp()}")
    s.commit()
    flash(f"已保存 {len(changed)} 项生命周期设置，正在重新计算客户的生命周期阶段" if changed else "设置没有变化")
    return redirect(url_for("admin.lifecycle_settings"))
