"""The director's Level 2 view of every team (团队总览): each team's figures read from the maintained aggregates
equal the same figures computed from the records for that team, and the page shows them to a director only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from salesnav import clock, metrics
from salesnav.handlers.dashboards.teams import teams_overview
from salesnav.metrics import Scope, Window, aggregates
from salesnav.models import DecisionRole
from salesnav.settings import current_settings
from tests import factories as f
from tests.bot.conftest import LiveApp
from tests.metrics import builders
from tests.pages.conftest import sign_in

ROLES = (DecisionRole.USER, DecisionRole.PURCHASER, DecisionRole.VETO)


def tz():
    return current_settings().business_tz


@pytest.fixture
def org(session, frozen_clock):
    org = f.org(session)
    now = clock.now()
    for rep, n in ((org.rep, 4), (org.other_rep, 2), (org.outsider_rep, 3)):
        customer = f.customer(session, rep, roles=ROLES)
        for k in range(n):
            at = now - timedelta(days=k, hours=3 * k + 1)
            builders.effective(session, rep, customer, at, emotion="positive" if k % 2 else "neutral")
        builders.deal(
            session,
            rep,
            customer,
            [("initial_contact", now - timedelta(days=1)), ("needs_confirmed", now - timedelta(hours=20))],
        )
    silent = f.customer(session, org.outsider_rep)
    builders.deal(session, org.outsider_rep, silent, [("initial_contact", now - timedelta(days=10))])
    session.commit()
    return org


def test_each_team_from_the_aggregates_equals_its_figures_from_the_records(session, org):
    now = clock.now()
    from_records = teams_overview(session, now.astimezone(tz()).date(), now, tz())  # aggregates not built yet
    aggregates.rebuild(session, now, tz())
    f.touchpoint(session, org.rep, f.customer(session, org.rep), now - timedelta(minutes=5))  # today: counted live
    kept = teams_overview(session, now.astimezone(tz()).date(), now, tz())
    assert [t.manager_name for t in kept.teams] == ["钱主管", "孙主管"]
    week = Window(kept.week_start, kept.counted_until)
    for team, manager in zip(kept.teams, (org.manager, org.other_manager), strict=True):
        scope = Scope.team(session, manager)
        assert team.reps == len(scope.rep_ids)
        assert team.touchpoints == metrics.visits_per_rep_month(session, week, scope).numerator
        assert team.effective_per_rep_week == metrics.effective_touchpoints_per_rep_week(session, week, scope)
        assert team.quality.numerator == pytest.approx(metrics.touchpoint_quality(session, week, scope).numerator)
        assert team.quality.denominator == metrics.touchpoint_quality(session, week, scope).denominator
        assert team.compliance == metrics.process_compliance(session, week, scope)
        assert team.penetration == metrics.collaboration_penetration(session, week, scope)
    first, second = kept.teams
    assert first.touchpoints == from_records.teams[0].touchpoints + 1
    assert second == from_records.teams[1]
    assert (first.open_deals, second.open_deals) == (2, 2)
    assert second.silent_deals == 1 and first.silent_deals == 0  # ten days without a follow-up: 超时未动
    assert second.open_amount_fen == 20_000_000


def test_the_page_is_the_directors(live_pages: LiveApp, org, session):
    aggregates.rebuild(session, clock.now(), tz())
    session.commit()
    _, page = sign_in(live_pages.base_url, "dir01", "/dashboards/teams")
    assert page.status_code == 200, page.text[:300]
    assert "团队总览（二级看板）" in page.text
    assert "钱主管 团队" in page.text and "孙主管 团队" in page.text
    assert f"/dashboards/team?manager={org.other_manager.id}" in page.text
    _, refused = sign_in(live_pages.base_url, "mgr01", "/dashboards/teams")
    assert refused.status_code == 403
