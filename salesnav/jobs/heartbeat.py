"""Two heartbeats, so `/healthz` can tell a stopped clock from a worker that lags behind:

- the clock's tick: written by the clock process itself whenever it fires (it leads): the clock is alive;
- the beat: a periodic job the clock queues and a worker runs: clock → queue → worker works end to end. Its
  lag behind the moment it was fired is how far behind the workers are.

Kept in Redis with `REDIS_URL` (web, workers and clock are separate processes), else in this process.
"""

from __future__ import annotations

from datetime import datetime

from redis import Redis

from salesnav import clock
from salesnav.redis_client import redis_client

_last: dict[str, str] = {}
_redis_url: str = ""
KEY = "salesnav:clock:last_beat"  # "fired_at|ran_at" of the last heartbeat job a worker ran
TICK_KEY = "salesnav:clock:last_tick"


def configure(redis_url: str) -> None:
    global _redis_url
    _redis_url = redis_url
    _last.clear()


def _redis() -> Redis:
    return redis_client(_redis_url)


def _write(key: str, value: str) -> None:
    _last[key] = value
    if _redis_url:
        _redis().set(key, value, ex=3600)


def _read(key: str) -> str | None:
    if _redis_url:
        raw = _redis().get(key)
        return raw.decode() if isinstance(raw, bytes) else raw
    return _last.get(key)


def beat(fired_at: str) -> None:
    """The heartbeat job (run by a worker)."""
    _write(KEY, f"{fired_at}|{clock.now().isoformat()}")


def ticked(at: datetime) -> None:
    """The clock fired (called by the clock itself, not by a worker)."""
    _write(TICK_KEY, at.isoformat())


def last_beat() -> datetime | None:
    """When a worker last ran the heartbeat job."""
    value = _read(KEY)
    return datetime.fromisoformat(value.rsplit("|", 1)[-1]) if value else None


def last_tick() -> datetime | None:
    value = _read(TICK_KEY)
    return datetime.fromisoformat(value) if value else None
