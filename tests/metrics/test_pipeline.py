"""Opportunity metrics: process compliance, stage deviation, dwell times, conversion and win rate."""

from __future__ import annotations

from datetime import timedelta

import pytest

from salesnav.metrics import (
    Scope,
    Window,
    conversion_funnel,
    funnel_dwell_times,
    lead_conversion,
    process_compliance,
    stage_advancement_deviation,
    win_rate,
)
from tests import factories as f
from tests.metrics.builders import deal, touchpoint, utc

TWO_WEEKS = Window(utc(2, 16), utc(3, 2))
S = TWO_WEEKS.start


@pytest.fixture
def org(session, frozen_clock):
    return f.org(session)


def _mark(opp, to_code, *, complete, override=None):
    (row,) = [t for t in opp.history if t.to_stage.code == to_code]
    row.checklist_complete, row.override_reason = complete, override


def test_process_compliance_counts_transitions_with_the_checklist_complete_and_no_override(session, org):
    cust = f.customer(session, org.rep)
    deal(  # both of its transitions in the window are compliant
        session,
        org.rep,
        cust,
        [("initial_contact", utc(2, 1)), ("needs_confirmed", utc(2, 20)), ("solution_demo", utc(2, 22))],
    )
    # Created in the window: the creation row is not a transition.
    d2 = deal(session, org.rep, cust, [("initial_contact", utc(2, 17)), ("needs_confirmed", utc(2, 18))])
    _mark(d2, "needs_confirmed", complete=False, override="主管特批：客户急需")
    d3 = deal(
        session,
        org.other_rep,
        cust,
        [("initial_contact", utc(2, 1)), ("needs_confirmed", utc(2, 10)), ("solution_demo", utc(2, 25))],
    )
    _mark(d3, "solution_demo", complete=False)  # e.g. imported history
    d4 = deal(
        session,
        org.outsider_rep,
        cust,
        [("initial_contact", utc(2, 1)), ("needs_confirmed", utc(2, 16)), ("solution_demo", utc(3, 1))],
    )
    _mark(d4, "solution_demo", complete=False, override="总监特批")
    retired = deal(session, org.rep, cust, [("initial_contact", utc(2, 1)), ("needs_confirmed", utc(2, 20))])
    retired.deleted_at = utc(2, 21)
    session.flush()

    rep = process_compliance(session, TWO_WEEKS, Scope.rep(org.rep))
    assert (rep.numerator, rep.denominator) == (2, 3)  # the first deal ×2 ok; d2 overridden
    assert process_compliance(session, TWO_WEEKS, Scope.team(session, org.manager)).value == pytest.approx(2 / 4)
    assert process_compliance(session, TWO_WEEKS, Scope.company(session)).value == pytest.approx((2 + 1) / (4 + 2))
    assert process_compliance(session, Window(utc(1, 1), utc(2, 1)), Scope.company(session)).value is None


