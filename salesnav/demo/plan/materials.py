"""The marketing materials library, published steadily over the six months."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

from salesnav.demo import vocab
from salesnav.demo.plan.attachments import material_files

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


def add_materials(plan: DemoPlan) -> None:
    """Each material is a file we keep (its PDF under the attachments folder), so the link in a battle pack opens."""
    files = material_files()
    for n, (title, product, stage, kind, tags) in enumerate(vocab.MATERIALS):
        material_id = plan.ids("materials")
        published = plan.window_start + timedelta(days=15 * n + plan.rng.randint(0, 10), hours=2)
        filename, data = files[n]
        attachment_id = plan.ids("attachments")
        sha256 = hashlib.sha256(data).hexdigest()
        plan.rows["attachments"].append(
            {
                "id": attachment_id,
                "sha256": sha256,
                "filename": filename,
                "content_type": "application/pdf",
                "size_bytes": len(data),
                "storage_path": f"{sha256[:2]}/{sha256[2:4]}/{sha256}",
                "uploaded_by_id": None,
                "created_at": published,
                "updated_at": published,
            }
        )
        plan.rows["materials"].append(
            {
                "id": material_id,
                "title": title,
                "description": f"{title}：市场部发布，可直接转发客户。",
                "product_line": product,
                "stage_code": stage,
                "customer_kind": kind,
                "tags": list(tags),
                "attachment_id": attachment_id,
                "url": None,
                "published_at": published,
                "retired_at": None,
                "created_at": published,
                "updated_at": published,
            }
        )
