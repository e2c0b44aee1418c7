"""Collaboration metrics: parts closed within SLA, valid first responses within 24 h, incentive points."""

from __future__ import annotations

from datetime import timedelta

import pytest

from salesnav.metrics import (
    Scope,
    Window,
    collaboration_penetration,
    first_response_compliance,
    incentive_points_by_department,
)
from salesnav.models import IncentivePoints
from tests import factories as f
from tests.metrics.builders import deal, ticket, utc

TWO_WEEKS = Window(utc(2, 16), utc(3, 2))


@pytest.fixture
def org(session, frozen_clock):
    return f.org(session)


@pytest.fixture
def deals(session, org):
    rep_deal = deal(session, org.rep, f.customer(session, org.rep), [("initial_contact", utc(1, 5))])
    outsider_deal = deal(
        session, org.outsider_rep, f.customer(session, org.outsider_rep), [("initial_contact", utc(1, 5))]
    )
    return rep_deal, outsider_deal


def test_penetration_is_parts_due_in_the_window_closed_by_their_due_time(session, org, deals):
    rep_deal, outsider_deal = deals
    mkt, dlv = org.marketing, org.delivery
    ticket(
        session,
        rep_deal,
        utc(2, 17),
        [
            (mkt, {"due_at": utc(2, 18), "closed_at": utc(2, 17, 12)}),  # early: on time
            (dlv, {"due_at": utc(2, 18), "closed_at": utc(2, 18)}),  # exactly at the due time: on time
        ],
    )
    ticket(
        session,
        rep_deal,
        utc(2, 20),
        [
            (mkt, {"due_at": utc(2, 21), "closed_at": utc(2, 22)}),  # late
            (dlv, {"due_at": utc(2, 21)}),  # never closed
        ],
    )
    ticket(session, rep_deal, utc(2, 14), [(mkt, {"due_at": utc(2, 15), "closed_at": utc(2, 15)})])  # due before
    ticket(session, rep_deal, utc(3, 1), [(mkt, {"due_at": utc(3, 2), "closed_at": utc(3, 1)})])  # due at the end
    ticket(session, outsider_deal, utc(2, 20), [(mkt, {"due_at": utc(2, 21), "closed_at": utc(2, 20)})])

    rep = collaboration_penetration(session, TWO_WEEKS, Scope.rep(org.rep))
    assert (rep.numerator, rep.denominator, rep.value) == (2, 4, 0.5)
    assert collaboration_penetration(session, TWO_WEEKS, Scope.team(session, org.manager)).value == 0.5
    assert collaboration_penetration(session, TWO_WEEKS, Scope.team(session, org.other_manager)).value == 1.0
    assert collaboration_penetration(session, TWO_WEEKS, Scope.company(session)).value == pytest.approx(3 / 5)
    assert collaboration_penetration(session, Window(utc(1, 1), utc(2, 1)), Scope.company(session)).value is None


def test_first_response_compliance_needs_a_valid_answer_within_24_hours_of_opening(session, org, deals):
    rep_deal, outsider_deal = deals
    mkt, dlv = org.marketing, org.delivery
    opened = utc(2, 17)
    ticket(
        session,
        rep_deal,
        opened,
        [
            (mkt, {"first_valid_response_at": opened + timedelta(hours=23)}),
            (dlv, {"first_valid_response_at": opened + timedelta(hours=24)}),  # exactly 24 h: in time
        ],
    )
    opened = utc(2, 20)
    ticket(
        session,
        rep_deal,
        opened,
        [
            (mkt, {"first_valid_response_at": opened + timedelta(hours=24, seconds=1)}),
            (dlv, {"first_response_at": opened + timedelta(hours=2)}),  # answered, but no schedule: not valid
        ],
    )
    opened = utc(2, 25)
    ticket(
        session, rep_deal, opened, [(mkt, {"first_valid_response_at": opened + timedelta(hours=24, milliseconds=500)})]
    )
    ticket(session, rep_deal, utc(2, 14), [(mkt, {"first_valid_response_at": utc(2, 14, 1)})])  # opened before
    ticket(session, outsider_deal, utc(2, 18), [(mkt, {"first_valid_response_at": utc(2, 18, 5)})])

    rep = first_response_compliance(session, TWO_WEEKS, Scope.rep(org.rep))
    assert (rep.numerator, rep.denominator) == (2, 5)
    assert rep.value == pytest.approx(0.4)
    assert first_response_compliance(session, TWO_WEEKS, Scope.company(session)).value == pytest.approx(3 / 6)
    # The hours are a setting: with 48 h the answers 1 s and 0.5 s late are in time too.
    assert first_response_compliance(session, TWO_WEEKS, Scope.rep(org.rep), within_hours=48).value == pytest.approx(
        4 / 5
    )
    assert first_response_compliance(session, Window(utc(1, 1), utc(2, 1)), Scope.rep(org.rep)).value is None


def test_incentive_points_are_summed_per_department_for_deals_in_scope(session, org, deals):
    rep_deal, outsider_deal = deals
    mkt, dlv = org.marketing, org.delivery

    def awarded(opp, department, points, at):
        (part,) = ticket(session, opp, at - timedelta(days=3), [(department, {})]).parts
        session.add(
            IncentivePoints(
                department_id=department.id, ticket_part_id=part.id, opportunity_id=opp.id, points=points, awarded_at=at
            )
        )
        session.flush()

    awarded(rep_deal, mkt, 10, utc(2, 20))
    awarded(rep_deal, dlv, 10, utc(2, 20))
    awarded(rep_deal, mkt, 10, utc(2, 25))
    awarded(rep_deal, mkt, 10, utc(2, 10))  # before the window
    awarded(outsider_deal, mkt, 15, utc(2, 27))

    rep = incentive_points_by_department(session, TWO_WEEKS, Scope.rep(org.rep))
    assert [(p.department_name, p.points) for p in rep] == [("市场部", 20), ("交付部", 10)]
    company = incentive_points_by_department(session, TWO_WEEKS, Scope.company(session))
    assert [(p.department_id, p.points) for p in company] == [(mkt.id, 20 + 15), (dlv.id, 10)]
    assert incentive_points_by_department(session, TWO_WEEKS, Scope.team(session, org.marketer)) == []
