"""The admin overview counts failed messages and messages queued too long; the delivery log shows who each
message is for, what it says, its attempts, its next attempt and its last error in Chinese; an admin resends
one failed message or all of them (POST with CSRF) and the workers send them through the WeCom emulator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.bot import outbox
from salesnav.handlers.rules.texts import local_time
from salesnav.jobs import queue as jobs_queue
from salesnav.models import AuditEntry, OutboundMessage, OutboundStatus, User
from salesnav.models import session as db
from tests.pages.admin.conftest import csrf, sign_in_with_password, text_of

CARD = {"card_type": "text_notice", "main_title": {"title": "跟进超时预警", "desc": "协和医院 73 小时未跟进"}}


def queue(send) -> int:
    """Queue one message (`send` takes the session) in its own unit of work; its id."""
    with db.transaction() as s:
        return send(s).id


def queued_without_workers(live, send) -> int:
    """Queued as a command leaves it when no server is running: the row waits, nobody sends it."""
    jobs_queue.configure_for_command("")
    try:
        return queue(send)
    finally:
        jobs_queue.configure(live.settings.redis_url)


def row(message_id: int) -> OutboundMessage:
    with db.transaction() as s:
        found = s.get(OutboundMessage, message_id)
        assert found is not None
        return found


@pytest.fixture
def log(live, org, frozen_clock) -> Iterator[dict[str, int]]:
    """Five messages: one waiting 11 minutes past its due time, one 9 minutes, one sent, one failed for good
    (81013), one retrying after 60020."""
    ids = {"stuck": queued_without_workers(live, lambda s: outbox.queue_text(s, "rep03", "回款逾期提醒：仁济医院"))}
    frozen_clock.advance(timedelta(minutes=2))
    ids["waiting"] = queued_without_workers(live, lambda s: outbox.queue_text(s, "dlv01", "样品测试工单待排期"))
    frozen_clock.advance(timedelta(minutes=9))
    ids["sent"] = queue(lambda s: outbox.queue_text(s, "rep01", "协和医院 3 天未跟进，请今天联系"))
    live.drain()
    live.emulator.fail_next(81013)
    ids["failed"] = queue(lambda s: outbox.queue_template_card(s, "mgr01", CARD))
    live.drain()
    live.emulator.fail_next(60020)
    ids["retrying"] = queue(lambda s: outbox.queue_markdown(s, "rep02", "**今日作战包** · 3月2日 周一"))
    live.drain()
    yield ids


def signed_in(live):
    client = live.app.test_client()
    sign_in_with_password(client)
    return client


def outbound_rows(response) -> dict[int, str]:
    """The delivery log's rows as text, by message id."""
    html = response.get_data(as_text=True)
    table = html[html.index('id="outbound"') : html.index('id="inbound"')]
    return {
        int(mid): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
        for mid, body in re.findall(r'<tr data-id="(\d+)">(.*?)</tr>', table, re.S)
    }


def card_number(response, card_id: str) -> int:
    html = response.get_data(as_text=True)
    found = re.search(rf'id="{card_id}"[^>]*><div class="num">(\d+)</div>', html)
    assert found, html
    return int(found.group(1))


def test_the_overview_counts_failed_messages_and_those_queued_over_ten_minutes_past_due(live, log):
    overview = signed_in(live).get("/admin/")
    assert overview.status_code == 200
    assert card_number(overview, "card-failed") == 1
    assert card_number(overview, "card-stuck") == 1  # 11 minutes past due; the one 9 minutes past is not yet
    assert "排队过久的消息" in text_of(overview) and "过了应发时间 10 分钟仍未发出" in text_of(overview)