@pytest.fixture
def deviation_data(session, org):
    """History closed in the year before the window, and stays ending in the window (days in comments)."""
    tertiary = f.customer(session, org.rep, grade="三甲")
    secondary = f.customer(session, org.outsider_rep, grade="二甲")
    day = timedelta(days=1)
    # H1 CT/三甲: 初步接触 10 d, 需求确认 20 d, won 70 days before the window.
    deal(
        session,
        org.rep,
        tertiary,
        [("initial_contact", S - 100 * day), ("needs_confirmed", S - 90 * day), ("won", S - 70 * day)],
    )
    # H2 CT/三甲: 初步接触 14 d, lost 46 days before.
    deal(session, org.other_rep, tertiary, [("initial_contact", S - 60 * day), ("lost", S - 46 * day)])
    # H3 MR/二甲: 初步接触 40 d, 需求确认 10 d, won 150 days before.
    deal(
        session,
        org.outsider_rep,
        secondary,
        [("initial_contact", S - 200 * day), ("needs_confirmed", S - 160 * day), ("won", S - 150 * day)],
        product_line="MR设备",
    )
    # Not history: closed 380 days before the window; still open.
    deal(
        session,
        org.rep,
        tertiary,
        [("initial_contact", S - 500 * day), ("needs_confirmed", S - 400 * day), ("won", S - 380 * day)],
    )
    deal(session, org.rep, tertiary, [("initial_contact", S - 30 * day), ("needs_confirmed", S - 29 * day)])

    # In the window. N1 (rep, CT/三甲) leaves 初步接触 after 18 d.
    deal(session, org.rep, tertiary, [("initial_contact", utc(2, 1)), ("needs_confirmed", utc(2, 19))])
    # N2 (other rep, CT/三甲) left 初步接触 before the window; leaves 需求确认 after 15 d.
    deal(
        session,
        org.other_rep,
        tertiary,
        [("initial_contact", utc(1, 1)), ("needs_confirmed", utc(2, 1)), ("solution_demo", utc(2, 16))],
    )
    # N3 (outsider, MR/三甲: no similar history) leaves 初步接触 after 32 d.
    mr_tertiary = f.customer(session, org.outsider_rep, grade="三甲")
    deal(
        session,
        org.outsider_rep,
        mr_tertiary,
        [("initial_contact", utc(1, 20)), ("needs_confirmed", utc(2, 21))],
        product_line="MR设备",
    )
    # N4 (rep, CT/三甲): 初步接触 6 d, then 需求确认 1 d.
    deal(
        session,
        org.rep,
        tertiary,
        [("initial_contact", utc(2, 17)), ("needs_confirmed", utc(2, 23)), ("solution_demo", utc(2, 24))],
    )
    # N5 (rep): leaves 方案演示 after 41 d; no deal has ever left 方案演示 before, so no baseline.
    deal(
        session,
        org.rep,
        tertiary,
        [
            ("initial_contact", utc(1, 1)),
            ("needs_confirmed", utc(1, 5)),
            ("solution_demo", utc(1, 10)),
            ("sample_test", utc(2, 20)),
        ],
    )


def test_stage_deviation_compares_each_stay_with_similar_closed_deals(session, org, deviation_data):
    ct_initial, ct_needs = (10 + 14) / 2, 20  # H1, H2 / H1
    all_initial = (10 + 14 + 40) / 3  # fallback for MR/三甲: H1, H2, H3
    n1 = abs(18 - ct_initial) / ct_initial  # 0.5
    n2 = abs(15 - ct_needs) / ct_needs  # 0.25
    n3 = abs(32 - all_initial) / all_initial  # 0.5
    n4 = [abs(6 - ct_initial) / ct_initial, abs(1 - ct_needs) / ct_needs]  # 0.5, 0.95

    rep = stage_advancement_deviation(session, TWO_WEEKS, Scope.rep(org.rep))
    assert rep.denominator == 3  # N1, N4 ×2; N5 has no baseline
    assert rep.value == pytest.approx((n1 + sum(n4)) / 3)  # 0.65
    team = stage_advancement_deviation(session, TWO_WEEKS, Scope.team(session, org.manager))
    assert team.value == pytest.approx((n1 + n2 + sum(n4)) / 4)  # 0.55
    company = stage_advancement_deviation(session, TWO_WEEKS, Scope.company(session))
    assert company.value == pytest.approx((n1 + n2 + n3 + sum(n4)) / 5)  # 0.54


def test_stage_deviation_history_is_a_setting(session, org, deviation_data):
    # With 100 days of history H3 (closed 150 days before) drops out, so MR/三甲 falls back to H1, H2 only.
    outsider = stage_advancement_deviation(session, TWO_WEEKS, Scope.rep(org.outsider_rep), history_days=100)
    assert outsider.value == pytest.approx(abs(32 - 12) / 12)


def test_stage_deviation_without_stays_or_history_is_undefined(session, org):
    assert stage_advancement_deviation(session, TWO_WEEKS, Scope.company(session)).value is None
    cust = f.customer(session, org.rep)
    deal(session, org.rep, cust, [("initial_contact", utc(2, 1)), ("needs_confirmed", utc(2, 19))])
    result = stage_advancement_deviation(session, TWO_WEEKS, Scope.company(session))
    assert (result.value, result.denominator) == (None, 0)  # a stay, but no closed deal to compare with


