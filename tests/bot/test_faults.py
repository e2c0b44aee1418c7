"""Faults between the acknowledgement and the reply: Redis away, a worker killed mid-job, WeCom's answer lost.

What WeCom was told arrived is processed once; what WeCom delivered is delivered once.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.bot import inbound, outbox
from salesnav.bot.emulator import callbacks
from salesnav.jobs import queue as jobs_queue
from salesnav.jobs import recovery, runner
from salesnav.models import InboundStatus, JobRun, OutboundStatus
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat, inbound_rows, outbound_rows
from tests.bot.conftest import serve

REDIS_DOWN = "redis://127.0.0.1:1/0"  # nothing listens there: every enqueue is refused at once


@pytest.fixture
def rep(session):
    org = f.org(session)
    f.customer(session, org.rep, name="北京协和医院")
    session.commit()
    return org.rep


def _runs() -> dict[str, tuple[str, int]]:
    with db.transaction() as session:
        return {r.key: (r.status, r.attempts) for r in session.scalars(select(JobRun))}


def _redis_back(live_app) -> jobs_queue.InProcessBackend | jobs_queue.RqBackend:
    return jobs_queue.configure(live_app.settings.redis_url)


def test_a_callback_acknowledged_during_a_redis_outage_is_answered_once_redis_is_back(live_app, rep, frozen_clock):
    """Seen: the row committed, the after-commit enqueue raised, the answer was 500; WeCom's retry hit the stored
    row, got 200, and nothing was ever queued (240 of 560 callbacks stayed `received` forever)."""
    jobs_queue.configure(REDIS_DOWN)
    signed = callbacks.sign(live_app.settings, callbacks.text_xml(live_app.settings, "rep01", "你好"))
    first = callbacks.post_callback(live_app.base_url, live_app.settings, signed)
    retry = callbacks.post_callback(live_app.base_url, live_app.settings, signed)  # WeCom retries anyway
    assert (first.status_code, retry.status_code) == (200, 200)
    [row] = inbound_rows()
    assert row.status is InboundStatus.RECEIVED
    assert _runs() == {inbound.job_key(row.id): ("queued", 0)}  # written down for the sweep

    backend = _redis_back(live_app)
    assert recovery.sweep().requeued == [inbound.job_key(row.id)]
    backend.drain()
    assert inbound_rows()[0].status is InboundStatus.PROCESSED
    assert len(Chat(live_app).sent()) == 1 and Chat(live_app).last_text().startswith("没看懂")
    assert recovery.sweep().requeued == []  # nothing left, nothing twice


def test_the_sweep_queues_a_message_whose_enqueue_never_happened(live_app, rep, frozen_clock):
    """The process died between the commit and the enqueue: no job run at all, the row `received`."""
    message = callbacks.text_xml(live_app.settings, "rep01", "你好")
    from salesnav.bot.parse import parse_message

    inbound_id = inbound.store(parse_message(message), message, enqueue=False)
    assert recovery.sweep().requeued == []  # may still be on its way through the queue
    frozen_clock.advance(recovery.INBOUND_GRACE + timedelta(seconds=1))
    assert recovery.sweep().requeued == [inbound.job_key(inbound_id)]
    live_app.drain()
    assert inbound_rows()[0].status is InboundStatus.PROCESSED and len(Chat(live_app).sent()) == 1


def test_a_job_whose_worker_was_killed_is_retried_after_its_lease_and_reprocess_says_what_it_does(
    live_app, rep, frozen_clock
):
    """Seen: after SIGKILL mid inbound job the run stayed `running` and the message `received`; `reprocess`
    printed 已重新排队处理 but the worker skipped it as already running, for 15 minutes."""
    jobs_queue.configure(REDIS_DOWN)  # the job waits, unqueued, for a worker to take it
    assert callbacks.post_callback(
        live_app.base_url, live_app.settings, callbacks.text_xml(live_app.settings, "rep01", "你好")
    ).ok
    [row] = inbound_rows()
    key = inbound.job_key(row.id)
    backend = _redis_back(live_app)
    # A worker takes the job (its claim holds a lease)… and is killed before it finishes: nothing renews it.
    attempts = runner._claim(key, "salesnav.bot.inbound:process_inbound", [row.id], "inbound")
    assert attempts == 1

    assert recovery.sweep().requeued == []  # the lease is live: maybe it is only slow
    refused = inbound.reprocess(row.id)
    assert not refused.queued and "正由一个运行中的 worker 处理" in refused.message
    backend.drain()
    assert inbound_rows()[0].status is InboundStatus.RECEIVED

    frozen_clock.advance(runner.LEASE + timedelta(seconds=1))  # no heartbeat came: the process is gone
    taken = inbound.reprocess(row.id)
    assert taken.queued and "租约已过期" in taken.message
    assert recovery.sweep().requeued == []  # already queued again by reprocess: not twice
    backend.drain()
    assert inbound_rows()[0].status is InboundStatus.PROCESSED
    assert _runs()[key] == ("done", 2)
    assert len(Chat(live_app).sent()) == 1
    again = inbound.reprocess(row.id)
    assert not again.queued and "已处理完毕" in again.message


def test_the_sweep_alone_retries_a_killed_job_within_a_lease(live_app, rep, frozen_clock):
    jobs_queue.configure(REDIS_DOWN)
    callbacks.post_callback(
        live_app.base_url, live_app.settings, callbacks.text_xml(live_app.settings, "rep01", "你好")
    )
    [row] = inbound_rows()
    backend = _redis_back(live_app)
    runner._claim(inbound.job_key(row.id), "salesnav.bot.inbound:process_inbound", [row.id], "inbound")
    frozen_clock.advance(runner.LEASE + timedelta(seconds=1))
    assert recovery.sweep().requeued == [inbound.job_key(row.id)]
    backend.drain()
    assert inbound_rows()[0].status is InboundStatus.PROCESSED and len(Chat(live_app).sent()) == 1


def test_a_lease_is_renewed_while_its_job_runs(session, frozen_clock):
    org = f.org(session)
    session.commit()
    attempts = runner._claim("long:1", "tests.jobs.sample_jobs:record_run", [org.rep.id, "x"], "default")
    runner.LEASES.hold("long:1", attempts)
    try:
        frozen_clock.advance(runner.LEASE - timedelta(seconds=5))
        runner.LEASES.renew()  # the heartbeat thread does this every few seconds
        frozen_clock.advance(timedelta(seconds=30))
        assert recovery.sweep().requeued == []  # past the first lease, but renewed: alive
    finally:
        runner.LEASES.release("long:1")


def test_a_send_whose_answer_was_lost_is_delivered_once(live_app, rep, frozen_clock):
    """Seen: a worker killed during a send, or WeCom answering after the timeout, delivered the message twice.
    The retry carries WeCom's duplicate check, so WeCom does not deliver it again."""
    jobs_queue.configure(REDIS_DOWN)  # this test is the worker: it delivers by hand
    with db.transaction() as s:
        outbox.queue_text(s, "rep01", "明天上午十点拜访协和医院")
    [message] = outbound_rows()
    live_app.emulator.control(lose_answers=1)  # delivered, but the answer never comes back
    outbox.deliver(message.id)
    assert outbound_rows()[0].status is OutboundStatus.QUEUED  # for all we know it failed: retried later
    frozen_clock.advance(timedelta(seconds=outbox.policy().retry_base_seconds + 1))
    outbox.deliver(message.id)
    assert outbound_rows()[0].status is OutboundStatus.SENT
    calls = live_app.emulator.sent("rep01", everything=True)
    assert len(calls) == 2 and calls[1]["duplicate_of"] == calls[0]["seq"]
    assert [m["payload"]["content"] for m in live_app.emulator.sent("rep01")] == ["明天上午十点拜访协和医院"]


