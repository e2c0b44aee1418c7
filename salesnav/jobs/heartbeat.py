"""The clock's heartbeat: proves end to end (clock → queue → worker) that periodic jobs run."""

from __future__ import annotations

from datetime import datetime

from salesnav.redis_client import redis_client

_last_beat: str | None = None
_redis_url: str = ""
KEY = "salesnav:clock:last_beat"


def configure(redis_url: str) -> None:
    global _redis_url
    _redis_url = redis_url


def beat(fired_at: str) -> None:
    global _last_beat
    _last_beat = fired_at
    if _redis_url:
        redis_client(_redis_url).set(KEY, fired_at, ex=3600)


def last_beat() -> datetime | None:
    value: str | None = _last_beat
    if _redis_url:
        raw = redis_client(_redis_url).get(KEY)
        value = raw.decode() if isinstance(raw, bytes) else raw
    return datetime.fromisoformat(value) if value else None
