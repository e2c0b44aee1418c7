"""The Sales Health Index and the article's verification metrics against their baselines and targets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from salesnav.metrics import Scope, Window, sales_health_index, verification_metrics
from salesnav.models import DecisionRole, Emotion, RuleSetting
from tests import factories as f
from tests.metrics.builders import deal, effective, ticket, touchpoint, utc

TWO_WEEKS = Window(utc(2, 16), utc(3, 2))


@pytest.fixture
def org(session, frozen_clock):
    return f.org(session)


def _quality_half_and_compliance_quarter(session, org):
    cust = f.customer(session, org.rep, roles=(DecisionRole.USER, DecisionRole.PURCHASER))
    # Quality: one positive touchpoint meeting 2 of the 4 roles → 1.0 × 2/4 = 0.5.
    touchpoint(session, org.rep, cust, utc(2, 16, 3), emotion=Emotion.POSITIVE, contacts=cust.contacts)
    # Compliance: four stage changes in the window, three of them with the checklist incomplete → 1/4.
    opp = deal(
        session,
        org.rep,
        cust,
        [
            ("initial_contact", utc(2, 1)),
            ("needs_confirmed", utc(2, 17)),
            ("solution_demo", utc(2, 18)),
            ("sample_test", utc(2, 19)),
            ("negotiation", utc(2, 20)),
        ],
    )
    for row in opp.history[2:]:
        row.checklist_complete, row.override_reason = False, "主管特批"
    session.flush()
    return opp


def test_index_is_the_weighted_sum_of_quality_compliance_and_penetration(session, org):
    opp = _quality_half_and_compliance_quarter(session, org)
    # Penetration: the one part due in the window was closed in time → 1/1.
    ticket(session, opp, utc(2, 19), [(org.marketing, {"due_at": utc(2, 20), "closed_at": utc(2, 19, 8)})])
    index = sales_health_index(session, TWO_WEEKS, Scope.rep(org.rep))
    assert (index.quality.value, index.compliance.value, index.penetration.value) == (0.5, 0.25, 1.0)
    assert index.value == pytest.approx(100 * (0.4 * 0.5 + 0.3 * 0.25 + 0.3 * 1.0))  # 57.5
    assert index.missing == ()


def test_index_weights_are_a_setting(session, org):
    _quality_half_and_compliance_quarter(session, org)
    session.add(RuleSetting(key="dashboard.health_weights", value={"quality": 1, "compliance": 1, "penetration": 0}))
    session.flush()
    index = sales_health_index(session, TWO_WEEKS, Scope.rep(org.rep))
    assert index.weights == {"quality": 1.0, "compliance": 1.0, "penetration": 0.0}
    # Weights that do not total 1 are divided by their total, so the index stays within 0–100.
    assert index.value == pytest.approx(100 * (1 * 0.5 + 1 * 0.25 + 0 * 1.0) / (1 + 1 + 0))  # 37.5


def test_a_part_with_nothing_to_measure_is_left_out_and_the_rest_rescaled(session, org):
    _quality_half_and_compliance_quarter(session, org)  # no ticket part due in the window
    index = sales_health_index(session, TWO_WEEKS, Scope.rep(org.rep))
    assert index.penetration.value is None and index.missing == ("penetration",)
    assert index.value == pytest.approx(100 * (0.4 * 0.5 + 0.3 * 0.25) / (0.4 + 0.3))  # ≈ 39.29


def test_index_of_an_empty_window_is_undefined(session, org):
    index = sales_health_index(session, TWO_WEEKS, Scope.company(session))
    assert index.value is None and index.missing == ("quality", "compliance", "penetration")


def test_verification_metrics_carry_the_articles_baselines_and_targets(session, org):
    cust = f.customer(session, org.rep)
    week = Window(utc(2, 16), utc(2, 23))
    for hour in range(7):  # 7 effective touchpoints in one week by one rep: target ≥ 6.5 met
        effective(session, org.rep, cust, utc(2, 16, hour))
    opp = deal(session, org.rep, cust, [("initial_contact", utc(1, 5))])
    opened = utc(2, 17)
    ticket(
        session,
        opp,
        opened,
        [
            (org.marketing, {"first_valid_response_at": opened + timedelta(hours=3)}),
            (org.delivery, {"first_valid_response_at": opened + timedelta(hours=30)}),
        ],
    )

    metrics = {m.key: m for m in verification_metrics(session, week, Scope.rep(org.rep))}
    assert [(m.baseline, m.target, m.better) for m in metrics.values()] == [
        (4.2, 6.5, "higher"),
        (0.38, 0.12, "lower"),
        (0.44, 0.85, "higher"),
    ]
    touchpoints = metrics["effective_touchpoints_per_rep_week"]
    assert (touchpoints.value, touchpoints.met) == (7.0, True)
    deviation = metrics["stage_advancement_deviation"]
    assert (deviation.value, deviation.met, deviation.count) == (None, None, 0)  # no stage left: shown as "—"
    first_response = metrics["first_response_compliance"]
    assert (first_response.value, first_response.met) == (0.5, False)


def test_stage_deviation_within_twelve_percent_meets_its_target(session, org):
    cust = f.customer(session, org.rep)
    # History: a deal that spent 10 days in 初步接触; now one that spends 11 days → +10 %, within ±12 %.
    deal(
        session, org.rep, cust, [("initial_contact", utc(1, 1)), ("needs_confirmed", utc(1, 11)), ("lost", utc(1, 12))]
    )
    deal(session, org.rep, cust, [("initial_contact", utc(2, 8)), ("needs_confirmed", utc(2, 19))])
    metrics = {m.key: m for m in verification_metrics(session, TWO_WEEKS, Scope.rep(org.rep))}
    assert metrics["stage_advancement_deviation"].value == pytest.approx((11 - 10) / 10)
    assert metrics["stage_advancement_deviation"].met is True
