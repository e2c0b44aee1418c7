"""stage_transitions.from_stage_entered_at: when the stage a row leaves was entered, kept by the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from salesnav.handlers.stages import stage_by_code
from salesnav.models import StageTransition
from tests import factories as f
from tests.metrics.builders import deal, utc


@pytest.fixture
def org(session, frozen_clock):
    return f.org(session)


def entered_at(session, opp):
    """(occurred_at, from_stage_entered_at) of the deal's history rows, in history order, read from the table."""
    return session.execute(
        select(StageTransition.occurred_at, StageTransition.from_stage_entered_at)
        .where(StageTransition.opportunity_id == opp.id)
        .order_by(StageTransition.occurred_at, StageTransition.id)
    ).all()


def test_each_row_holds_the_time_of_the_row_before_it(session, org):
    opp = deal(
        session,
        org.rep,
        f.customer(session, org.rep),
        [("initial_contact", utc(3, 1)), ("needs_confirmed", utc(3, 4)), ("solution_demo", utc(3, 9, 12))],
    )
    assert entered_at(session, opp) == [(utc(3, 1), None), (utc(3, 4), utc(3, 1)), (utc(3, 9, 12), utc(3, 4))]


def test_a_backdated_row_and_a_moved_row_renumber_the_history(session, org):
    opp = deal(
        session,
        org.rep,
        f.customer(session, org.rep),
        [("initial_contact", utc(3, 1)), ("needs_confirmed", utc(3, 4)), ("solution_demo", utc(3, 9))],
    )
    first = session.scalars(select(StageTransition).where(StageTransition.opportunity_id == opp.id)).first()
    # Written after the others but earlier in time (an import of old history): the rows after it follow it.
    session.add(
        StageTransition(
            opportunity_id=opp.id,
            from_stage_id=stage_by_code(session, "needs_confirmed").id,
            to_stage_id=stage_by_code(session, "needs_confirmed").id,
            actor_id=org.rep.id,
            touchpoint_id=first.touchpoint_id,
            occurred_at=utc(3, 6),
        )
    )
    session.flush()
    assert [entered for _, entered in entered_at(session, opp)] == [None, utc(3, 1), utc(3, 4), utc(3, 6)]

    # The creation row moved later than the second: both rows and the third follow.
    session.execute(update(StageTransition).where(StageTransition.id == first.id).values(occurred_at=utc(3, 5)))
    assert entered_at(session, opp) == [
        (utc(3, 4), None),
        (utc(3, 5), utc(3, 4)),
        (utc(3, 6), utc(3, 5)),
        (utc(3, 9), utc(3, 6)),
    ]


def test_same_moment_rows_are_ordered_by_id(session, org):
    at = utc(3, 2, 9)
    opp = deal(
        session,
        org.rep,
        f.customer(session, org.rep),
        [("initial_contact", at), ("needs_confirmed", at), ("solution_demo", at + timedelta(hours=1))],
    )
    assert [entered for _, entered in entered_at(session, opp)] == [None, at, at]


def test_one_statement_writing_rows_of_several_deals_out_of_order_renumbers_each_history(session, org):
    """As a bulk import writes them: many rows of many deals in one INSERT, some earlier than rows already kept."""
    customer = f.customer(session, org.rep)
    one = deal(session, org.rep, customer, [("initial_contact", utc(3, 1)), ("solution_demo", utc(3, 9))])
    two = deal(session, org.rep, customer, [("initial_contact", utc(3, 2))])
    stage = stage_by_code(session, "needs_confirmed")
    first_of = {
        opp.id: session.scalars(select(StageTransition).where(StageTransition.opportunity_id == opp.id)).first()
        for opp in (one, two)
    }
    session.execute(
        insert(StageTransition.__table__).values(  # one statement, many rows
            [
                {
                    "opportunity_id": opp.id,
                    "from_stage_id": stage.id,
                    "to_stage_id": stage.id,
                    "actor_id": org.rep.id,
                    "touchpoint_id": first_of[opp.id].touchpoint_id,
                    "occurred_at": at,
                }
                for opp, at in ((one, utc(3, 4)), (two, utc(3, 3)), (two, utc(3, 5)), (one, utc(3, 10)))
            ]
        )
    )
    assert [entered for _, entered in entered_at(session, one)] == [None, utc(3, 1), utc(3, 4), utc(3, 9)]
    assert [entered for _, entered in entered_at(session, two)] == [None, utc(3, 2), utc(3, 3)]
