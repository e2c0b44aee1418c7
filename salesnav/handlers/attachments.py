"""Store an uploaded file: its type judged by content (never by its name), its bytes kept once per hash."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import filetype
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import record_event
from salesnav.handlers.scope import can_access_owner
from salesnav.models import Attachment, Material, User

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # a 40-megapixel photo is already more than any phone sends
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024  # a PPTX that inflates beyond this is a zip bomb, not a deck
MAX_ZIP_RATIO = 200

IMAGES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp", "heic": "image/heic"}
DOCUMENTS = {
    "pdf": "application/pdf",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
AUDIO = {"amr": "audio/amr", "mp3": "audio/mpeg", "m4a": "audio/mp4", "wav": "audio/wav", "silk": "audio/silk"}
ALLOWED = {**IMAGES, **DOCUMENTS, **AUDIO}
ALLOWED_TEXT = "图片（JPG/PNG/WEBP/HEIC）、PDF、PPT/PPTX 或语音（AMR/MP3/M4A/WAV/SILK）"


class UploadRefused(DomainError):
    code = "unsupported_type"


class UploadTooLarge(DomainError):
    code = "too_large"


@dataclass(frozen=True)
class Sniffed:
    extension: str
    content_type: str


def sniff(data: bytes) -> Sniffed:
    """What the bytes are, or UploadRefused. The file name plays no part."""
    # SILK (WeChat voice) has no entry in filetype; WeChat prefixes its header with 0x02.
    if data.startswith((b"#!SILK_V3", b"\x02#!SILK_V3")):
        return Sniffed("silk", AUDIO["silk"])
    kind = filetype.guess(data[:8192])
    extension = kind.extension if kind else None
    if extension == "zip" or extension == "pptx":
        extension = "pptx" if _is_pptx(data) else None
    if extension not in ALLOWED:
        raise UploadRefused(f"不支持的文件类型，请上传{ALLOWED_TEXT}")
    if extension in ("jpg", "png", "webp"):
        _check_image(data)
    return Sniffed(extension, ALLOWED[extension])


def _is_pptx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            inflated = sum(e.file_size for e in entries)
            packed = sum(e.compress_size for e in entries) or 1
            if inflated > MAX_UNZIPPED_BYTES or inflated / packed > MAX_ZIP_RATIO:
                raise UploadRefused("文件解压后异常巨大，已拒绝")
            return any(e.filename.startswith("ppt/") for e in entries)
    except zipfile.BadZipFile:
        return False


def _check_image(data: bytes) -> None:
    """Read only the header: a decompression bomb is refused before a single pixel is decoded."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError as exc:
        raise UploadRefused("图片尺寸异常巨大，已拒绝") from exc
    except Exception as exc:  # Pillow raises many types for a broken file
        raise UploadRefused("图片已损坏，无法打开") from exc
    if width * height > MAX_IMAGE_PIXELS:
        raise UploadRefused("图片尺寸异常巨大，已拒绝")


def storage_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256[2:4] / sha256


def store_attachment(
    session: Session,
    actor: User | None,
    *,
    data: bytes,
    filename: str,
    root: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Attachment:
    """Keep the bytes once under `root` by SHA-256; the same user uploading the same file gets the same row.
    `actor` None: a file the system made (a report), kept the same way."""
    if not data:
        raise UploadRefused("文件是空的")
    if len(data) > max_bytes:
        raise UploadTooLarge(f"文件过大（最大 {max_bytes // (1024 * 1024)} MB）")
    sniffed = sniff(data)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = session.scalars(
        select(Attachment).where(
            Attachment.sha256 == sha256,
            Attachment.uploaded_by_id.is_(None) if actor is None else Attachment.uploaded_by_id == actor.id,
            Attachment.deleted_at.is_(None),
        )
    ).first()
    if existing is not None:
        return existing
    stem = Path(filename or "file").stem[:200] or "file"
    return _keep(session, actor, data, sha256, f"{stem}.{sniffed.extension}", sniffed.content_type, root)


def keep_unrecognised(session: Session, actor: User, *, data: bytes, filename: str, root: Path) -> Attachment:
    """Keep bytes we could not recognise (e.g. a voice note in an unknown format), so nothing a user sent is lost.

    Stored as application/octet-stream and never served as anything else; the event says it was not recognised.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    name = f"{(filename or 'file')[:200]}.bin"
    return _keep(session, actor, data, sha256, name, "application/octet-stream", root, recognised=False)


def keep_generated(session: Session, *, data: bytes, filename: str, content_type: str, root: Path) -> Attachment:
    """Keep a file the system made itself (a report workbook), of a type no user may upload: its type is the one
    we wrote, not sniffed."""
    return _keep(session, None, data, hashlib.sha256(data).hexdigest(), filename[:200], content_type, root)


def _keep(
    session: Session,
    actor: User | None,
    data: bytes,
    sha256: str,
    filename: str,
    content_type: str,
    root: Path,
    **event_details: object,
) -> Attachment:
    path = storage_path(root, sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file, and two equal uploads race harmlessly.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    attachment = Attachment(
        sha256=sha256,
        filename=filename,
        content_type=content_type,
        size_bytes=len(data),
        storage_path=str(path.relative_to(root)),
        uploaded_by_id=actor.id if actor else None,
    )
    session.add(attachment)
    session.flush()
    record_event(
        session, "attachment.stored", "attachment", attachment.id, actor, content_type=content_type, **event_details
    )
    return attachment


def attachment_for(session: Session, actor: User, attachment_id: int) -> Attachment:
    """The uploader, and whoever may see the uploader's records (their manager, the director)."""
    attachment = session.get(Attachment, attachment_id)
    if (
        attachment is None
        or attachment.deleted_at
        or attachment.uploaded_by_id is None
        or not can_access_owner(session, actor, attachment.uploaded_by_id)
    ):
        raise NotFound("附件不存在或您无权查看")
    return attachment


def usable_attachment(session: Session, actor: User, attachment_id: int) -> Attachment:
    """A file the actor may attach to a record they write: one they may see (`attachment_for`: their own upload,
    or one of someone in their scope), or a published file of the material library (素材库)."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.deleted_at:
        raise NotFound("附件不存在或您无权使用")
    if attachment.uploaded_by_id is not None and can_access_owner(session, actor, attachment.uploaded_by_id):
        return attachment
    in_library = session.scalar(
        select(Material.id).where(Material.attachment_id == attachment.id, Material.retired_at.is_(None)).limit(1)
    )
    if in_library is None:
        raise NotFound("附件不存在或您无权使用")
    return attachment
