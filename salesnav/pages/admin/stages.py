"""Stage and checklist pages: add, rename, reorder and retire stages; add, edit and retire checklist items."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from salesnav.handlers.admin import stages as use_cases
from salesnav.handlers.errors import DomainError
from salesnav.models import ChecklistItemKind
from salesnav.pages.admin import bp


@bp.get("/stages")
def stages(error: str | None = None, status: int = 200) -> tuple[str, int]:
    return render_template(
        "admin/stages.html", stages=use_cases.stages(g.admin_db), kinds=list(ChecklistItemKind), error=error
    ), status


def _apply(action: Callable[[], Any], done: str) -> Response | tuple[str, int]:
    try:
        action()
        g.admin_db.commit()
    except DomainError as exc:
        g.admin_db.rollback()
        return stages(exc.message, 400)
    flash(done)
    return redirect(url_for("admin.stages"))


@bp.post("/stages/add")
def stage_add() -> Response | tuple[str, int]:
    form = request.form
    return _apply(
        lambda: use_cases.add_stage(
            g.admin_db, g.admin, name=form.get("name", ""), win_probability=form.get("win_probability", "")
        ),
        "已新增阶段",
    )


@bp.post("/stages/<int(min=1, max=9007199254740991):stage_id>/edit")
def stage_edit(stage_id: int) -> Response | tuple[str, int]:
    form = request.form
    return _apply(
        lambda: use_cases.update_stage(
            g.admin_db, g.admin, stage_id, name=form.get("name", ""), win_probability=form.get("win_probability", "")
        ),
        "已保存阶段",
    )


@bp.post("/stages/<int(min=1, max=9007199254740991):stage_id>/move")
def stage_move(stage_id: int) -> Response | tuple[str, int]:
    direction = request.form.get("direction", "")
    return _apply(lambda: use_cases.move_stage(g.admin_db, g.admin, stage_id, direction=direction), "已调整顺序")


@bp.post("/stages/<int(min=1, max=9007199254740991):stage_id>/retire")
def stage_retire(stage_id: int) -> Response | tuple[str, int]:
    return _apply(lambda: use_cases.retire_stage(g.admin_db, g.admin, stage_id), "已停用阶段")


@bp.post("/stages/<int(min=1, max=9007199254740991):stage_id>/items/add")
def item_add(stage_id: int) -> Response | tuple[str, int]:
    form = request.form
    return _apply(
        lambda: use_cases.add_item(
            g.admin_db,
            g.admin,
            stage_id,
            name=form.get("name", ""),
            kind=form.get("kind", ""),
            required=form.get("required") == "on",
        ),
        "已新增检查项（只对之后的阶段推进生效）",
    )


@bp.post("/items/<int(min=1, max=9007199254740991):item_id>/edit")
def item_edit(item_id: int) -> Response | tuple[str, int]:
    form = request.form
    return _apply(
        lambda: use_cases.update_item(
            g.admin_db,
            g.admin,
            item_id,
            name=form.get("name", ""),
            kind=form.get("kind", ""),
            required=form.get("required") == "on",
        ),
        "已保存检查项",
    )


@bp.post("/items/<int(min=1, max=9007199254740991):item_id>/retire")
def item_retire(item_id: int) -> Response | tuple[str, int]:
    return _apply(lambda: use_cases.retire_item(g.admin_db, g.admin, item_id), "已停用检查项（历史记录保留）")
