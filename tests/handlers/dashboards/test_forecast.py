"""Level 1's weighted pipeline forecast: each open deal's expected close month from the usual stays, weighted by
its win probability, and the forecast's error on past months made with only what was known then."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.demo.win_history import write_history
from salesnav.handlers import win_probability
from salesnav.handlers.dashboards.forecast import pipeline_forecast
from salesnav.models import Opportunity, OpportunityStatus
from tests import factories as f
from tests.handlers.battle_pack.arrange import customer, open_deal

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def org(session, frozen_clock):
    return f.org(session)


def test_without_history_each_stage_lasts_30_days_and_the_stage_table_weights(session, org):
    now = clock.now()  # Mon 2 March 2026
    for name, stage, days_in, amount in (
        ("甲医院", "contract_approval", 10, 1_000_000),  # 20 days left: 22 March, this month
        ("乙医院", "negotiation", 25, 500_000),  # 5 + 30 days: 6 April, next month
        ("丙医院", "negotiation", 0, 800_000),  # 30 + 30 days: May, neither
    ):
        open_deal(
            session,
            org.rep,
            customer(session, org.rep, name),
            product_line="超声",
            stage=stage,
            amount_yuan=amount,
            stage_entered_at=now - timedelta(days=days_in),
        )

    forecast = pipeline_forecast(session, now, SHANGHAI)

    assert forecast.source == "stage_table" and forecast.note.startswith("按阶段赢率表加权")
    this, following = forecast.months
    assert (this.month, this.label, this.deals, this.pipeline_fen, this.weighted_fen) == (
        "2026-03",
        "本月",
        1,
        100_000_000,
        90_000_000,
    )
    assert (following.month, following.label, following.deals, following.weighted_fen) == (
        "2026-04",
        "下月",
        1,
        37_500_000,
    )
    assert [p.month for p in forecast.past] == ["2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02"]
    assert all(p.actual_fen == 0 and p.error is None for p in forecast.past) and forecast.mae is None


def test_past_months_compare_the_forecast_made_then_with_what_was_won(session, org):
    write_history(session, org.rep, deals=260, now=clock.now())
    assert win_probability.retrain(session, clock.now(), "20260302").model.in_use

    forecast = pipeline_forecast(session, clock.now(), SHANGHAI)

    assert forecast.source == "model" and forecast.version
    won = session.execute(
        select(Opportunity.closed_at, Opportunity.expected_amount_fen).where(
            Opportunity.status == OpportunityStatus.WON
        )
    ).all()
    for month in forecast.past:
        actual = sum(a for at, a in won if at.astimezone(SHANGHAI).strftime("%Y-%m") == month.month)
        assert month.actual_fen == actual
        if actual:
            assert month.error == pytest.approx(abs(month.forecast_fen - actual) / actual)
    errors = [p.error for p in forecast.past if p.error is not None]
    assert errors and forecast.mae == pytest.approx(sum(errors) / len(errors), abs=1e-4)
    assert forecast.mae_stage_table is not None
    assert all(m.weighted_fen <= m.pipeline_fen for m in forecast.months)
