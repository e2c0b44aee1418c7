"""The outbox: queued in the caller's transaction, delivered through the emulator, never lost unseen."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.bot import outbox
from salesnav.bot.client import get_client
from salesnav.bot.outbox import TEXT_LIMIT_BYTES, text_parts
from salesnav.handlers.attachments import store_attachment
from salesnav.models import Attachment, OutboundMessage, OutboundStatus
from salesnav.models import session as db
from salesnav.reports.health_pdf import render
from salesnav.settings import current_settings
from tests import factories
from tests.bot.conftest import LiveApp


@pytest.fixture
def org(live_app: LiveApp, session: Session, frozen_clock: clock.FrozenClock) -> factories.Org:
    made = factories.org(session)
    session.commit()
    return made


def _rows() -> list[OutboundMessage]:
    with db.transaction() as s:
        return list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def _row(message_id: int) -> OutboundMessage:
    with db.transaction() as s:
        row = s.get(OutboundMessage, message_id)
        assert row is not None
        return row


def test_queued_text_is_sent_after_commit(live_app: LiveApp, org: factories.Org, session: Session) -> None:
    message = outbox.queue_text(session, "rep01", "协和医院 3 天未跟进，请今天联系")
    live_app.drain()
    assert live_app.emulator.sent("rep01") == []  # nothing leaves before the transaction commits

    session.commit()
    live_app.drain()

    sent = live_app.emulator.sent("rep01")
    assert [m["payload"]["content"] for m in sent] == ["协和医院 3 天未跟进，请今天联系"]
    row = _row(message.id)
    assert row.status == OutboundStatus.SENT and row.attempts == 1
    assert row.wecom_msgid == sent[0]["msgid"] and row.sent_at == clock.now()


def test_rolled_back_message_is_never_sent(live_app: LiveApp, org: factories.Org, session: Session) -> None:
    outbox.queue_text(session, "rep01", "不会发出")
    session.rollback()
    live_app.drain()

    assert live_app.emulator.sent(everything=True) == []
    assert _rows() == []


def test_template_card_keeps_its_response_code(live_app: LiveApp, org: factories.Org, session: Session) -> None:
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": "记触点"},
        "task_id": "tp-rep01-1",
        "button_list": [{"text": "积极", "key": "positive"}],
    }
    message = outbox.queue_template_card(session, "rep01", card)
    session.commit()
    live_app.drain()

    assert _row(message.id).response_code == live_app.emulator.sent("rep01")[0]["response_code"]


def test_card_update_goes_through_the_outbox(live_app: LiveApp, org: factories.Org, session: Session) -> None:
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": "记触点"},
        "task_id": "tp-rep01-2",
        "button_list": [{"text": "积极", "key": "positive"}],
    }
    outbox.queue_template_card(session, "rep01", card)
    session.commit()
    live_app.drain()
    code = live_app.emulator.sent("rep01")[0]["response_code"]

    saved = {**card, "main_title": {"title": "已记录：协和医院 面访 积极"}}
    update = outbox.queue_message(
        session, "rep01", "update_template_card", {"response_code": code, "template_card": saved}
    )
    session.commit()
    live_app.drain()

    assert _row(update.id).status == OutboundStatus.SENT
    assert live_app.emulator.card_updates()[0]["template_card"]["main_title"]["title"] == "已记录：协和医院 面访 积极"


def test_same_idempotency_key_twice_gives_one_message(live_app: LiveApp, org: factories.Org, session: Session) -> None:
    first = outbox.queue_text(session, "rep01", "今日作战包", idempotency_key="battle-pack:rep01:2026-03-02")
    again = outbox.queue_text(session, "rep01", "今日作战包", idempotency_key="battle-pack:rep01:2026-03-02")
    session.commit()
    later = outbox.queue_text(session, "rep01", "今日作战包", idempotency_key="battle-pack:rep01:2026-03-02")
    session.commit()
    live_app.drain()

    assert first.id == again.id == later.id
    assert len(_rows()) == 1
    assert len(live_app.emulator.sent("rep01")) == 1


def test_token_expiry_mid_send_is_refreshed_and_sent(live_app: LiveApp, org: factories.Org, session: Session) -> None:
    outbox.queue_text(session, "rep01", "第一条")
    session.commit()
    live_app.drain()
    live_app.emulator.expire_tokens()

    second = outbox.queue_text(session, "rep01", "令牌过期后的第二条")
    session.commit()
    live_app.drain()

    assert [m["payload"]["content"] for m in live_app.emulator.sent("rep01")] == ["第一条", "令牌过期后的第二条"]
    row = _row(second.id)
    assert row.status == OutboundStatus.SENT and row.attempts == 1
    assert live_app.emulator.state()["gettoken_calls"] == 2


def test_rate_limit_backs_off_and_sends_later(
    live_app: LiveApp, org: factories.Org, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    live_app.emulator.fail_next(45009)
    message = outbox.queue_text(session, "mgr01", "周销售的商机已停滞 14 天")
    session.commit()
    live_app.drain()

    held = _row(message.id)
    assert held.status == OutboundStatus.QUEUED and "45009" in (held.last_error or "")
    assert held.attempts == 0  # WeCom was busy; that costs the message no attempt
    assert held.next_attempt_at is not None and held.next_attempt_at > clock.now()
    assert outbox.flush_due() == 0  # not yet due
    assert live_app.emulator.sent("mgr01") == []

    frozen_clock.advance(timedelta(seconds=61))
    assert outbox.flush_due() == 1

    assert [m["payload"]["content"] for m in live_app.emulator.sent("mgr01")] == ["周销售的商机已停滞 14 天"]
    assert _row(message.id).status == OutboundStatus.SENT


def test_failing_every_send_marks_the_message_failed_after_the_last_retry(
    live_app: LiveApp, org: factories.Org, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    live_app.emulator.fail_all_sends(60020)
    message = outbox.queue_text(session, "rep01", "回款逾期提醒")
    session.commit()
    live_app.drain()

    waits = []
    while (row := _row(message.id)).status == OutboundStatus.QUEUED:
        assert row.next_attempt_at is not None
        waits.append((row.next_attempt_at - clock.now()).total_seconds())
        frozen_clock.set(row.next_attempt_at)
        outbox.flush_due()

    failed = _row(message.id)
    max_attempts = outbox.policy().max_attempts
    base = outbox.policy().retry_base_seconds
    assert failed.status == OutboundStatus.FAILED and failed.attempts == max_attempts
    assert "60020" in (failed.last_error or "")
    assert failed.body == {"content": "回款逾期提醒"}  # nothing lost: the message is still there to resend
    assert waits == [base * 2**n for n in range(max_attempts - 1)]
    assert len(live_app.emulator.sent("rep01", everything=True)) == max_attempts
    assert live_app.emulator.sent("rep01") == []


def test_burst_to_one_person_is_throttled_and_the_surplus_merged_into_a_digest(
    live_app: LiveApp, org: factories.Org, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    for n in range(1, 41):
        outbox.queue_markdown(session, "rep01", f"**预警** 客户{n}号 触点超期", idempotency_key=f"alert:{n}")
    session.commit()
    live_app.drain()

    rows = _rows()
    sent = [r for r in rows if r.status == OutboundStatus.SENT]
    merged = [r for r in rows if r.status == OutboundStatus.MERGED]
    digests = [r for r in rows if r.idempotency_key and r.idempotency_key.startswith("digest:")]
    assert len(sent) == 30 and len(merged) == 10 and len(digests) == 1
    assert {r.digest_id for r in merged} == {digests[0].id}
    assert len(live_app.emulator.sent("rep01", everything=True)) == 30  # WeCom never had to drop anything

    frozen_clock.advance(timedelta(seconds=61))
    outbox.flush_due()

    messages = live_app.emulator.sent("rep01")
    assert len(messages) == 31
    digest_text = messages[-1]["payload"]["content"]
    assert "10 条提醒" in digest_text
    assert "客户31号" in digest_text and "客户40号" in digest_text
    assert _row(digests[0].id).status == OutboundStatus.SENT


def test_other_recipients_are_not_held_back_by_someone_elses_burst(
    live_app: LiveApp, org: factories.Org, session: Session
) -> None:
    for n in range(35):
        outbox.queue_text(session, "rep01", f"提醒 {n}")
    outbox.queue_text(session, "rep02", "给周销售的提醒")
    session.commit()
    live_app.drain()

    assert len(live_app.emulator.sent("rep02")) == 1
    assert len(live_app.emulator.sent("rep01")) == 30


@pytest.fixture
def small_company_cap(monkeypatch: pytest.MonkeyPatch) -> outbox.OutboxPolicy:
    """WeCom's 10,000 calls a minute made 3, and no waiting inside a job: the rows are left for the flush."""
    small = dataclasses.replace(outbox.policy(), company_per_minute=3, company_wait_seconds=0)
    monkeypatch.setattr(outbox, "_policy", small)
    return small


