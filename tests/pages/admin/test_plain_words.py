"""The admin pages speak Chinese: the audit trail, the unprocessed inbound messages and the rules page show
labels, never internal names (`stage_change`, `template_card_event`, `touchpoint.logged`) or raw JSON."""

from __future__ import annotations

import re

from salesnav import clock
from salesnav.bot.emulator import callbacks
from salesnav.handlers import rule_settings
from salesnav.handlers.opportunities import advance_stage
from salesnav.models import InboundMessage, InboundStatus
from tests import factories as f
from tests.pages.admin.conftest import sign_in_with_password, text_of
from tests.rules.arrange import deal

RAW = re.compile(r"stage_change|rule_setting|template_card|touchpoint\.logged|[{}\[\]]|_id\b|_fen\b")


def _admin(live):
    client = live.app.test_client()
    sign_in_with_password(client)
    return client


def test_the_audit_trail_reads_as_sentences(live, org, session):
    _, opp = deal(session, org, customer_name="六安市立医院", title="监护仪")
    tp = f.touchpoint(session, org.rep, opp.customer, summary="确认需求", opportunity_id=opp.id)
    advance_stage(
        session,
        org.manager,
        opportunity_id=opp.id,
        to_stage="needs_confirmed",
        touchpoint_id=tp.id,
        override_reason="客户口头确认",
    )
    rule_settings.update(session, org.admin, "follow_up.overdue_hours", "48")
    session.commit()

    page = text_of(_admin(live).get("/admin/"))
    trail = page[page.index("最近的变更记录") :]
    assert "商机 #" in trail and "阶段变更" in trail and "规则设置 #" in trail
    assert "跟进超时时限" in trail or "48" in trail
    assert not RAW.search(trail), RAW.search(trail)
    # Stages by their names and members by theirs, not by code or id.
    assert "initial_contact" not in trail and "阶段：（空） → 初步接触" in trail
    assert "负责人：（空） → 李销售" in trail


def test_unprocessed_inbound_messages_name_their_kind_in_chinese(live, org, session):
    xml = callbacks.click_xml(live.settings, "rep01", "TOUCHPOINT_NEW")
    session.add(
        InboundMessage(
            dedupe_key="k1",
            from_userid="rep01",
            msg_type="event",
            event="template_card_event",
            raw_xml=xml,
            status=InboundStatus.FAILED,
            error="处理失败",
            received_at=clock.now(),
        )
    )
    session.commit()
    page = text_of(_admin(live).get("/admin/delivery"))
    assert "事件 · 卡片按钮" in page and "template_card_event" not in page


def test_the_rules_page_names_triggers_without_event_codes(live, org):
    page = text_of(_admin(live).get("/admin/rules"))
    assert "记录触点时检查" in page and "touchpoint.logged" not in page
