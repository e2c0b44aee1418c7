"""Battle pack, report, dashboard, public pool and visit brief settings: hours, calendar, weights, windows, limits.

The keys are whatever salesnav/handlers/rule_settings.py DEFAULTS holds under the prefixes of `SECTIONS` (and
the validation knows), so a setting added there appears here by itself.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from salesnav.handlers import rule_settings
from salesnav.handlers.admin import rules as use_cases
from salesnav.handlers.admin import settings_form
from salesnav.handlers.rules.validation import SPECS
from salesnav.pages.admin import bp

SECTIONS = (
    ("battle_pack.", "今日作战包"),
    ("reports.", "日报与团队报告"),
    ("dashboard.", "看板与指标"),
    ("pool.", "公海"),
    ("brief.", "拜访简报"),
    ("talk_track.", "话术推送"),
)


def keys() -> list[str]:
    return [k for prefix, _ in SECTIONS for k in rule_settings.DEFAULTS if k.startswith(prefix) and k in SPECS]


def _render(
    form_values: dict[str, str] | None = None, errors: dict[str, str] | None = None, status: int = 200
) -> tuple[str, int]:
    s = g.admin_db
    sections = [
        (title, [settings_form.field(s, k) for k in keys() if k.startswith(prefix)]) for prefix, title in SECTIONS
    ]
    return render_template(
        "admin/settings.html", sections=sections, form_values=form_values, errors=errors or {}
    ), status


@bp.get("/settings")
def settings() -> tuple[str, int]:
    return _render()


@bp.post("/settings")
def settings_submit() -> Response | tuple[str, int]:
    form = request.form.to_dict()
    try:
        values = settings_form.read_form(keys(), form)
    except settings_form.SettingsRefused as exc:
        return _render(form, exc.errors, status=400)
    changed = use_cases.save(g.admin_db, g.admin, values)
    g.admin_db.commit()
    flash(f"已保存 {len(changed)} 项设置" if changed else "设置没有变化")
    return redirect(url_for("admin.settings"))