def test_past_the_companys_calls_a_minute_messages_wait_for_room_and_none_is_lost(
    live_app: LiveApp, org: factories.Org, session: Session, frozen_clock: clock.FrozenClock, small_company_cap
) -> None:
    for n in range(5):
        outbox.queue_text(session, f"rep0{n % 2 + 1}", f"提醒 {n}")
    session.commit()
    live_app.drain()

    rows = _rows()
    assert [r.status for r in rows].count(OutboundStatus.SENT) == 3
    waiting = [r for r in rows if r.status == OutboundStatus.QUEUED]
    assert [(r.attempts, r.last_error) for r in waiting] == [(0, None)] * 2  # held back, not failed
    assert all(r.next_attempt_at == rows[0].sent_at + timedelta(minutes=1) for r in waiting)  # when there is room
    assert outbox.flush_due() == 0
    assert live_app.emulator.control()["counts"]["rate_limited"] == 0  # WeCom never had to refuse a call

    frozen_clock.advance(timedelta(minutes=1))
    outbox.flush_due()
    assert [r.status for r in _rows()] == [OutboundStatus.SENT] * 5
    assert live_app.emulator.control()["counts"]["delivered"] == 5


def test_a_burst_is_sent_in_batches_every_message_once(live_app: LiveApp, org: factories.Org, session: Session) -> None:
    userids = ["rep01", "rep02", "mgr01"]
    ids = [outbox.queue_text(session, userids[n % 3], f"作战包 {n}").id for n in range(75)]
    outbox.deliver_after_commit(session, ids)
    session.commit()
    live_app.drain()

    assert {r.status for r in _rows()} == {OutboundStatus.SENT}
    counts = live_app.emulator.control()["counts"]
    assert (counts["delivered"], counts["dropped"], counts["rate_limited"]) == (75, 0, 0)
    assert sorted(m["payload"]["content"] for m in live_app.emulator.sent()) == sorted(f"作战包 {n}" for n in range(75))


