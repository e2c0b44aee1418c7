"""Logging a touchpoint (客户触点日志)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.touchpoints import log_touchpoint
from salesnav.models import CaptureSource, DomainEvent, Emotion, Touchpoint, TouchpointType
from tests import factories as f

pytestmark = pytest.mark.smoke


def test_rep_logs_a_touchpoint_with_contacts_and_next_action(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    tp = log_touchpoint(
        session,
        org.rep,
        customer_id=cust.id,
        type="面访",
        emotion="积极",
        summary="设备科试用反馈好",
        contact_ids=[cust.contacts[0].id],
        next_action="周二送样机",
        next_action_due=frozen_clock.now() + timedelta(days=1),
        source=CaptureSource.CHAT_BUTTON,
    )
    session.commit()
    assert tp.type is TouchpointType.VISIT and tp.emotion is Emotion.POSITIVE
    assert tp.is_effective
    assert tp.submitted_at == frozen_clock.now()
    event = session.scalars(select(DomainEvent).where(DomainEvent.kind == "touchpoint.logged")).one()
    assert event.subject_id == tp.id and event.payload["effective"] is True


def test_touchpoint_without_customer_side_contact_is_not_effective(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust, next_action="回电", next_action_due=frozen_clock.now())
    assert not tp.is_effective


def test_rep_cannot_log_on_another_reps_customer(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.outsider_rep)
    with pytest.raises(NotFound, match="无权"):
        f.touchpoint(session, org.rep, cust)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "飞鸽传书"}, "触点类型"),
        ({"emotion": "愤怒"}, "情绪信号"),
        ({"next_action_due_in": timedelta(days=1)}, "下一步动作"),
        ({"occurred_in": timedelta(hours=2)}, "不能晚于现在"),
    ],
)
def test_bad_touchpoint_input_is_refused_in_chinese(session, frozen_clock, kwargs, message):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    args = {"type": "电话"}
    if "type" in kwargs:
        args["type"] = kwargs["type"]
    if "emotion" in kwargs:
        args["emotion"] = kwargs["emotion"]
    if "next_action_due_in" in kwargs:
        args["next_action_due"] = frozen_clock.now() + kwargs["next_action_due_in"]
    if "occurred_in" in kwargs:
        args["occurred_at"] = frozen_clock.now() + kwargs["occurred_in"]
    with pytest.raises(DomainError, match=message):
        log_touchpoint(session, org.rep, customer_id=cust.id, **args)
    assert session.scalars(select(Touchpoint)).all() == []


def test_contact_of_another_customer_is_refused(session, frozen_clock):
    org = f.org(session)
    cust, other = f.customer(session, org.rep), f.customer(session, org.rep)
    with pytest.raises(DomainError, match="参与人"):
        f.touchpoint(session, org.rep, cust, contact_ids=[other.contacts[0].id])
