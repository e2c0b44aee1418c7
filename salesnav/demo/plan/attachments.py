"""The visit photo and visit notes every rep has uploaded: their rows and their bytes on disk.

Rows and files live together so the stored hash, size and storage path always match the bytes written.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from salesnav.demo import vocab
from salesnav.handlers.attachments import storage_path
from salesnav.reports.health_pdf import _font
from salesnav.settings import current_settings

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


@cache
def visit_files() -> tuple[tuple[str, str, bytes], ...]:
    """The demo's two attachment files: a visit photo (a small PNG) and visit notes (a one-page PDF)."""
    from PIL import Image, ImageDraw  # the demo's files only; Pillow loads on first use

    image = Image.new("RGB", (96, 64), (222, 235, 247))
    ImageDraw.Draw(image).rectangle((8, 8, 87, 55), outline=(22, 119, 255), width=3)
    photo = io.BytesIO()
    image.save(photo, format="PNG")
    notes = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    return (("拜访现场照片.png", "image/png", photo.getvalue()), ("拜访纪要.pdf", "application/pdf", notes))


@cache
def material_file(title: str, description: str) -> bytes:
    """A material's one-page PDF (the title and what it is for), made the same way every time."""
    from reportlab.lib.pagesizes import A4  # the demo's files only; reportlab loads on first use
    from reportlab.pdfgen.canvas import Canvas  # the demo's files only

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)  # invariant: no timestamp, so the hash is stable
    font = _font()
    canvas.setFont(font, 20)
    canvas.drawString(60, 760, title)
    canvas.setFont(font, 12)
    canvas.drawString(60, 730, description)
    canvas.drawString(60, 710, "销售导航仪演示素材 · 市场部")
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def material_files() -> list[tuple[str, bytes]]:
    """Each demo material's file name and bytes, in the order of `vocab.MATERIALS`."""
    return [
        (f"{title.strip('《》')}.pdf", material_file(title, f"{title}：市场部发布，可直接转发客户。"))
        for title, *_ in vocab.MATERIALS
    ]


def write_attachment_files(root: Path) -> None:
    """Put the demo attachments' bytes where uploads live (by SHA-256, as `store_attachment` does)."""
    for _, data in material_files():
        path = storage_path(root, hashlib.sha256(data).hexdigest())
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for _, _, data in visit_files():
        path = storage_path(root, hashlib.sha256(data).hexdigest())
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def default_attachments_root() -> Path:
    return current_settings().attachments_dir


def add_visit_attachments(plan: DemoPlan) -> None:
    """Each rep's visit photo and visit notes: one row per rep and file (uploads are kept once per user
    and content), the bytes once under the attachments folder (see `write_attachment_files`)."""
    plan.rep_attachments = {}
    for rep in plan.reps:
        ids = []
        for filename, content_type, data in visit_files():
            attachment_id = plan.ids("attachments")
            sha256 = hashlib.sha256(data).hexdigest()
            joined = plan.window_start - timedelta(days=200)
            plan.rows["attachments"].append(
                {
                    "id": attachment_id,
                    "sha256": sha256,
                    "filename": filename,
                    "content_type": content_type,
                    "size_bytes": len(data),
                    "storage_path": f"{sha256[:2]}/{sha256[2:4]}/{sha256}",
                    "uploaded_by_id": rep["id"],
                    "created_at": joined,
                    "updated_at": joined,
                }
            )
            ids.append(attachment_id)
        plan.rep_attachments[rep["id"]] = ids
