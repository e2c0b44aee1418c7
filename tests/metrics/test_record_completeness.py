"""触点记录完整率: effective, with a summary, a chosen emotion, every contact's role known and (面访) an attachment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from salesnav.metrics import Scope, Window, record_completeness
from salesnav.models import Contact, Customer, DecisionRole, Touchpoint, TouchpointType, User
from tests import factories as f
from tests.metrics.builders import utc

TWO_WEEKS = Window(utc(2, 16), utc(3, 2))


@pytest.fixture
def org(session, frozen_clock):
    return f.org(session)


def _record(
    session: Session,
    rep: User,
    customer: Customer,
    at: datetime,
    *,
    kind: TouchpointType = TouchpointType.PHONE,
    summary: str = "电话沟通报价，对方需内部讨论。",
    guessed: Sequence[str] = (),
    contacts: Sequence[Contact] | None = None,
    attachments: Sequence[int] = (),
    next_action: str | None = "发送报价单",
    due: datetime | None = None,
    deleted: bool = False,
) -> Touchpoint:
    """A complete record unless a keyword takes something away."""
    tp = Touchpoint(
        customer_id=customer.id,
        rep_id=rep.id,
        type=kind,
        summary=summary,
        guessed_fields=list(guessed),
        attachments=list(attachments),
        next_action=next_action,
        next_action_due=due or at.replace(hour=10),
        occurred_at=at,
        deleted_at=at if deleted else None,
    )
    tp.contacts = list(customer.contacts[:1] if contacts is None else contacts)
    session.add(tp)
    session.flush()
    return tp


def test_only_records_complete_in_every_part_count(session, org):
    cust = f.customer(session, org.rep, roles=(DecisionRole.USER, DecisionRole.PURCHASER))
    secretary = Contact(customer_id=cust.id, name="科室秘书", title="秘书", decision_role=None, phone="+8613800009999")
    session.add(secretary)
    session.flush()
    session.refresh(cust)
    user, purchaser = cust.contacts[0], cust.contacts[1]

    # Complete: 1) a phone call with one contact, 2) a visit with an attachment and two known roles,
    # 3) a WeChat whose guessed fields do not include the emotion.
    _record(session, org.rep, cust, utc(2, 16, 3))
    _record(
        session, org.rep, cust, utc(2, 17, 3), kind=TouchpointType.VISIT, attachments=[7], contacts=[user, purchaser]
    )
    _record(session, org.rep, cust, utc(2, 18, 3), kind=TouchpointType.WECHAT, guessed=["summary"])
    # Incomplete, one thing missing each: a visit without attachment, a blank summary, a guessed emotion,
    # a contact present without a decision role, no next action, no due time... (6)
    _record(session, org.rep, cust, utc(2, 19, 3), kind=TouchpointType.VISIT)
    _record(session, org.rep, cust, utc(2, 20, 3), summary="  ")
    _record(session, org.rep, cust, utc(2, 21, 3), guessed=["type", "emotion"])
    _record(session, org.rep, cust, utc(2, 22, 3), contacts=[user, secretary])
    _record(session, org.rep, cust, utc(2, 23, 3), next_action=None)
    bare = _record(session, org.rep, cust, utc(2, 24, 3))
    bare.next_action_due = None
    # ...and nobody from the customer present (7).
    _record(session, org.rep, cust, utc(2, 25, 3), contacts=[])
    # Not counted at all: retired, outside the window, another team's rep.
    _record(session, org.rep, cust, utc(2, 26, 3), deleted=True)
    _record(session, org.rep, cust, utc(2, 15, 23))
    _record(session, org.rep, cust, utc(3, 2))
    _record(session, org.outsider_rep, cust, utc(2, 26, 3), kind=TouchpointType.VISIT)
    session.flush()

    mine = record_completeness(session, TWO_WEEKS, Scope.rep(org.rep))
    assert (mine.numerator, mine.denominator) == (3, 3 + 7)
    assert mine.value == pytest.approx(0.3)
    team = record_completeness(session, TWO_WEEKS, Scope.team(session, org.manager))
    assert (team.numerator, team.denominator) == (3, 10)
    company = record_completeness(session, TWO_WEEKS, Scope.company(session))
    assert (company.numerator, company.denominator) == (3, 11)  # the outsider's visit has no attachment


def test_no_touchpoints_is_undefined_not_zero(session, org):
    assert record_completeness(session, TWO_WEEKS, Scope.company(session)).value is None
    cust = f.customer(session, org.rep)
    _record(session, org.rep, cust, utc(2, 20, 3), next_action=None)
    assert record_completeness(session, TWO_WEEKS, Scope.company(session)).value == 0.0