def test_the_delivery_log_shows_recipient_content_attempts_next_attempt_and_the_error_in_chinese(live, log):
    rows = outbound_rows(signed_in(live).get("/admin/delivery"))
    now = clock.now()

    assert rows[log["sent"]].split()[:4] == [str(log["sent"]), "李销售", "rep01", "文本"]
    assert "协和医院 3 天未跟进，请今天联系" in rows[log["sent"]] and "已发送 1/5 —" in rows[log["sent"]]

    failed = rows[log["failed"]]
    assert "钱主管 mgr01 模板卡片 跟进超时预警：协和医院 73 小时未跟进 发送失败 1/5 —" in failed
    assert "接收人不在应用的可见范围内，或已离职（UserID 无效）（错误码 81013）" in failed
    assert "重发" in failed

    retrying = rows[log["retrying"]]
    assert "周销售 rep02 富文本 今日作战包 · 3月2日 周一 排队中 1/5" in retrying
    assert local_time(now + timedelta(seconds=30)) in retrying  # the outbox's backoff: base 30 s after attempt 1
    assert "服务器 IP 不在企业微信应用的可信 IP 名单中（错误码 60020）" in retrying
    assert "重发" not in retrying  # it is still being retried

    stuck = rows[log["stuck"]]
    assert "吴销售 rep03 文本 回款逾期提醒：仁济医院 排队中 排队过久 0/5" in stuck
    assert local_time(now - timedelta(minutes=11)) in stuck
    assert "排队过久" not in rows[log["waiting"]] and "王交付" in rows[log["waiting"]]


def test_the_log_filters_the_messages_queued_too_long(live, log):
    client = signed_in(live)
    assert list(outbound_rows(client.get("/admin/delivery?status=stuck"))) == [log["stuck"]]
    assert list(outbound_rows(client.get("/admin/delivery?status=failed"))) == [log["failed"]]
    assert "排队过久 1" in text_of(client.get("/admin/delivery"))


def test_resending_one_failed_message_queues_it_again_and_the_workers_send_it(live, log):
    client = signed_in(live)
    answer = client.post(
        f"/admin/delivery/outbound/{log['failed']}/resend",
        data={"csrf_token": csrf(client), "status": "failed"},
        follow_redirects=True,
    )
    assert answer.status_code == 200
    assert f"消息 #{log['failed']} 已重新排队，由后台任务发送" in text_of(answer)
    live.drain()

    assert (row(log["failed"]).status, row(log["failed"]).attempts) == (OutboundStatus.SENT, 1)
    [card] = [m for m in live.emulator.sent("mgr01") if m["msgtype"] == "template_card"]
    assert card["payload"]["main_title"]["title"] == "跟进超时预警"


def test_resending_all_failed_messages_queues_every_one_again_audited_and_the_workers_send_them(live, org, log):
    live.emulator.fail_next(81013)
    second = queue(lambda s: outbox.queue_text(s, "dir01", "信用审核冻结：华山医院 98.7 万"))
    live.drain()
    assert row(second).status is OutboundStatus.FAILED
    client = signed_in(live)
    page = client.get("/admin/delivery")
    assert "全部重发（2 条发送失败）" in text_of(page)

    answer = client.post(
        "/admin/delivery/outbound/resend-failed", data={"csrf_token": csrf(client)}, follow_redirects=True
    )
    assert "已重新排队 2 条发送失败的消息，由后台任务发送" in text_of(answer)
    live.drain()

    assert {row(i).status for i in (log["failed"], second)} == {OutboundStatus.SENT}
    assert [m["payload"]["content"] for m in live.emulator.sent("dir01")] == ["信用审核冻结：华山医院 98.7 万"]
    assert row(log["retrying"]).status is OutboundStatus.QUEUED  # not failed: left to its own retry
    with db.transaction() as s:
        boss = s.scalars(select(User.id).where(User.name == "管理员 boss")).one()
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "resend")).all()
        assert sorted(e.entity_id for e in entries) == sorted([log["failed"], second])
        assert {(e.actor_id, e.before["status"], e.after["status"]) for e in entries} == {(boss, "failed", "queued")}
    again = client.post(
        "/admin/delivery/outbound/resend-failed", data={"csrf_token": csrf(client)}, follow_redirects=True
    )
    assert "没有发送失败的消息需要重发" in text_of(again)


def test_resending_without_the_csrf_token_is_refused_and_nothing_is_queued(live, log):
    client = signed_in(live)
    assert client.post("/admin/delivery/outbound/resend-failed", data={}).status_code == 400
    assert client.post(f"/admin/delivery/outbound/{log['failed']}/resend", data={}).status_code == 400
    assert row(log["failed"]).status is OutboundStatus.FAILED


def test_only_a_failed_message_can_be_resent(live, log):
    client = signed_in(live)
    answer = client.post(f"/admin/delivery/outbound/{log['sent']}/resend", data={"csrf_token": csrf(client)})
    assert answer.status_code == 400
    assert "只有发送失败的消息可以重发（当前：已发送）" in text_of(answer)
