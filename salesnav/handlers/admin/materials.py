"""The materials library (素材库): upload a file (or give a link), tag it by product line, stage and
customer type, and retire it. Retired materials stay in the table (and in old battle packs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.admin.guard import require_admin
from salesnav.handlers.attachments import store_attachment
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.records import audit
from salesnav.models import CustomerKind, Material, Stage, User


def _snapshot(material: Material) -> dict[str, Any]:
    return {
        "title": material.title,
        "product_line": material.product_line,
        "stage_code": material.stage_code,
        "customer_kind": material.customer_kind,
        "tags": list(material.tags or []),
        "attachment_id": material.attachment_id,
        "url": material.url,
        "retired_at": material.retired_at and material.retired_at.isoformat(),
    }


def materials(session: Session) -> list[Material]:
    return list(
        session.scalars(
            select(Material)
            .where(Material.deleted_at.is_(None))
            .order_by(Material.retired_at.is_not(None), Material.published_at.desc(), Material.id.desc())
        )
    )


def add_material(
    session: Session,
    actor: User,
    *,
    title: str,
    description: str | None,
    product_line: str | None,
    stage_code: str | None,
    customer_kind: str | None,
    tags: str | None,
    url: str | None,
    data: bytes | None,
    filename: str | None,
    root: Path,
) -> Material:
    require_admin(actor)
    title = " ".join((title or "").split())
    if not title:
        raise DomainError("请填写素材标题")
    if len(title) > 200:
        raise DomainError("素材标题最多 200 个字")
    url = (url or "").strip() or None
    if url is not None and not url.startswith(("https://", "http://")):
        raise DomainError("链接必须以 http:// 或 https:// 开头")
    if not data and url is None:
        raise DomainError("请上传文件或填写链接")
    stage_code = (stage_code or "").strip() or None
    if stage_code and session.scalar(select(Stage.id).where(Stage.code == stage_code)) is None:
        raise DomainError("所选阶段不存在")
    kind = (customer_kind or "").strip() or None
    if kind and CustomerKind.from_label(kind) is None:
        raise DomainError("客户类型只能是：医院、经销商或其他")
    attachment = store_attachment(session, actor, data=data, filename=filename or title, root=root) if data else None
    material = Material(
        title=title,
        description=(description or "").strip() or None,
        product_line=(product_line or "").strip()[:100] or None,
        stage_code=stage_code,
        customer_kind=CustomerKind.from_label(kind).value if kind else None,  # type: ignore[union-attr]  # the form's choices are the labels, checked by the page
        tags=[t for t in (tags or "").replace("，", ",").replace("、", ",").split(",") if t.strip()][:20],
        attachment_id=attachment.id if attachment else None,
        url=url,
        published_at=clock.now(),
    )
    material.tags = [t.strip()[:30] for t in material.tags]
    session.add(material)
    session.flush()
    audit(session, actor, "material", material.id, "create", {}, _snapshot(material))
    return material


def retire_material(session: Session, actor: User, material_id: int) -> Material:
    require_admin(actor)
    material = session.get(Material, material_id)
    if material is None or material.deleted_at is not None:
        raise NotFound("素材不存在")
    if material.retired_at is not None:
        raise DomainError("该素材已下架")
    before = _snapshot(material)
    material.retired_at = clock.now()
    audit(session, actor, "material", material.id, "retire", before, _snapshot(material))
    return material
