"""A material's file (素材), as the battle pack links it: /materials/<id> for any signed-in member.

The file is served from our own attachment store; a material that is only a web address is passed on to it.
Members reach this from the link in their 今日作战包; WeCom's in-app browser signs them in (pages/auth.py).
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, send_file
from werkzeug.wrappers import Response

from salesnav.handlers.errors import NotFound
from salesnav.models import Attachment, Material
from salesnav.pages.auth import require_user
from salesnav.settings import Settings

bp = Blueprint("materials", __name__)


@bp.get("/materials/<int(min=1, max=9007199254740991):material_id>")
@require_user()
def material_file(material_id: int) -> Response:
    material = g.db.get(Material, material_id)
    if material is None or material.deleted_at is not None:
        raise NotFound("素材不存在")
    attachment = g.db.get(Attachment, material.attachment_id) if material.attachment_id else None
    if attachment is not None and attachment.deleted_at is None:
        settings: Settings = current_app.config["SALESNAV"]
        path = settings.attachments_dir / attachment.storage_path
        if path.is_file():
            return send_file(path, mimetype=attachment.content_type, download_name=attachment.filename)
    if material.url and material.url.startswith(("https://", "http://")):
        return redirect(material.url)
    raise NotFound("该素材的文件不存在，请联系市场部")
