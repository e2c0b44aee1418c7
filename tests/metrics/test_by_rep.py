"""Per-rep counts summed over a team give the team's metrics exactly: the reports' one definition."""

from __future__ import annotations

from datetime import timedelta

import pytest

from salesnav import metrics
from salesnav.handlers.reports.team import Org
from salesnav.metrics import Scope, Window
from salesnav.metrics.by_rep import TeamFigures, counts_by_rep
from salesnav.metrics.scope import ScopeKind
from salesnav.models import Emotion
from tests import factories as f
from tests.metrics.builders import deal, effective, touchpoint, utc


def test_team_figures_from_per_rep_counts_equal_the_metrics_of_each_team_and_the_company(session, frozen_clock):
    org = f.org(session)
    window = Window(utc(2, 1), utc(3, 1))
    for n, rep in enumerate((org.rep, org.other_rep, org.outsider_rep), start=1):
        cust = f.customer(session, rep)
        for i in range(n):
            effective(session, rep, cust, utc(2, 2 + i))
        touchpoint(session, rep, cust, utc(2, 10), emotion=Emotion.RESISTANT)
        touchpoint(session, rep, cust, utc(1, 20))  # before the window
        opp = deal(session, rep, cust, [("initial_contact", utc(2, 3)), ("needs_confirmed", utc(2, 5))])
        if n == 2:
            opp.history[-1].override_reason = "客户要求"
        if n == 3:
            deal(session, rep, cust, [("initial_contact", utc(2, 3)), ("won", utc(2, 20))])
    session.flush()

    counts = counts_by_rep(session, window, Scope(ScopeKind.COMPANY))
    org_chart = Org.load(session)
    teams = {
        "钱主管": (org_chart.team_reps(org.manager.id), Scope.team(session, org.manager)),
        "孙主管": (org_chart.team_reps(org.other_manager.id), Scope.team(session, org.other_manager)),
        "全公司": (org_chart.all_reps(), Scope.company(session)),
    }
    for name, (rep_ids, scope) in teams.items():
        assert set(rep_ids) == set(scope.rep_ids), name
        figures = TeamFigures.of(window, rep_ids, counts)
        for mine, theirs in (
            (figures.effective_per_rep_week, metrics.effective_touchpoints_per_rep_week(session, window, scope)),
            (figures.visits_per_rep_month, metrics.visits_per_rep_month(session, window, scope)),
            (figures.record_completeness, metrics.record_completeness(session, window, scope)),
            (figures.process_compliance, metrics.process_compliance(session, window, scope)),
            (figures.win_rate, metrics.win_rate(session, window, scope)),
        ):
            assert (mine.numerator, mine.denominator) == (theirs.numerator, pytest.approx(theirs.denominator)), name
    assert TeamFigures.of(window, teams["钱主管"][0], counts).totals.effective == 3
    assert window.days == (utc(3, 1) - utc(2, 1)) / timedelta(days=1)
