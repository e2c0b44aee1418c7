"""GET /healthz reports the database, the queue and the clock."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from salesnav import clock
from salesnav.app import create_app
from salesnav.jobs import heartbeat
from salesnav.jobs import queue as jobs_queue
from salesnav.models import OutboundMessage, OutboundStatus
from salesnav.models import session as db

pytestmark = pytest.mark.smoke


@pytest.fixture
def registered_workers(settings):
    """With Redis: an rq worker registered for every queue, as the Procfile's two would be."""
    if not settings.redis_url:
        yield
        return
    from redis import Redis
    from rq import Queue, Worker

    redis = Redis.from_url(settings.redis_url)
    worker = Worker([Queue(n, connection=redis) for n in jobs_queue.QUEUES], connection=redis)
    worker.register_birth()
    yield
    worker.register_death()


def test_healthz_is_ok_once_the_clock_has_ticked_and_its_heartbeat_ran(
    settings, database, frozen_clock, registered_workers
):
    client = create_app(settings).test_client()
    heartbeat.ticked(clock.now())
    heartbeat.beat(clock.now().isoformat())
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["reasons"] == []
    assert body["database"]["ok"] and body["queue"]["ok"] and body["clock"]["ok"]


def test_healthz_is_degraded_when_the_clock_stopped(settings, database, frozen_clock, registered_workers):
    client = create_app(settings).test_client()
    heartbeat.ticked(clock.now())
    heartbeat.beat(clock.now().isoformat())
    frozen_clock.advance(timedelta(minutes=5))
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 503 and body["status"] == "degraded" and body["clock"]["ok"] is False
    assert body["reasons"] == ["时钟进程未在运行：定时任务（规则扫描、作战包、补做）暂停"]


def test_a_clock_that_ticks_while_its_heartbeat_waits_is_a_backlog_not_a_stale_clock(
    settings, database, frozen_clock, registered_workers
):
    """Seen: /healthz called the clock stale when the worker was only backlogged."""
    client = create_app(settings).test_client()
    heartbeat.beat(clock.now().isoformat())
    frozen_clock.advance(timedelta(minutes=5))
    heartbeat.ticked(clock.now())  # the clock goes on firing; the worker has not run its heartbeat since
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded" and body["clock"]["ok"] is True
    assert body["reasons"] == ["时钟正常，但 worker 尚未运行它排队的心跳任务：worker 积压或未运行"]


def test_healthz_reports_the_outboxs_queue_depth_and_oldest_wait(settings, database, frozen_clock, registered_workers):
    client = create_app(settings).test_client()
    heartbeat.ticked(clock.now())
    heartbeat.beat(clock.now().isoformat())
    now = clock.now()
    with db.transaction() as session:  # rows only: no job sends them
        for due, status in ((90, OutboundStatus.QUEUED), (20, OutboundStatus.QUEUED), (300, OutboundStatus.SENT)):
            session.add(_outbound(now - timedelta(seconds=due), status))
        session.add(_outbound(now + timedelta(seconds=30), OutboundStatus.QUEUED))  # a retry, not due yet
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["outbox"] == {"ok": True, "depth": 2, "oldest_wait_seconds": 90.0}

    frozen_clock.advance(timedelta(minutes=10))  # nobody sent them: that is no longer WeCom's rate
    heartbeat.ticked(clock.now())
    heartbeat.beat(clock.now().isoformat())
    body = client.get("/healthz").get_json()
    assert body["status"] == "degraded" and body["outbox"]["depth"] == 3
    assert body["reasons"] == ["企业微信消息积压：3 条待发送，最早的已等待 690 秒（发送 worker 未在处理）"]


def _outbound(due: datetime, status: OutboundStatus) -> OutboundMessage:
    return OutboundMessage(
        recipient_userid="rep01",
        msg_type="text",
        body={"content": "提醒"},
        status=status,
        attempts=0,
        next_attempt_at=due,
        created_at=due,
    )


def test_unknown_page_answers_in_chinese_json(settings, database):
    response = create_app(settings).test_client().get("/no-such-page")
    assert response.status_code == 404 and response.get_json()["message"] == "页面或资源不存在"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_salesnav_serve_starts_the_embedded_product(tmp_path: Path):
    """The embedded default end to end: migrations, web, in-process worker and clock (demo skipped for speed)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(PORT=str(port), SALESNAV_DATA_DIR=str(tmp_path))
    cli = Path(sys.executable).with_name("salesnav")
    proc = subprocess.Popen(
        [str(cli), "serve", "--no-demo"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        body = None
        for _ in range(120):
            try:
                body = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
                if body["status"] == "ok":
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.25)  # waiting for another process to boot, not for our own clock
        assert body and body["status"] == "ok", body
        assert body["database"]["dialect"] == "sqlite" and body["queue"]["backend"] == "in-process"
        assert "销售导航仪" in requests.get(f"http://127.0.0.1:{port}/", timeout=5).text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_healthz_names_redis_when_it_is_down(database, frozen_clock):
    """Seen: a Redis outage; /healthz must say so, and the API keeps answering meanwhile (test_rate_limit)."""
    from salesnav.settings import Settings

    down = Settings.from_env({"DATABASE_URL": database, "REDIS_URL": "redis://127.0.0.1:1/0"})
    body = create_app(down).test_client().get("/healthz").get_json()
    assert body["status"] == "degraded" and body["redis"]["ok"] is False
    assert body["reasons"][0].startswith("Redis 无法连接")
