"""The router: one registry line per route, a fallback, Chinese refusals, visible failures (no HTTP)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from salesnav.bot import inbound
from salesnav.bot.emulator import callbacks
from salesnav.bot.parse import parse_message
from salesnav.bot.router import Router, load_routes
from salesnav.bot.testing import feed
from salesnav.models import InboundMessage, InboundStatus, OutboundMessage
from salesnav.models import session as db
from tests import factories as f


@pytest.fixture
def org(session, live_app):
    org = f.org(session)
    session.commit()
    return org


def _row(inbound_id: int) -> InboundMessage:
    with db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None
        return row


def _replies(userid: str = "rep01") -> list[OutboundMessage]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(OutboundMessage).where(OutboundMessage.recipient_userid == userid).order_by(OutboundMessage.id)
            )
        )


def test_every_menu_key_message_type_and_event_we_handle_has_a_route(settings):
    router = load_routes()
    s = callbacks  # builders give the exact XML WeCom sends
    for xml in (
        s.text_xml(settings, "u", "hi"),
        s.voice_xml(settings, "u", "m"),
        s.image_xml(settings, "u", "m"),
        s.enter_agent_xml(settings, "u"),
        s.add_external_contact_xml(settings, "u", "wm1"),
        s.template_card_event_xml(settings, "u", task_id="t", key="tp:cust:1", response_code="r"),
        *(s.click_xml(settings, "u", key) for key in ("TOUCHPOINT_NEW", "OPPORTUNITY_NEW", "BATTLE_PACK", "MY_TASKS")),
    ):
        assert router.resolve(parse_message(xml)) is not None, xml


def test_a_second_route_for_the_same_key_is_refused_at_import_time():
    router = Router()
    router.event("click", key="X")(lambda incoming: None)
    with pytest.raises(ValueError, match="two routes"):
        router.event("click", key="X")(lambda incoming: None)


def test_template_card_and_external_contact_events_are_parsed_into_typed_fields(settings):
    card = parse_message(
        callbacks.template_card_event_xml(
            settings,
            "rep01",
            task_id="tp-1-2",
            key="tp:emo:positive",
            response_code="rc",
            selected={"tp_type": ["phone"]},
            create_time=1700000000,
        )
    )
    assert (card.event, card.event_key, card.get("TaskId"), card.get("ResponseCode")) == (
        "template_card_event",
        "tp:emo:positive",
        "tp-1-2",
        "rc",
    )
    assert card.selected_options == {"tp_type": ["phone"]}
    assert card.dedupe_key() == "event:rep01:1700000000:template_card_event:tp:emo:positive:tp-1-2:rc"

    added = parse_message(callbacks.add_external_contact_xml(settings, "rep01", "wmABC", create_time=1700000000))
    assert added.from_user == "sys" and added.actor_userid == "rep01"
    # Two members adding contacts in the same second are two events, not a retry.
    other = parse_message(callbacks.add_external_contact_xml(settings, "rep02", "wmXYZ", create_time=1700000000))
    assert added.dedupe_key() != other.dedupe_key()
    assert "add_external_contact" in added.dedupe_key() and "wmABC" in added.dedupe_key()


def test_feeding_the_dispatcher_without_http_answers_like_the_callback(org, live_app):
    inbound_id = feed(callbacks.text_xml(live_app.settings, "rep01", "帮助", msg_id=1))
    assert _row(inbound_id).status is InboundStatus.PROCESSED
    [reply] = _replies()
    assert "触点 协和医院 面访 积极" in reply.body["content"]
    assert feed(callbacks.text_xml(live_app.settings, "rep01", "帮助", msg_id=1)) is None  # a retry


def test_an_unknown_event_is_stored_and_marked_ignored_without_a_reply(org, live_app):
    xml = callbacks.click_xml(live_app.settings, "rep01", "NO_SUCH_MENU")
    inbound_id = feed(xml)
    row = _row(inbound_id)
    assert row.status is InboundStatus.IGNORED and row.error and "no route" in row.error
    assert _replies() == []


def test_a_member_unknown_to_salesnav_is_told_so_in_chinese(org, live_app):
    feed(callbacks.click_xml(live_app.settings, "stranger", "MY_TASKS"))
    [reply] = _replies("stranger")
    assert "还没有开通" in reply.body["content"]


def test_a_refused_use_case_becomes_a_chinese_reply_not_a_failure(org, live_app):
    inbound_id = feed(callbacks.click_xml(live_app.settings, "rep01", "OPPORTUNITY_NEW"))
    row = _row(inbound_id)
    assert row.status is InboundStatus.PROCESSED and row.error.startswith("refused")
    [reply] = _replies()
    assert "请先点「记触点」" in reply.body["content"]


def test_a_processing_failure_marks_the_message_failed_and_it_can_be_reprocessed(org, live_app, session):
    # A fault in processing (here: stored XML the job cannot read) must be visible, never swallowed.
    message = parse_message(callbacks.text_xml(live_app.settings, "rep01", "帮助", msg_id=99))
    inbound_id = inbound.store(message, "<xml><broken", enqueue=False)
    with pytest.raises(ValueError):
        inbound.process_inbound(inbound_id)
    row = _row(inbound_id)
    assert row.status is InboundStatus.FAILED and "MalformedMessage" in row.error

    with db.transaction() as s:  # the operator repairs the stored message, then reprocesses it
        s.get(InboundMessage, inbound_id).raw_xml = callbacks.text_xml(live_app.settings, "rep01", "帮助", msg_id=99)
    inbound.reprocess(inbound_id)
    live_app.drain()
    assert _row(inbound_id).status is InboundStatus.PROCESSED
    assert len(_replies()) == 1


def test_a_member_unknown_to_salesnav_opening_the_app_gets_no_reply_each_visit(org, live_app):
    inbound_id = feed(callbacks.enter_agent_xml(live_app.settings, "stranger"))
    assert _row(inbound_id).status is InboundStatus.PROCESSED
    assert _replies("stranger") == []