def test_funnel_dwell_time_is_the_mean_days_per_stage_left_in_the_window(session, org, deviation_data):
    dwell = {d.stage_code: d for d in funnel_dwell_times(session, TWO_WEEKS, Scope.company(session))}
    assert list(dwell) == [
        "initial_contact",
        "needs_confirmed",
        "solution_demo",
        "sample_test",
        "negotiation",
        "contract_approval",
    ]
    assert dwell["initial_contact"].mean_days == pytest.approx((18 + 32 + 6) / 3)  # N1, N3, N4
    assert dwell["initial_contact"].count == 3
    assert dwell["needs_confirmed"].mean_days == pytest.approx((15 + 1) / 2)  # N2, N4
    assert dwell["solution_demo"].mean_days == pytest.approx(41)  # N5
    assert (dwell["sample_test"].mean_days, dwell["sample_test"].count) == (None, 0)
    rep = {d.stage_code: d.mean_days for d in funnel_dwell_times(session, TWO_WEEKS, Scope.rep(org.rep))}
    assert rep["initial_contact"] == pytest.approx((18 + 6) / 2)
    assert rep["needs_confirmed"] == pytest.approx(1)


def test_conversion_follows_customers_first_touched_in_the_window(session, org):
    def customer_touched(rep, *days):
        cust = f.customer(session, rep)
        return cust, [touchpoint(session, rep, cust, day) for day in days]

    c1, (c1_first,) = customer_touched(org.rep, utc(2, 17))
    deal(session, org.rep, c1, [("initial_contact", utc(2, 17))], via=c1_first)
    customer_touched(org.rep, utc(2, 18))  # C2: a lead without an opportunity
    c3, (_, c3_again) = customer_touched(org.rep, utc(2, 1), utc(2, 20))  # C3: known before the window
    deal(session, org.rep, c3, [("initial_contact", utc(2, 20))], via=c3_again)
    c4, (c4_first,) = customer_touched(org.outsider_rep, utc(2, 19))
    deal(session, org.outsider_rep, c4, [("initial_contact", utc(2, 19)), ("won", utc(2, 26))], via=c4_first)
    customer_touched(org.rep, utc(3, 2))  # C5: first touched at the window end, i.e. in the next window
    c6 = f.customer(session, org.rep)  # C6: its only earlier touchpoint was retired, so it is new in the window
    touchpoint(session, org.rep, c6, utc(2, 10), deleted=True)
    touchpoint(session, org.rep, c6, utc(2, 20))

    company = conversion_funnel(session, TWO_WEEKS, Scope.company(session))
    assert (company.leads, company.with_opportunity, company.won) == (4, 2, 1)  # C1 C2 C4 C6 / C1 C4 / C4
    assert lead_conversion(session, TWO_WEEKS, Scope.company(session)).value == pytest.approx(2 / 4)
    assert company.opportunity_to_won.value == pytest.approx(1 / 2)
    assert lead_conversion(session, TWO_WEEKS, Scope.rep(org.rep)).value == pytest.approx(1 / 3)  # C1 of C1 C2 C6
    assert lead_conversion(session, TWO_WEEKS, Scope.team(session, org.manager)).value == pytest.approx(1 / 3)
    assert lead_conversion(session, TWO_WEEKS, Scope.rep(org.outsider_rep)).value == 1.0
    assert lead_conversion(session, Window(utc(1, 1), utc(1, 2)), Scope.company(session)).value is None


def test_win_rate_is_won_over_closed_in_the_window(session, org):
    cust = f.customer(session, org.rep)

    def closed(rep, outcome, day):
        deal(session, rep, cust, [("initial_contact", utc(1, 5)), (outcome, day)])

    closed(org.rep, "won", utc(2, 20))
    closed(org.rep, "lost", utc(2, 25))
    closed(org.rep, "won", utc(2, 10))  # before the window
    deal(session, org.rep, cust, [("initial_contact", utc(2, 20))])  # still open
    closed(org.other_rep, "won", utc(2, 28))
    closed(org.outsider_rep, "lost", utc(2, 17))
    closed(org.outsider_rep, "won", utc(3, 2))  # at the window end: next window

    assert win_rate(session, TWO_WEEKS, Scope.rep(org.rep)).value == pytest.approx(1 / 2)
    assert win_rate(session, TWO_WEEKS, Scope.team(session, org.manager)).value == pytest.approx(2 / 3)
    company = win_rate(session, TWO_WEEKS, Scope.company(session))
    assert (company.numerator, company.denominator) == (2, 4)
    assert win_rate(session, TWO_WEEKS, Scope.team(session, org.other_manager)).value == 0.0
    assert win_rate(session, TWO_WEEKS, Scope.team(session, org.marketer)).value is None
