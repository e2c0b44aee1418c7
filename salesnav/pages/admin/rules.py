"""Rule pages: each automation rule's switch and thresholds; preview what it would fire on today's
data under the proposed values; then save (nothing is saved while any field is wrong)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from salesnav import clock
from salesnav.handlers.admin import rules as use_cases
from salesnav.handlers.admin import settings_form
from salesnav.handlers.rules import registry
from salesnav.pages.admin import bp


def _render(
    form_values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    previews: list[use_cases.RulePreview] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    s = g.admin_db
    groups = [
        (rule, [settings_form.field(s, key) for key in keys])
        for rule, keys in zip(registry.all_rules(), use_cases.rule_keys().values(), strict=True)
    ]
    return render_template(
        "admin/rules.html", groups=groups, form_values=form_values, errors=errors or {}, previews=previews
    ), status


@bp.get("/rules")
def rules() -> tuple[str, int]:
    return _render()


@bp.post("/rules")
def rules_submit() -> Response | tuple[str, int]:
    form = request.form.to_dict()
    try:
        values = settings_form.read_form(use_cases.all_keys(), form)
    except settings_form.SettingsRefused as exc:
        return _render(form, exc.errors, status=400)
    if request.form.get("action") != "save":
        changes = {k: v for k, v in values.items() if v != use_cases.rule_settings.get(g.admin_db, k)}
        return _render(form, previews=use_cases.preview(changes, clock.now()))
    changed = use_cases.save(g.admin_db, g.admin, values)
    g.admin_db.commit()
    flash(f"已保存 {len(changed)} 项规则设置" if changed else "设置没有变化")
    return redirect(url_for("admin.rules"))
