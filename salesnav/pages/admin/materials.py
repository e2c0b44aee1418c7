"""Materials library pages: list, upload with tags, retire."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from salesnav.handlers.admin import materials as use_cases
from salesnav.handlers.admin import stages as stage_cases
from salesnav.handlers.errors import DomainError
from salesnav.models import Attachment, CustomerKind
from salesnav.pages.admin import bp


def _root() -> Path:
    return current_app.config["SALESNAV"].attachments_dir


def _render(error: str | None = None, form: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    s = g.admin_db
    items = use_cases.materials(s)
    files = {
        a.id: a
        for a in s.scalars(
            select(Attachment).where(Attachment.id.in_({m.attachment_id for m in items if m.attachment_id}))
        )
    }
    stage_names = {st.code: st.name for st in stage_cases.stages(s)}
    return render_template(
        "admin/materials.html",
        items=items,
        files=files,
        stages=stage_cases.stages(s),
        stage_names=stage_names,
        kinds=list(CustomerKind),
        error=error,
        form=form or {},
    ), status


@bp.get("/materials")
def materials() -> tuple[str, int]:
    return _render()


@bp.post("/materials")
def material_add() -> Response | tuple[str, int]:
    form = request.form
    upload = request.files.get("file")
    data = upload.read() if upload and upload.filename else None
    try:
        use_cases.add_material(
            g.admin_db,
            g.admin,
            title=form.get("title", ""),
            description=form.get("description"),
            product_line=form.get("product_line"),
            stage_code=form.get("stage_code"),
            customer_kind=form.get("customer_kind"),
            tags=form.get("tags"),
            url=form.get("url"),
            data=data,
            filename=upload.filename if upload else None,
            root=_root(),
        )
        g.admin_db.commit()
    except DomainError as exc:
        g.admin_db.rollback()
        return _render(exc.message, form.to_dict(), 400)
    flash("素材已上架")
    return redirect(url_for("admin.materials"))


@bp.post("/materials/<int(min=1, max=9007199254740991):material_id>/retire")
def material_retire(material_id: int) -> Response:
    use_cases.retire_material(g.admin_db, g.admin, material_id)
    g.admin_db.commit()
    flash("素材已下架")
    return redirect(url_for("admin.materials"))
