"""Management metrics: manager intervention on alerts, and how often reps ask for a health diagnosis."""

from __future__ import annotations

import pytest

from salesnav.metrics import Scope, Window, health_diagnosis_use, manager_intervention_rate
from salesnav.models import Alert, DomainEvent
from tests import factories as f
from tests.metrics.builders import alert, deal, ticket, utc

TWO_WEEKS = Window(utc(2, 16), utc(3, 2))


@pytest.fixture
def org(session, frozen_clock):
    return f.org(session)


def test_intervention_rate_is_manager_alerts_a_manager_acted_on(session, org):
    rep_customer = f.customer(session, org.rep)
    rep_deal = deal(session, org.rep, rep_customer, [("initial_contact", utc(1, 5))])
    outsider_deal = deal(
        session, org.outsider_rep, f.customer(session, org.outsider_rep), [("initial_contact", utc(1, 5))]
    )
    acted = utc(2, 23)
    alert(session, rep_deal, utc(2, 17), [org.rep, org.manager], intervened_at=acted)  # A1 yes
    alert(session, rep_deal, utc(2, 18), [org.rep, org.manager])  # A2 no
    alert(session, rep_deal, utc(2, 19), [org.rep], intervened_at=acted)  # A3: not sent to a manager
    alert(session, rep_customer, utc(2, 20), [org.director], intervened_at=acted)  # A4 yes (a 总监 is a manager)
    alert(session, rep_deal, utc(2, 10), [org.rep, org.manager], intervened_at=acted)  # A5: before the window
    alert(session, outsider_deal, utc(2, 21), [org.outsider_rep, org.other_manager], intervened_at=acted)  # A6 yes
    (part,) = ticket(session, outsider_deal, utc(2, 20), [(org.marketing, {})]).parts
    session.add(
        Alert(
            rule="collaboration_overdue",
            idempotency_key="part",
            subject_type="ticket_part",
            subject_id=part.id,
            title="协同超时",
            recipient_ids=[org.marketer.id, org.other_manager.id],
            raised_at=utc(2, 22),
        )
    )  # A7 no, the outsider's through the ticket's deal
    session.flush()

    rep = manager_intervention_rate(session, TWO_WEEKS, Scope.rep(org.rep))
    assert (rep.numerator, rep.denominator) == (2, 3)  # A1 A4 of A1 A2 A4
    assert manager_intervention_rate(session, TWO_WEEKS, Scope.team(session, org.manager)).value == pytest.approx(2 / 3)
    assert manager_intervention_rate(session, TWO_WEEKS, Scope.team(session, org.other_manager)).value == 0.5  # A6 A7
    assert manager_intervention_rate(session, TWO_WEEKS, Scope.company(session)).value == pytest.approx(3 / 5)
    assert manager_intervention_rate(session, Window(utc(1, 1), utc(2, 1)), Scope.company(session)).value is None


def test_alerts_never_sent_to_a_manager_leave_the_rate_undefined(session, org):
    rep_deal = deal(session, org.rep, f.customer(session, org.rep), [("initial_contact", utc(1, 5))])
    alert(session, rep_deal, utc(2, 17), [org.rep])
    assert manager_intervention_rate(session, TWO_WEEKS, Scope.rep(org.rep)).value is None


def test_health_diagnosis_use_counts_requests_by_reps_in_scope(session, org):
    cust = f.customer(session, org.rep)

    def requested(user, at, kind="health.diagnosis_requested"):
        session.add(
            DomainEvent(kind=kind, subject_type="customer", subject_id=cust.id, actor_id=user.id, occurred_at=at)
        )

    requested(org.rep, utc(2, 17))
    requested(org.rep, utc(2, 20))
    requested(org.other_rep, utc(2, 25))
    requested(org.outsider_rep, utc(2, 28))
    requested(org.manager, utc(2, 18))  # not a rep
    requested(org.rep, utc(2, 17), kind="touchpoint.logged")
    requested(org.rep, utc(2, 15))  # before the window
    session.flush()

    company = health_diagnosis_use(session, TWO_WEEKS, Scope.company(session))
    assert (company.value, company.per_week) == (4, 4 / 2)
    assert health_diagnosis_use(session, TWO_WEEKS, Scope.team(session, org.manager)).value == 3
    assert health_diagnosis_use(session, TWO_WEEKS, Scope.rep(org.rep)).per_week == pytest.approx(2 / 2)
    quiet = health_diagnosis_use(session, Window(utc(1, 1), utc(1, 8)), Scope.company(session))
    assert (quiet.value, quiet.per_week) == (0, 0.0)
    assert health_diagnosis_use(session, Window(utc(2, 17), utc(2, 17)), Scope.company(session)).per_week is None