def test_the_emulator_checks_duplicates_as_wecom_does(live_app, rep, frozen_clock):
    from salesnav.bot.client import get_client

    client = get_client()
    first = client.send_text("rep01", "同一句话")
    again = client.send_text("rep01", "同一句话")
    other = client.send_text("rep01", "另一句话")
    assert again.msgid == first.msgid and other.msgid != first.msgid
    frozen_clock.advance(timedelta(hours=1))  # past the interval: a new message
    client.send_text("rep01", "同一句话")
    assert [m["payload"]["content"] for m in live_app.emulator.sent("rep01")] == ["同一句话", "另一句话", "同一句话"]
    body = live_app.emulator.sent("rep01")[0]["body"]
    assert body["enable_duplicate_check"] == 1 and body["duplicate_check_interval"] >= 600


def test_two_messages_that_say_the_same_thing_are_both_delivered(live_app, rep, frozen_clock):
    """The duplicate check compares the whole request: each outbox row's own interval keeps two answers apart."""
    with db.transaction() as s:
        first = outbox.queue_text(s, "rep01", "没看懂这条消息").id
        second = outbox.queue_text(s, "rep01", "没看懂这条消息").id
    live_app.drain()
    outbox.deliver(first), outbox.deliver(second)  # already sent: no-ops
    assert [m["payload"]["content"] for m in live_app.emulator.sent("rep01")] == ["没看懂这条消息"] * 2


