"""The notification port: a use case records what is to be said to whom; the channel carries it after commit."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from salesnav.models import OutboundMessage
from salesnav.ports import notifications
from tests import factories as f


@dataclass(frozen=True)
class CarrierPigeon:
    userid: str


def test_a_kind_of_notification_no_channel_carries_fails_loudly_instead_of_vanishing(session):
    with pytest.raises(notifications.NotificationNotWired, match="CarrierPigeon"):
        notifications.notify(session, CarrierPigeon("rep01"))
    with pytest.raises(notifications.NotificationNotWired):
        notifications.notify_all(session, [CarrierPigeon("rep01")], CarrierPigeon)


def test_a_text_to_a_member_is_an_outbox_row_of_the_use_cases_transaction_and_goes_with_its_rollback(session):
    org = f.org(session)
    session.commit()
    note = notifications.TextToMember(org.rep.wecom_userid, "【客户交接】请尽快跟进。", key="handover:test")
    notifications.notify(session, note)
    notifications.notify(session, note)  # the same key again: said once
    rows = session.scalars(select(OutboundMessage).where(OutboundMessage.idempotency_key == "handover:test")).all()
    assert [(r.recipient_userid, r.msg_type, r.body) for r in rows] == [
        (org.rep.wecom_userid, "text", {"content": "【客户交接】请尽快跟进。"})
    ]
    session.rollback()  # the use case failed after recording it: nothing is said
    assert session.scalar(select(OutboundMessage.id).where(OutboundMessage.idempotency_key == "handover:test")) is None


def test_every_kind_of_notification_has_a_channel_once_the_process_is_wired():
    kinds = [
        notifications.TextToMember,
        notifications.CardToMember,
        notifications.FileToMember,
        notifications.AlertToAnnotate,
        notifications.AnnotationToRep,
        notifications.TicketPartToDepartment,
        notifications.BattlePackToRep,
        notifications.EmailBrief,
    ]
    assert [k.__name__ for k in kinds if not notifications.is_wired(k)] == []
