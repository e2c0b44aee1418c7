"""The materials library (素材): admins upload, tag and retire; retired material stays on record."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from salesnav.handlers.admin.materials import add_material, materials, retire_material
from salesnav.handlers.errors import DomainError, Forbidden
from salesnav.models import Attachment, AuditEntry
from tests import factories as f


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _add(session, actor, tmp_path, **overrides):
    fields = {
        "title": "《DR设备维保服务包对比指南》",
        "description": "三家厂商维保条款对比",
        "product_line": "DR设备",
        "stage_code": "negotiation",
        "customer_kind": "医院",
        "tags": "维保，对比、DR",
        "url": None,
        "data": _png(),
        "filename": "对比图.png",
        "root": tmp_path,
    }
    fields.update(overrides)
    return add_material(session, actor, **fields)


def test_an_admin_uploads_a_tagged_material_stored_by_content_hash(session, frozen_clock, tmp_path):
    org = f.org(session)
    material = _add(session, org.admin, tmp_path)
    attachment = session.get(Attachment, material.attachment_id)
    assert (material.product_line, material.stage_code, material.customer_kind) == ("DR设备", "negotiation", "hospital")
    assert material.tags == ["维保", "对比", "DR"]
    assert attachment.content_type == "image/png" and len(attachment.sha256) == 64
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "material")).one()
    assert (audit.action, audit.actor_id) == ("create", org.admin.id)


def test_retiring_keeps_the_material_listed_after_the_live_ones(session, frozen_clock, tmp_path):
    org = f.org(session)
    old = _add(session, org.admin, tmp_path, title="旧版指南")
    new = _add(session, org.admin, tmp_path, title="新版指南", data=None, url="https://example.test/guide")
    retire_material(session, org.admin, old.id)
    assert old.retired_at == frozen_clock.now()
    assert [m.title for m in materials(session)] == ["新版指南", "旧版指南"]
    with pytest.raises(DomainError, match="已下架"):
        retire_material(session, org.admin, old.id)
    assert new.retired_at is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": "  "}, "素材标题"),
        ({"data": None, "url": None}, "上传文件或填写链接"),
        ({"data": None, "url": "ftp://example.test/x"}, "http"),
        ({"stage_code": "no_such_stage"}, "阶段不存在"),
        ({"customer_kind": "外星人"}, "客户类型"),
    ],
)
def test_bad_material_input_is_refused_in_chinese(session, frozen_clock, tmp_path, overrides, message):
    org = f.org(session)
    with pytest.raises(DomainError, match=message):
        _add(session, org.admin, tmp_path, **overrides)


def test_only_admins_manage_materials(session, frozen_clock, tmp_path):
    org = f.org(session)
    with pytest.raises(Forbidden):
        _add(session, org.manager, tmp_path)
