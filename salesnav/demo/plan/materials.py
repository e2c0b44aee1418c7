"""The marketing materials library, published steadily over the six months."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from salesnav.demo import vocab
from salesnav.demo.baseline import EMAIL_DOMAIN

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


def add_materials(plan: DemoPlan) -> None:
    for n, (title, product, stage, kind, tags) in enumerate(vocab.MATERIALS):
        material_id = plan.ids("materials")
        published = plan.window_start + timedelta(days=15 * n + plan.rng.randint(0, 10), hours=2)
        plan.rows["materials"].append(
            {
                "id": material_id,
                "title": title,
                "description": f"{title}：市场部发布，可直接转发客户。",
                "product_line": product,
                "stage_code": stage,
                "customer_kind": kind,
                "tags": list(tags),
                "attachment_id": None,
                "url": f"https://{EMAIL_DOMAIN}/materials/{material_id}",
                "published_at": published,
                "retired_at": None,
                "created_at": published,
                "updated_at": published,
            }
        )