def _kept_pdf(session: Session, name: str = "瑞金医院-触点记录.pdf") -> Attachment:
    pdf = render("瑞金医院", "客户健康红灯", [], clock.now())
    return store_attachment(session, None, data=pdf, filename=name, root=current_settings().attachments_dir)


def test_a_kept_file_is_uploaded_when_sent_and_a_failed_upload_is_retried(
    live_app: LiveApp, org: factories.Org, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    live_app.emulator.fail_next(-1)  # WeCom busy: the upload fails once
    kept = _kept_pdf(session)
    message = outbox.queue_file(session, "mgr01", kept)
    session.commit()
    live_app.drain()

    held = _row(message.id)
    assert held.status == OutboundStatus.QUEUED and held.attempts == 1 and "-1" in (held.last_error or "")
    assert live_app.emulator.sent("mgr01") == []

    frozen_clock.set(held.next_attempt_at)
    assert outbox.flush_due() == 1
    [sent] = live_app.emulator.sent("mgr01")
    assert sent["msgtype"] == "file"
    assert (
        get_client().download_media(sent["payload"]["media_id"])
        == (current_settings().attachments_dir / kept.storage_path).read_bytes()
    )
    assert _row(message.id).status == OutboundStatus.SENT


def test_a_file_gone_from_the_server_ends_failed_and_says_which(
    live_app: LiveApp, org: factories.Org, session: Session, frozen_clock: clock.FrozenClock
) -> None:
    kept = _kept_pdf(session, "丢失的文件.pdf")
    (current_settings().attachments_dir / kept.storage_path).unlink()
    message = outbox.queue_file(session, "mgr01", kept)
    session.commit()
    live_app.drain()
    while (row := _row(message.id)).status == OutboundStatus.QUEUED:
        frozen_clock.set(row.next_attempt_at)
        outbox.flush_due()

    failed = _row(message.id)
    assert failed.status == OutboundStatus.FAILED
    assert "待发送的文件已不在服务器上：丢失的文件.pdf" in (failed.last_error or "")
    assert live_app.emulator.sent("mgr01", everything=True) == []


# A text longer than WeCom takes (2,048 bytes) goes as several messages, in order, none refused.
def test_a_short_text_is_one_message() -> None:
    assert text_parts("导入预览：\n· 第2行 手机号不完整") == ["导入预览：\n· 第2行 手机号不完整"]


def test_a_long_text_is_cut_at_line_ends_and_says_it_goes_on() -> None:
    lines = [f"· 台账 第{n}行 阶段「报价」按「商务谈判」理解" for n in range(1, 80)]
    parts = text_parts("\n".join(lines))
    assert len(parts) > 1
    assert all(len(part.encode()) <= TEXT_LIMIT_BYTES for part in parts)
    assert parts[0].endswith("（未完，见下一条）")
    assert all(part.startswith("（续）\n") for part in parts[1:])
    assert not parts[-1].endswith("（未完，见下一条）")
    kept = [line for part in parts for line in part.split("\n") if line.startswith("·")]
    assert kept == lines  # every line, whole, in order


def test_a_single_line_longer_than_a_message_is_cut_within_it() -> None:
    line = "长" * 2000  # 6,000 bytes
    parts = text_parts(line)
    assert all(len(part.encode()) <= TEXT_LIMIT_BYTES for part in parts)
    assert "".join(part.removeprefix("（续）\n").removesuffix("\n（未完，见下一条）") for part in parts) == line
