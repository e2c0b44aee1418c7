"""Leadership for the clock: of all running clock processes, exactly one fires the periodic jobs.

A Redis key held with a TTL and renewed on every tick; compare-and-renew by token so a
process that paused past the TTL can never extend a lock someone else now holds.
"""

from __future__ import annotations

import secrets
from typing import Protocol

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class Leadership(Protocol):
    def is_leader(self) -> bool: ...
    def release(self) -> None: ...


class RedisLeadership:
    def __init__(self, redis, name: str = "salesnav:clock:leader", ttl_ms: int = 30_000) -> None:  # type: ignore[no-untyped-def]  # redis.Redis is generic over its response type; any client will do
        self.redis = redis
        self.name = name
        self.ttl_ms = ttl_ms
        self.token = secrets.token_hex(16)
        self._renew = redis.register_script(_RENEW)

    def is_leader(self) -> bool:
        """Renew if we hold the lock, otherwise try to take it. Call on every tick."""
        if self._renew(keys=[self.name], args=[self.token, self.ttl_ms]):
            return True
        return bool(self.redis.set(self.name, self.token, nx=True, px=self.ttl_ms))

    def release(self) -> None:
        if self.redis.get(self.name) == self.token.encode():
            self.redis.delete(self.name)


class LocalLeadership:
    """The embedded default has one process and therefore one clock."""

    def is_leader(self) -> bool:
        return True

    def release(self) -> None:
        return None
