"""1 reusable material matched to the rep's current stages, product lines and customer kinds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from salesnav.bot.battle_pack_card import render_markdown
from salesnav.handlers.battle_pack.compose import battle_pack_for, packs_for
from salesnav.settings import current_settings
from tests import factories as f
from tests.handlers.battle_pack.arrange import SHANGHAI, customer, local, material, open_deal

MONDAY = date(2026, 3, 2)


@pytest.fixture
def ten(frozen_clock):
    frozen_clock.set(local(MONDAY, 10))
    return frozen_clock.now()


def test_the_material_for_the_reps_product_line_and_stage_beats_general_and_other_ones(session, ten):
    org = f.org(session)
    week_ago = ten - timedelta(days=7)
    material(session, "公司介绍", published_at=week_ago)
    material(
        session,
        "CT球管竞品对比白皮书",
        product_line="CT球管",
        stage_code="solution_demo",
        published_at=week_ago,
        url="https://example.test/ct.pdf",
    )
    material(session, "CT球管报价模板", product_line="CT球管", stage_code="negotiation", published_at=week_ago)
    material(session, "超声成功案例", product_line="超声", published_at=week_ago)
    material(
        session,
        "CT球管已下线资料",
        product_line="CT球管",
        stage_code="solution_demo",
        published_at=week_ago,
        retired=True,
    )
    material(
        session,
        "CT球管未发布资料",
        product_line="CT球管",
        stage_code="solution_demo",
        published_at=ten + timedelta(days=1),
    )
    cust = customer(session, org.rep, "华山医院")
    open_deal(
        session,
        org.rep,
        cust,
        product_line="CT球管",
        stage="solution_demo",
        amount_yuan=500_000,
        stage_entered_at=ten - timedelta(days=2),
    )
    session.commit()

    pack = battle_pack_for(session, org.rep, ten, SHANGHAI)

    assert pack.material is not None and pack.material.title == "CT球管竞品对比白皮书"
    assert pack.material.reason == "匹配您「CT球管」商机的「方案演示」阶段（1 个商机）"
    # The link is ours: /materials/<id> serves the file we keep, or passes on to the address it stands for.
    link = f"{current_settings().public_url}/materials/{pack.material.material_id}"
    assert f"**可复用素材**：[CT球管竞品对比白皮书]({link})" in render_markdown(pack, SHANGHAI)


def test_equally_good_materials_take_turns_day_by_day(session, ten):
    org = f.org(session)
    for title in ("DR设备方案A", "DR设备方案B"):
        material(session, title, product_line="DR设备", published_at=ten - timedelta(days=3))
    cust = customer(session, org.rep, "仁济医院")
    open_deal(
        session,
        org.rep,
        cust,
        product_line="DR设备",
        stage="needs_confirmed",
        amount_yuan=800_000,
        stage_entered_at=ten - timedelta(days=2),
    )
    session.commit()

    picks = [
        packs_for(session, ten, MONDAY + timedelta(days=d), rep_ids=[org.rep.id])[0].material.title for d in range(2)
    ]

    assert sorted(picks) == ["DR设备方案A", "DR设备方案B"]


def test_a_rep_without_open_deals_gets_a_general_material_or_an_honest_none(session, ten):
    org = f.org(session)
    material(session, "CT球管竞品对比白皮书", product_line="CT球管", published_at=ten - timedelta(days=1))
    session.commit()
    pack = battle_pack_for(session, org.rep, ten, SHANGHAI)
    assert pack.material is None
    assert "**可复用素材**：素材库暂无匹配的素材" in render_markdown(pack, SHANGHAI)

    material(session, "医疗设备采购政策解读", published_at=ten - timedelta(days=1))
    session.commit()
    pack = battle_pack_for(session, org.rep, ten, SHANGHAI)
    assert pack.material is not None and pack.material.title == "医疗设备采购政策解读"
    assert pack.material.reason == "通用素材，适合开拓新客户"
