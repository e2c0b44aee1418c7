"""touchpoints.contact_roles: the decision roles present on each touchpoint, kept by the database whoever writes.

Statements here touch many rows at once, as a bulk import does: the triggers work per statement on PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, update

from salesnav.models import Contact, DecisionRole, Touchpoint, TouchpointType, touchpoint_contacts
from salesnav.models.touchpoints import contact_roles_of
from tests import factories as f
from tests.metrics.builders import utc

INFLUENCER, PURCHASER, USER, VETO, ANY = 1, 2, 4, 8, 16


@pytest.fixture
def org(session, frozen_clock):
    return f.org(session)


def bare_touchpoints(session, rep, customer, n):
    """Touchpoints written without participants and with contact_roles left at its default, as a plain
    INSERT would: whatever the roles become is the database's doing."""
    ids = [
        session.execute(
            insert(Touchpoint.__table__)
            .values(customer_id=customer.id, rep_id=rep.id, type=TouchpointType.VISIT, occurred_at=utc(3, 1, i))
            .returning(Touchpoint.__table__.c.id)
        ).scalar_one()
        for i in range(n)
    ]
    return ids


def roles(session, ids):
    rows = dict(session.execute(select(Touchpoint.id, Touchpoint.contact_roles).where(Touchpoint.id.in_(ids))).all())
    return [rows[i] for i in ids]


def test_one_statement_adding_and_removing_many_participants_sets_every_touchpoints_roles(session, org):
    customer = f.customer(session, org.rep, roles=(DecisionRole.INFLUENCER, DecisionRole.PURCHASER, DecisionRole.VETO))
    influencer, purchaser, veto = customer.contacts
    nobody = Contact(customer_id=customer.id, name="未定角色")
    session.add(nobody)
    session.flush()
    a, b, c, d = bare_touchpoints(session, org.rep, customer, 4)
    assert roles(session, [a, b, c, d]) == [0, 0, 0, 0]

    session.execute(
        insert(touchpoint_contacts).values(  # one statement, many rows
            [
                {"touchpoint_id": a, "contact_id": influencer.id},
                {"touchpoint_id": a, "contact_id": purchaser.id},
                {"touchpoint_id": b, "contact_id": veto.id},
                {"touchpoint_id": b, "contact_id": influencer.id},
                {"touchpoint_id": c, "contact_id": nobody.id},
            ]
        )
    )
    assert roles(session, [a, b, c, d]) == [ANY + INFLUENCER + PURCHASER, ANY + INFLUENCER + VETO, ANY, 0]

    session.execute(delete(touchpoint_contacts).where(touchpoint_contacts.c.contact_id.in_([influencer.id, nobody.id])))
    assert roles(session, [a, b, c, d]) == [ANY + PURCHASER, ANY + VETO, 0, 0]

    # A participant moved from one touchpoint to another in one statement: both are recomputed.
    session.execute(
        update(touchpoint_contacts)
        .where(touchpoint_contacts.c.touchpoint_id == a, touchpoint_contacts.c.contact_id == purchaser.id)
        .values(touchpoint_id=d)
    )
    assert roles(session, [a, b, c, d]) == [0, ANY + VETO, 0, ANY + PURCHASER]


def test_changing_many_contacts_roles_at_once_updates_their_touchpoints(session, org):
    customer = f.customer(session, org.rep, roles=(DecisionRole.USER, DecisionRole.USER))
    first, second = customer.contacts
    a, b = bare_touchpoints(session, org.rep, customer, 2)
    session.execute(
        insert(touchpoint_contacts).values(
            [{"touchpoint_id": a, "contact_id": first.id}, {"touchpoint_id": b, "contact_id": second.id}]
        )
    )
    assert roles(session, [a, b]) == [ANY + USER, ANY + USER]
    session.execute(
        update(Contact)
        .where(Contact.id.in_([first.id, second.id]))
        .values(decision_role=DecisionRole.VETO)
        .execution_options(synchronize_session=False)
    )
    assert roles(session, [a, b]) == [ANY + VETO, ANY + VETO]


def test_the_value_a_writer_gives_up_front_is_the_one_the_database_keeps(session, org):
    """log_touchpoint writes contact_roles itself (so that the trigger has nothing to rewrite): the same value."""
    customer = f.customer(session, org.rep, roles=(DecisionRole.PURCHASER, DecisionRole.USER, DecisionRole.USER))
    purchaser, user, other_user = customer.contacts
    cases = [[], [user], [user, other_user], [purchaser, user]]
    logged = [f.touchpoint(session, org.rep, customer, utc(3, 1), contact_ids=[c.id for c in case]) for case in cases]
    assert [tp.contact_roles for tp in logged] == [contact_roles_of(c.decision_role for c in case) for case in cases]
    assert [tp.contact_roles for tp in logged] == [0, ANY + USER, ANY + USER, ANY + PURCHASER + USER]
    session.expire_all()
    assert roles(session, [tp.id for tp in logged]) == [0, ANY + USER, ANY + USER, ANY + PURCHASER + USER]
