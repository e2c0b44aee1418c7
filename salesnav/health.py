"""`GET /healthz`: the database, Redis, the queues and their workers, and the clock — and when something is
wrong, which of them, in words (`reasons`), so an operator can tell a stopped clock from a worker that lags
behind (the clock's own tick is fresh, its heartbeat job waits in the queue) or from Redis being away.

`status` is "ok", or "degraded" with its reasons (HTTP 503). Figures come from the processes' own records:
the clock's tick and the heartbeat job's run (salesnav/jobs/heartbeat.py), rq's queues and worker registry, and
the outbox's own rows (`outbox`: its queue depth and oldest wait).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import jsonify
from sqlalchemy import text

from salesnav import clock
from salesnav.handlers.admin.delivery import STUCK_AFTER, outbox_queue
from salesnav.jobs import heartbeat
from salesnav.jobs import queue as jobs_queue
from salesnav.models import session as db
from salesnav.redis_client import redis_client
from salesnav.settings import current_settings

CLOCK_STALE_SECONDS = 90  # the clock ticks every 5 s
BEAT_LATE_SECONDS = 90  # the heartbeat job is fired every 15 s
BACKLOG_SECONDS = 60  # a job waiting longer than this in a queue: the workers are behind


def healthz() -> Any:
    checks: dict[str, Any] = {}
    reasons: list[str] = []
    try:
        with db.get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "dialect": db.get_engine().dialect.name}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
        reasons.append("数据库无法连接")

    redis_up = True
    if current_settings().redis_url:
        redis_up = _check_redis(checks, reasons)
    if redis_up:
        _check_queue(checks, reasons)
    else:
        checks["queue"] = {"ok": False, "error": "redis_down"}

    if checks["database"]["ok"]:
        _check_outbox(checks, reasons)
    clock_ok = _check_clock(checks, reasons) if redis_up else False
    if not redis_up:
        checks["clock"] = {"ok": False, "error": "redis_down"}
    if clock_ok:
        _check_beat(checks, reasons)
    healthy = not reasons
    return jsonify(status="ok" if healthy else "degraded", reasons=reasons, **checks), 200 if healthy else 503


def _check_outbox(checks: dict[str, Any], reasons: list[str]) -> None:
    """The outbox's queue: messages due and not sent (depth) and how long the oldest has waited. WeCom's rates
    spread a burst (10,000 battle packs) over a minute or two; a message due longer than STUCK_AFTER is not."""
    with db.transaction() as session:
        queue = outbox_queue(session)
    ok = queue.oldest_wait_seconds <= STUCK_AFTER.total_seconds()
    checks["outbox"] = {"ok": ok, "depth": queue.depth, "oldest_wait_seconds": queue.oldest_wait_seconds}
    if not ok:
        waited = f"{queue.depth} 条待发送，最早的已等待 {queue.oldest_wait_seconds:.0f} 秒"
        reasons.append(f"企业微信消息积压：{waited}（发送 worker 未在处理）")


def _check_redis(checks: dict[str, Any], reasons: list[str]) -> bool:
    try:
        redis_client(current_settings().redis_url).ping()
        checks["redis"] = {"ok": True}
        return True
    except Exception as exc:
        checks["redis"] = {"ok": False, "error": type(exc).__name__}
        reasons.append("Redis 无法连接：后台任务暂存在数据库中，恢复后自动补做；接口限流暂按单进程计数")
        return False


def _check_queue(checks: dict[str, Any], reasons: list[str]) -> None:
    backend = jobs_queue.backend()
    inner = backend.inner if isinstance(backend, jobs_queue.CommandBackend) else backend
    try:
        status = {"ok": True, **inner.status()}
    except Exception as exc:
        checks["queue"] = {"ok": False, "error": type(exc).__name__}
        reasons.append("任务队列无法读取")
        return
    if isinstance(inner, jobs_queue.RqBackend):
        status.update(_rq_details(inner))
        idle = [name for name, n in status["workers"].items() if n == 0]
        if idle:
            status["ok"] = False
            reasons.append(f"没有 worker 在处理这些队列：{'、'.join(idle)}")
        late = {name: age for name, age in status["oldest_waiting_seconds"].items() if age > BACKLOG_SECONDS}
        if late:
            status["ok"] = False
            worst = max(late.values())
            reasons.append(f"任务积压：{'、'.join(late)} 队列最早的任务已等待 {worst:.0f} 秒（worker 处理不过来）")
    checks["queue"] = status


def _rq_details(backend: jobs_queue.RqBackend) -> dict[str, Any]:
    from rq import Queue, Worker  # rq only when REDIS_URL is set

    now = datetime.now(UTC)  # rq stamps jobs with the real time
    waiting: dict[str, float] = {}
    for name in jobs_queue.QUEUES:
        queue = Queue(name, connection=backend.redis)
        ids = queue.get_job_ids(0, 1)
        job = queue.fetch_job(ids[0]) if ids else None
        if job is not None and job.enqueued_at is not None:
            enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=UTC)
            waiting[name] = max((now - enqueued).total_seconds(), 0.0)
    workers = {name: 0 for name in jobs_queue.QUEUES}
    for worker in Worker.all(connection=backend.redis):
        for name in worker.queue_names():
            if name in workers:
                workers[name] += 1
    return {"oldest_waiting_seconds": waiting, "workers": workers}


def _check_clock(checks: dict[str, Any], reasons: list[str]) -> bool:
    try:
        tick = heartbeat.last_tick()
    except Exception as exc:
        checks["clock"] = {"ok": False, "error": type(exc).__name__}
        reasons.append("时钟状态无法读取")
        return False
    age = (clock.now() - tick).total_seconds() if tick else None
    ok = age is not None and age < CLOCK_STALE_SECONDS
    checks["clock"] = {"ok": ok, "last_tick": tick.isoformat() if tick else None}
    if not ok:
        reasons.append("时钟进程未在运行：定时任务（规则扫描、作战包、补做）暂停" if tick else "时钟进程尚未启动")
    return ok


def _check_beat(checks: dict[str, Any], reasons: list[str]) -> None:
    """The clock runs; is the heartbeat job it fires being run by a worker?"""
    try:
        beat = heartbeat.last_beat()
    except Exception as exc:
        checks["clock"]["last_beat_error"] = type(exc).__name__
        return
    checks["clock"]["last_beat"] = beat.isoformat() if beat else None
    age = (clock.now() - beat).total_seconds() if beat else None
    if age is None or age >= BEAT_LATE_SECONDS:
        checks["clock"]["beat_late"] = True
        if not any(r.startswith("任务积压") or r.startswith("没有 worker") for r in reasons):
            reasons.append("时钟正常，但 worker 尚未运行它排队的心跳任务：worker 积压或未运行")
