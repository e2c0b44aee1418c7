"""The events the rules react to are named once (salesnav/handlers/rules/events.py): recording one of them
schedules the rules' reactions, recording anything else schedules nothing, and the list matches the rules."""

from __future__ import annotations

from sqlalchemy.orm import Session

from salesnav.handlers.records import DISPATCH_EVENT_JOB, DISPATCH_EVENTS_JOB, record_event, record_events
from salesnav.handlers.rules import events, registry
from salesnav.jobs import queue
from salesnav.models import Role
from tests import factories


def _scheduled(session: Session) -> list[str]:
    """The jobs this session will queue when it commits (queue.enqueue_after_commit keeps them in session.info)."""
    return [job for _savepoint, (job, *_) in session.info.get(queue._PENDING, [])]


def test_the_events_named_for_the_rules_are_exactly_those_the_registered_rules_react_to():
    reacted_to = {kind for rule in registry.all_rules() for kind in rule.reactions}
    assert reacted_to == events.RULES_REACT_TO
    assert all(events.subscribed(kind) for kind in reacted_to)
    assert not events.subscribed("customer.created")


def test_recording_an_event_a_rule_reacts_to_schedules_the_rules_after_commit(session: Session):
    rep = factories.user(session, "rep1", Role.REP)
    record_event(session, events.TOUCHPOINT_LOGGED, "touchpoint", 1, rep)
    record_events(session, events.STAGE_ADVANCED, "opportunity", [(1, {}), (2, {})], rep)
    assert _scheduled(session) == [DISPATCH_EVENT_JOB, DISPATCH_EVENTS_JOB]


def test_recording_an_event_no_rule_reacts_to_schedules_nothing(session: Session):
    rep = factories.user(session, "rep1", Role.REP)
    record_event(session, "customer.created", "customer", 1, rep)
    record_events(session, "collaboration.ticket_closed", "ticket", [(1, {})], rep)
    assert _scheduled(session) == []
