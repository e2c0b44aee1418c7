"""`salesnav worker`: an rq worker that runs its jobs in its own process and outlives Redis outages.

- No fork per job (rq's SimpleWorker): a fork costs ~0.7 s, which at 4 chat messages a second put replies
  minutes behind. The process's database pool, WeCom token and imported speech engine are reused.
- A Redis outage does not end it: rq retries its own dequeue, and whatever else fails on the way (its
  registration, its heartbeat, its teardown) ends only the current rq worker; a new one starts once Redis
  answers again. Only SIGTERM / SIGINT (or `--burst`, once the queues are empty) stop the process.
- A job killed with the process is retried by the recovery sweep once its lease has expired
  (salesnav/jobs/runner.py, salesnav/jobs/recovery.py).
"""

from __future__ import annotations

import logging
import time
from types import FrameType
from typing import Any

from redis import Redis
from rq import Queue, SimpleWorker

log = logging.getLogger(__name__)

MAX_RECONNECT_WAIT_SECONDS = 5.0


class ReusingWorker(SimpleWorker):
    """SimpleWorker that remembers whether it was asked to stop (rather than lost its Redis)."""

    stop_signalled = False
    # rq waits up to a minute between reconnection attempts; replies would then lag a minute behind an outage.
    max_connection_wait_time = 2.0

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signalled = True
        super().request_stop(signum, frame)

    def request_force_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signalled = True
        super().request_force_stop(signum, frame)


def _connect(redis_url: str) -> Any:
    # Its own connection, not the shared client (salesnav/redis_client.py): rq blocks on the queues for minutes,
    # longer than the shared client's read timeout.

    return Redis.from_url(redis_url, socket_connect_timeout=2, socket_keepalive=True, health_check_interval=30)


def _wait_for_redis(redis: Any) -> None:
    wait = 0.5
    while True:
        try:
            redis.ping()
            return
        except Exception as exc:
            log.warning("Redis unreachable (%s); trying again in %.1f s", type(exc).__name__, wait)
            time.sleep(wait)
            wait = min(wait * 2, MAX_RECONNECT_WAIT_SECONDS)


def run(redis_url: str, queue_names: list[str], *, burst: bool = False) -> None:
    redis = _connect(redis_url)
    while True:
        _wait_for_redis(redis)
        worker = ReusingWorker([Queue(n, connection=redis) for n in queue_names], connection=redis)
        try:
            worker.work(burst=burst, with_scheduler=False, logging_level="INFO")
        except Exception as exc:  # its teardown talks to Redis too
            log.warning("rq worker %s ended on %s", worker.name, type(exc).__name__)
        if burst or worker.stop_signalled:
            return
        log.warning("rq worker %s stopped without being asked (Redis outage?); starting a new one", worker.name)
        time.sleep(0.5)
