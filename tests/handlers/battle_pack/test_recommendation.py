"""1 lead to review: the open deal lagging most behind the stage path of similar won deals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from salesnav.bot.battle_pack_card import render_markdown
from salesnav.handlers.battle_pack.compose import battle_pack_for
from tests import factories as f
from tests.handlers.battle_pack.arrange import SHANGHAI, customer, local, open_deal, won_deal

MONDAY = date(2026, 3, 2)
# Won CT球管 deals at 三甲 hospitals: 需求确认 after 5 days, 方案演示 after 10, 商务谈判 after 16 (6 days in 方案演示),
# 合同审批 after 26, won after 30.
CT_DAYS = (0, 5, 10, 16, 26, 30)


@pytest.fixture
def ten(frozen_clock):
    frozen_clock.set(local(MONDAY, 10))
    return frozen_clock.now()


def _wins(session, owner, *, product_line, grade, count, days=CT_DAYS, start_days_ago=200, ten=None):
    for i in range(count):
        cust = customer(session, owner, f"{product_line}{grade}赢单医院{i}", grade=grade)
        won_deal(
            session, owner, cust, product_line=product_line, start=ten - timedelta(days=start_days_ago - i), days=days
        )


def test_the_lead_lagging_most_behind_similar_won_deals_is_recommended_and_explained(session, ten):
    org = f.org(session)
    _wins(session, org.other_rep, product_line="CT球管", grade="三甲", count=3, ten=ten)
    # Won 超声 deals went fast through 方案演示: they must not be compared with a CT球管 lead.
    _wins(session, org.other_rep, product_line="超声", grade="三甲", count=3, days=(0, 1, 2, 3, 4, 5), ten=ten)
    huashan = customer(session, org.rep, "华山医院")
    zhongshan = customer(session, org.rep, "中山医院")
    open_deal(
        session,
        org.rep,
        huashan,
        product_line="CT球管",
        stage="solution_demo",
        amount_yuan=580_000,
        stage_entered_at=ten - timedelta(days=14),
    )  # 14 days in 方案演示 vs 6: 8 days behind
    open_deal(
        session,
        org.rep,
        zhongshan,
        product_line="CT球管",
        stage="needs_confirmed",
        amount_yuan=900_000,
        stage_entered_at=ten - timedelta(days=6),
    )  # 6 days vs 5: 1 day behind
    session.commit()

    pack = battle_pack_for(session, org.rep, ten, SHANGHAI)

    lead = pack.lead
    assert lead is not None and lead.title == "华山医院CT球管"
    assert lead.similarity == "同产品线「CT球管」、同为三甲客户的 3 个赢单"
    assert lead.path_text == "初步接触→需求确认→方案演示→商务谈判→合同审批→赢单，平均用时 30 天"
    assert (round(lead.days_in_stage), round(lead.won_days_in_stage), round(lead.lag_days)) == (14, 6, 8)
    assert lead.lagging and lead.suggestion == "按赢单路径推进到「商务谈判」"
    text = render_markdown(pack, SHANGHAI)
    assert "**推荐复盘线索**：华山医院「CT球管」（方案演示，58.0万元）"  # the customer named once in text
    assert "落后之处：" in text and "在「方案演示」已停留 14 天，相似赢单平均 6 天，落后 8 天" in text


def test_too_few_wins_of_the_same_grade_fall_back_to_the_same_product_line(session, ten):
    org = f.org(session)
    _wins(session, org.other_rep, product_line="CT球管", grade="三甲", count=2, ten=ten)
    _wins(session, org.other_rep, product_line="CT球管", grade="二甲", count=1, ten=ten)
    cust = customer(session, org.rep, "县人民医院", grade="二甲")
    open_deal(
        session,
        org.rep,
        cust,
        product_line="CT球管",
        stage="solution_demo",
        amount_yuan=300_000,
        stage_entered_at=ten - timedelta(days=3),
    )
    session.commit()

    lead = battle_pack_for(session, org.rep, ten, SHANGHAI).lead

    assert lead is not None and lead.similarity == "同产品线「CT球管」的 3 个赢单"
    assert not lead.lagging  # 3 days in 方案演示 against 6: on track
    assert "节奏正常" in render_markdown(battle_pack_for(session, org.rep, ten, SHANGHAI), SHANGHAI)


def test_wins_older_than_the_history_window_do_not_count_and_no_lead_is_invented(session, ten):
    org = f.org(session)
    _wins(session, org.other_rep, product_line="CT球管", grade="三甲", count=3, start_days_ago=500, ten=ten)
    cust = customer(session, org.rep, "华山医院")
    open_deal(
        session,
        org.rep,
        cust,
        product_line="CT球管",
        stage="solution_demo",
        amount_yuan=300_000,
        stage_entered_at=ten - timedelta(days=30),
    )
    session.commit()

    pack = battle_pack_for(session, org.rep, ten, SHANGHAI)

    assert pack.lead is None
    assert "**推荐复盘线索**：暂无可对照相似赢单路径的进行中商机" in render_markdown(pack, SHANGHAI)
