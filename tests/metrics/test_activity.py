"""Touchpoint metrics: effective touchpoints and visits per rep, touchpoint quality, entry time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from salesnav.metrics import (
    Scope,
    Window,
    effective_touchpoints_per_rep_week,
    entry_time_per_record,
    touchpoint_quality,
    visits_per_rep_month,
)
from salesnav.metrics.activity import touchpoint_quality_by_window
from salesnav.models import DecisionRole, Emotion, Role, Touchpoint
from tests import factories as f
from tests.metrics.builders import effective, touchpoint, utc

TWO_WEEKS = Window(utc(2, 16), utc(3, 2))  # 14 days


@pytest.fixture
def org(session, frozen_clock):
    return f.org(session)


def test_effective_touchpoints_per_rep_per_week_by_scope(session, org):
    cust = f.customer(session, org.rep)
    for day in (16, 20, 27):
        effective(session, org.rep, cust, utc(2, day, 3))
    # Not effective: no due time / no contact present / a blank next action / retired row.
    touchpoint(session, org.rep, cust, utc(2, 17), contacts=cust.contacts, next_action="回访")
    touchpoint(session, org.rep, cust, utc(2, 18), next_action="回访", next_action_due=utc(2, 19))
    touchpoint(session, org.rep, cust, utc(2, 19), contacts=cust.contacts, next_action="  ", next_action_due=utc(2, 20))
    effective(session, org.rep, cust, utc(2, 21), deleted=True)
    # Outside the window.
    effective(session, org.rep, cust, utc(2, 15, 23))
    effective(session, org.rep, cust, utc(3, 2))
    for day in (17, 24):
        effective(session, org.other_rep, cust, utc(2, day, 3))
    for day in (16, 18, 23, 25):
        effective(session, org.outsider_rep, cust, utc(2, day, 3))

    company = effective_touchpoints_per_rep_week(session, TWO_WEEKS, Scope.company(session))
    assert (company.numerator, company.denominator) == (3 + 2 + 4, 3 * 2)  # 3 active reps × 2 weeks
    assert company.value == pytest.approx(9 / 6)
    assert effective_touchpoints_per_rep_week(session, TWO_WEEKS, Scope.team(session, org.manager)).value == (
        pytest.approx((3 + 2) / 2 / 2)
    )
    assert effective_touchpoints_per_rep_week(session, TWO_WEEKS, Scope.rep(org.rep)).value == pytest.approx(3 / 1 / 2)


def test_sql_effective_test_agrees_with_the_models_property(session, org):
    cust = f.customer(session, org.rep)
    effective(session, org.rep, cust, utc(2, 16, 3))
    touchpoint(session, org.rep, cust, utc(2, 17), contacts=cust.contacts, next_action="回访")
    session.expire_all()
    in_python = sum(tp.is_effective for tp in session.query(Touchpoint))
    assert effective_touchpoints_per_rep_week(session, TWO_WEEKS, Scope.rep(org.rep)).numerator == in_python == 1


def test_a_quiet_window_is_zero_but_no_reps_or_no_time_is_undefined(session, org):
    assert effective_touchpoints_per_rep_week(session, TWO_WEEKS, Scope.company(session)).value == 0.0
    assert effective_touchpoints_per_rep_week(session, TWO_WEEKS, Scope.team(session, org.marketer)).value is None
    instant = Window(utc(2, 16), utc(2, 16))
    assert effective_touchpoints_per_rep_week(session, instant, Scope.rep(org.rep)).value is None
    assert visits_per_rep_month(session, instant, Scope.rep(org.rep)).value is None


def test_visits_per_rep_per_month_counts_every_touchpoint(session, org):
    cust = f.customer(session, org.rep)
    window = Window(utc(2, 1), utc(2, 16))  # 15 days = half a month
    for day in range(1, 13):  # 12 touchpoints, effective or not
        touchpoint(session, org.rep, cust, utc(2, day, 2))
    for day in (2, 3, 4):
        touchpoint(session, org.other_rep, cust, utc(2, day))
    touchpoint(session, org.outsider_rep, cust, utc(2, 5))
    assert visits_per_rep_month(session, window, Scope.rep(org.rep)).value == pytest.approx(12 / 1 / (15 / 30))
    assert visits_per_rep_month(session, window, Scope.team(session, org.manager)).value == pytest.approx(
        (12 + 3) / 2 / (15 / 30)
    )
    assert visits_per_rep_month(session, window, Scope.company(session)).value == pytest.approx(16 / 3 / 0.5)


def test_touchpoint_quality_is_emotion_times_the_customers_decision_chain_coverage(session, org):
    window = Window(utc(3, 1), utc(3, 2))
    roles = (DecisionRole.INFLUENCER, DecisionRole.PURCHASER, DecisionRole.USER, DecisionRole.VETO)
    a = f.customer(session, org.rep, roles=roles)
    influencer, purchaser, user, veto = a.contacts
    b = f.customer(session, org.rep, roles=(DecisionRole.USER, DecisionRole.PURCHASER))
    b_user, b_purchaser = b.contacts

    # In the window.
    touchpoint(session, org.rep, a, utc(3, 1, 2), emotion=Emotion.POSITIVE, contacts=[influencer, purchaser])
    touchpoint(session, org.rep, a, utc(3, 1, 3), emotion=Emotion.RESISTANT, contacts=[user])
    touchpoint(session, org.rep, b, utc(3, 1, 4), emotion=Emotion.NEUTRAL, contacts=[b_user])
    touchpoint(session, org.other_rep, b, utc(3, 1, 5), emotion=Emotion.NEUTRAL)
    # Before the window but within 90 days of its end, by another rep: the veto holder counts for A.
    touchpoint(session, org.outsider_rep, a, utc(3, 2) - timedelta(days=60), contacts=[veto])
    # B's purchaser was met 91 days before the window end, and again after it: neither counts.
    touchpoint(session, org.rep, b, utc(3, 2) - timedelta(days=91), contacts=[b_purchaser])
    touchpoint(session, org.rep, b, utc(3, 2, 1), contacts=[b_purchaser])

    coverage_a, coverage_b = 4 / 4, 1 / 4
    rep_scores = [1.0 * coverage_a, 0.2 * coverage_a, 0.6 * coverage_b]  # 1.0, 0.2, 0.15
    quality = touchpoint_quality(session, window, Scope.rep(org.rep))
    assert quality.denominator == 3
    assert quality.value == pytest.approx(sum(rep_scores) / 3)  # 0.45
    team_scores = [*rep_scores, 0.6 * coverage_b]
    assert touchpoint_quality(session, window, Scope.team(session, org.manager)).value == pytest.approx(
        sum(team_scores) / 4  # 0.375
    )
    # The outsider's touchpoint was before the window: nothing of theirs to score.
    assert touchpoint_quality(session, window, Scope.rep(org.outsider_rep)).value is None


def test_company_quality_counts_active_reps_touchpoints_but_everyones_contacts_per_window(session, org):
    march_1, march_2 = Window(utc(3, 1), utc(3, 2)), Window(utc(3, 2), utc(3, 3))
    a = f.customer(session, org.rep, roles=(DecisionRole.INFLUENCER, DecisionRole.PURCHASER, DecisionRole.USER))
    influencer, purchaser, user = a.contacts
    b = f.customer(session, org.other_rep, roles=(DecisionRole.VETO,))
    (veto,) = b.contacts
    touchpoint(session, org.rep, a, utc(3, 1, 2), emotion=Emotion.POSITIVE, contacts=[influencer])
    touchpoint(session, org.other_rep, b, utc(3, 1, 3), emotion=Emotion.RESISTANT, contacts=[veto])
    touchpoint(session, org.outsider_rep, a, utc(3, 2, 5), emotion=Emotion.NEUTRAL, contacts=[purchaser])
    # A rep who has left: their touchpoint is not scored, but the user they met counts for A's coverage.
    departed = f.user(session, "rep09", Role.REP, org.sales, org.manager, name="离职销售")
    departed.active = False
    touchpoint(session, departed, a, utc(3, 1, 7), emotion=Emotion.RESISTANT, contacts=[user])
    session.flush()

    day_1, day_2 = touchpoint_quality_by_window(session, [march_1, march_2], Scope.company(session))
    # 1 March: A has its influencer and (through the departed rep) its user by the window end, 2/4; B has its
    # veto holder, 1/4. The departed rep's own row is not scored.
    assert day_1.denominator == 2
    assert day_1.value == pytest.approx((1.0 * 2 / 4 + 0.2 * 1 / 4) / 2)  # 0.275
    # 2 March: A's purchaser is met too (3/4 within 90 days of the window end); one touchpoint in it.
    assert day_2.denominator == 1
    assert day_2.value == pytest.approx(0.6 * 3 / 4)  # 0.45
    assert touchpoint_quality(session, Window(utc(3, 3), utc(3, 4)), Scope.company(session)).value is None


def test_a_longer_lookback_setting_brings_older_contacts_into_the_coverage(session, org):
    window = Window(utc(3, 1), utc(3, 2))
    b = f.customer(session, org.rep, roles=(DecisionRole.USER, DecisionRole.PURCHASER))
    b_user, b_purchaser = b.contacts
    touchpoint(session, org.rep, b, utc(3, 1, 4), emotion=Emotion.POSITIVE, contacts=[b_user])
    touchpoint(session, org.rep, b, utc(3, 2) - timedelta(days=91), contacts=[b_purchaser])
    assert touchpoint_quality(session, window, Scope.rep(org.rep)).value == pytest.approx(1.0 * 1 / 4)
    assert touchpoint_quality(session, window, Scope.rep(org.rep), lookback_days=120).value == pytest.approx(
        1.0 * 2 / 4
    )


def test_entry_time_is_the_median_of_submit_minus_form_open(session, org):
    cust = f.customer(session, org.rep)

    def entered(seconds: int, day: int, rep=org.rep):
        opened = utc(2, day, 2)
        touchpoint(session, rep, cust, opened, form_opened_at=opened, submitted_at=opened + timedelta(seconds=seconds))

    entered(374, 16)  # the article's 6 min 14 s
    entered(30, 17)
    entered(48, 18)
    touchpoint(session, org.rep, cust, utc(2, 19), submitted_at=utc(2, 19))  # a chat tap: no form, no entry time
    entered(5, 15)  # before the window
    rep = Scope.rep(org.rep)
    assert entry_time_per_record(session, TWO_WEEKS, rep).value == 48  # sorted 30, 48, 374
    assert entry_time_per_record(session, TWO_WEEKS, rep).count == 3
    entered(61, 20)
    assert entry_time_per_record(session, TWO_WEEKS, rep).value == pytest.approx((48 + 61) / 2)  # 30, 48, 61, 374
    entered(1, 21, rep=org.outsider_rep)
    assert entry_time_per_record(session, TWO_WEEKS, Scope.team(session, org.manager)).value == pytest.approx(54.5)
    assert entry_time_per_record(session, TWO_WEEKS, Scope.company(session)).value == 48  # 1, 30, 48, 61, 374


def test_entry_time_over_no_records_is_undefined(session, org):
    result = entry_time_per_record(session, TWO_WEEKS, Scope.company(session))
    assert (result.value, result.count) == (None, 0)
