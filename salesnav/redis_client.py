"""One Redis client per URL and process, shared by every thread: the queue, the clock's leader lock,
the heartbeat, the WeCom token and the outbox's rate counters all use it, so a process holds one
connection pool rather than one per call. redis-py's pool notices a fork and starts afresh in the child.
"""

from __future__ import annotations

from functools import cache

from redis import Redis


@cache
def redis_client(url: str) -> Redis:
    """The client for `url` (REDIS_URL); callers check that it is set."""
    if not url:
        raise ValueError("REDIS_URL is not set")
    # Short timeouts: with Redis away, a request that queues a job or counts a rate must not hang on it.
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
