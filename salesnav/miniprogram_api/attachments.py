"""Attachments: upload a photo, PDF, deck or voice note (type judged by content), read its record or bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import marshmallow as ma
from flask import Response, current_app, send_file
from flask_smorest.fields import Upload
from marshmallow import fields

from salesnav.handlers.attachments import DEFAULT_MAX_BYTES, attachment_for, store_attachment
from salesnav.handlers.errors import DomainError
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import ID, bp
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import Attachment

TAGS = ["附件"]


def attachments_root() -> Path:
    return current_app.config["SALESNAV"].attachments_dir


def max_upload_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


class UploadIn(ma.Schema):
    file = Upload(required=True, metadata={"description": "图片、PDF、PPT/PPTX 或语音，按内容识别类型"})


class AttachmentOut(ma.Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)


def read_upload(files: dict[str, Any]) -> tuple[bytes, str]:
    """The bytes of the uploaded `file`, read no further than one byte past the limit."""
    upload = files.get("file")
    if upload is None:
        raise DomainError("请选择要上传的文件")
    return upload.stream.read(max_upload_bytes() + 1), upload.filename or "file"


@bp.route("/attachments", methods=["POST"])
@bp.arguments(UploadIn, location="files")
@bp.response(201, AttachmentOut)
@bp.doc(tags=TAGS, summary="上传附件（大小与类型按内容检查；相同内容只存一份）")
def upload(files: dict[str, Any]) -> Attachment:
    data, filename = read_upload(files)
    attachment = store_attachment(
        db_session(),
        current_actor(),
        data=data,
        filename=filename,
        root=attachments_root(),
        max_bytes=max_upload_bytes(),
    )
    commit()
    return attachment


@bp.route(f"/attachments/<{ID}:attachment_id>", methods=["GET"])
@bp.response(200, AttachmentOut)
@bp.doc(tags=TAGS, summary="附件信息")
def read_attachment(attachment_id: int) -> Attachment:
    return attachment_for(db_session(), current_actor(), attachment_id)


@bp.route(f"/attachments/<{ID}:attachment_id>/content", methods=["GET"])
@bp.response(200, description="附件内容", content_type="application/octet-stream")
@bp.doc(
    tags=TAGS,
    summary="下载附件内容",
    responses={
        "200": {"description": "附件内容", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
def download(attachment_id: int) -> Response:
    attachment = attachment_for(db_session(), current_actor(), attachment_id)
    return send_file(
        attachments_root() / attachment.storage_path,
        mimetype=attachment.content_type,
        download_name=attachment.filename,
    )
