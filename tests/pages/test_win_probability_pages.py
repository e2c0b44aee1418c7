"""赢单概率 on the deal page and 赢单预测 on Level 1 (the page and its JSON for the mini-program)."""

from __future__ import annotations

import requests

from salesnav import clock
from salesnav.demo.win_history import write_history
from salesnav.handlers import win_probability
from tests import factories as f
from tests.bot.conftest import LiveApp
from tests.pages.conftest import sign_in
from tests.rules.arrange import deal


def _bearer(live: LiveApp, userid: str) -> dict[str, str]:
    token = requests.post(live.base_url + "/api/v1/auth/login", json={"code": f"dev-{userid}"}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_level_one_forecasts_the_weighted_pipeline_by_month(live_pages: LiveApp, session, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    # 合同审批 (table 90 %), entered now; with no closed deals every stage's usual stay is 30 days: the deal is
    # expected on 1 April, next month, weighted 58万 × 90 % = 52.2万.
    deal(session, f.org(session), stage="contract_approval")
    session.commit()

    _browser, page = sign_in(live_pages.base_url, "dir01", "/dashboards/exec")

    assert page.status_code == 200 and "赢单预测（加权商机金额）" in page.text
    assert "下月（2026-04）预计赢单" in page.text and "52.2 万元" in page.text
    assert "1 个商机，合计 58.0 万元" in page.text and "按阶段赢率表加权" in page.text
    body = requests.get(live_pages.base_url + "/api/v1/dashboards/exec", headers=_bearer(live_pages, "dir01")).json()
    this, following = body["forecast"]["months"]
    assert (this["label"], this["weighted_fen"]) == ("本月", 0)
    assert (following["label"], following["month"], following["weighted_fen"]) == ("下月", "2026-04", 52_200_000)
    assert len(body["forecast"]["past"]) == 6 and body["forecast"]["source"] == "stage_table"


def test_the_deal_page_shows_the_learned_probability_and_its_reasons(
    live_pages: LiveApp, session, frozen_clock
) -> None:  # type: ignore[no-untyped-def]
    org = f.org(session)
    _, opp = deal(session, org, stage="sample_test")
    write_history(session, org.other_rep, deals=220, now=clock.now())
    model = win_probability.retrain(session, clock.now(), "20260302").model
    expected = win_probability.win_probability(session, org.rep, opp.id, clock.now())
    session.commit()

    _browser, page = sign_in(live_pages.base_url, "rep01", f"/dashboards/opportunities/{opp.id}")

    assert page.status_code == 200
    assert f'赢单概率 <span class="num small">{expected.percent}%</span>' in page.text
    assert f"模型 {model.version}，学自本公司" in page.text and "阶段赢率表为 60%" in page.text
    assert expected.reasons
    for reason in expected.reasons:
        assert f"{'↑' if reason.weight > 0 else '↓'} {reason.text}" in page.text