def test_the_api_keeps_answering_when_redis_is_down(settings, database, rep):
    """Seen: every /api/v1 call, login included, answered 500 during a Redis outage (the rate limiter)."""
    down = dataclasses.replace(settings, redis_url=REDIS_DOWN)
    for live in serve(down):
        client = live.app.test_client()
        login = client.post("/api/v1/auth/login", json={"code": "dev-rep01"})
        assert login.status_code == 200, login.get_json()
        headers = {"Authorization": "Bearer " + login.get_json()["token"]}
        assert client.get("/api/v1/me", headers=headers).status_code == 200
        assert clock.now()  # the clock is untouched by any of it


def test_reprocess_on_the_command_line_says_what_it_did(live_app, rep, frozen_clock, monkeypatch):
    from click.testing import CliRunner

    from salesnav import cli
    from salesnav import settings as app_settings

    monkeypatch.setattr(app_settings, "_configured", app_settings._configured)  # the CLI configures the process
    jobs_queue.configure(REDIS_DOWN)
    hello = callbacks.text_xml(live_app.settings, "rep01", "你好")
    callbacks.post_callback(live_app.base_url, live_app.settings, hello)
    [row] = inbound_rows()
    runner._claim(inbound.job_key(row.id), "salesnav.bot.inbound:process_inbound", [row.id], "inbound")
    env = {"DATABASE_URL": live_app.settings.database_url, "REDIS_URL": live_app.settings.redis_url}

    held = CliRunner().invoke(cli.main, ["wecom", "reprocess", str(row.id)], env=env)
    assert held.exit_code == 0, held.output
    assert "正由一个运行中的 worker 处理" in held.output and "已重新排队" not in held.output

    frozen_clock.advance(runner.LEASE + timedelta(seconds=1))
    taken = CliRunner().invoke(cli.main, ["wecom", "reprocess", str(row.id)], env=env)
    assert taken.exit_code == 0, taken.output
    assert "上次处理它的进程已中断（租约已过期）" in taken.output


def test_the_admin_pages_reprocess_leaves_a_message_a_live_worker_holds_to_it(live_app, session, frozen_clock):
    from salesnav.handlers.admin import delivery
    from salesnav.handlers.errors import DomainError

    org = f.org(session)
    session.commit()
    jobs_queue.configure(REDIS_DOWN)
    hello = callbacks.text_xml(live_app.settings, "rep01", "你好")
    callbacks.post_callback(live_app.base_url, live_app.settings, hello)
    [row] = inbound_rows()
    runner._claim(inbound.job_key(row.id), "salesnav.bot.inbound:process_inbound", [row.id], "inbound")
    with pytest.raises(DomainError, match="正由运行中的 worker 处理"), db.transaction() as s:
        delivery.reprocess(s, s.merge(org.admin), row.id)
    frozen_clock.advance(runner.LEASE + timedelta(seconds=1))
    backend = _redis_back(live_app)
    with db.transaction() as s:
        delivery.reprocess(s, s.merge(org.admin), row.id)
    backend.drain()
    assert inbound_rows()[0].status is InboundStatus.PROCESSED and len(Chat(live_app).sent()) == 1
