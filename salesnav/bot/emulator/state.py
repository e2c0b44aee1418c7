"""What the emulator remembers: tokens, media, sent messages, card codes, menus and injected faults.

One process-wide object, `STATE`, shared by every app mounted in the process and guarded by a
lock (the dev server and the tests serve requests from several threads). It lives in memory on
purpose: the emulator stands in for a remote service, so its state is not ours to persist, and
a restart is a clean WeCom. Consequence: run the emulator in one web process (the embedded
default, or gunicorn with one worker); with several workers each would hold its own tokens.

Time comes from `clock.now()`, so a test that moves its FrozenClock also ages tokens, media and
the per-member delivery windows.

Faults are set over HTTP (`POST /_wecom/_control`, see control.py) or directly here:
- `expire_tokens()`: every token issued so far answers 42001 from now on;
- `fail_next`: errcodes answered, in order, by the next authenticated API calls (all but gettoken);
- `fail_all_sends`: an errcode answered by every message/send and update_template_card until cleared;
- `lose_answers`: the next N message/send calls are carried out (delivered), but answer HTTP 504, as when
  WeCom's answer times out on the way back;
- `external_contacts`: extra customers' WeChat contacts for externalcontact/get.
- `directory`: department/list and user/list answer from it instead of our tables (a changed org).
`reset()` forgets everything.

Its limits are WeCom's: 10,000 authenticated API calls a minute per company (45009 past it, COMPANY_LIMIT) and
30 messages a minute, 1,000 an hour, per member (silently dropped past them, MEMBER_LIMITS). `counts` is what it
received: API calls, sends, calls refused for the company cap, deliveries and silent drops — the figures a
benchmark checks our outbox against.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from salesnav import clock

TOKEN_TTL = timedelta(seconds=7200)
MEDIA_TTL = timedelta(days=3)
RESPONSE_CODE_TTL = timedelta(hours=72)
# WeCom silently drops app messages to one member past these (the outbox throttles, then sends a digest).
MEMBER_LIMITS = ((timedelta(minutes=1), 30), (timedelta(hours=1), 1000))
# WeCom answers 45009 to a company's API calls past this many a minute (all of its apps' calls together).
COMPANY_LIMIT = (timedelta(minutes=1), 10_000)


@dataclass
class Media:
    media_id: str
    type: str
    filename: str
    content_type: str
    data: bytes
    created_at: datetime


@dataclass
class EmulatorState:
    lock: threading.RLock = field(default_factory=threading.RLock)
    tokens: dict[str, datetime] = field(default_factory=dict)  # token -> expires_at
    gettoken_calls: int = 0
    media: dict[str, Media] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    card_updates: list[dict[str, Any]] = field(default_factory=list)
    response_codes: dict[str, datetime] = field(default_factory=dict)  # unused code -> expires_at
    menus: dict[int, dict[str, Any]] = field(default_factory=dict)
    deliveries: dict[str, deque[datetime]] = field(default_factory=dict)  # userid -> delivery times
    fail_next: deque[int] = field(default_factory=deque)
    fail_all_sends: int | None = None
    lose_answers: int = 0  # the next N message/send calls are carried out, but their answer is lost (HTTP 504)
    external_contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A directory WeCom answers instead of ours ({"department": [...], "userlist": [...]}): a changed org.
    directory: dict[str, list[dict[str, Any]]] | None = None
    company_calls: deque[datetime] = field(default_factory=deque)  # authenticated calls in COMPANY_LIMIT's window
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("api_calls", "sends", "rate_limited", "delivered", "dropped"), 0)
    )
    # message/send's duplicate check: the request JSON's fingerprint -> the message it first delivered
    by_fingerprint: dict[str, dict[str, Any]] = field(default_factory=dict)

    def reset(self) -> None:
        with self.lock:
            fresh = EmulatorState()
            for name in self.__dataclass_fields__:
                if name != "lock":
                    setattr(self, name, getattr(fresh, name))

    # --- tokens -------------------------------------------------------------------------------
    def issue_token(self) -> tuple[str, int]:
        """Like WeCom: "within its validity a repeated call returns the same result", new once expired."""
        now = clock.now()
        with self.lock:
            self.gettoken_calls += 1
            for token, expires_at in self.tokens.items():
                if expires_at > now:
                    return token, int(TOKEN_TTL.total_seconds())
            token = "emu-" + secrets.token_urlsafe(24)
            self.tokens[token] = now + TOKEN_TTL
            return token, int(TOKEN_TTL.total_seconds())

    def token_error(self, token: str | None) -> int:
        """0 for a valid token, else WeCom's errcode."""
        if not token:
            return 41001
        with self.lock:
            expires_at = self.tokens.get(token)
        if expires_at is None:
            return 40014
        return 42001 if expires_at <= clock.now() else 0

    def expire_tokens(self) -> None:
        now = clock.now()
        with self.lock:
            self.tokens = {t: min(exp, now) for t, exp in self.tokens.items()}

    # --- the company's call cap -----------------------------------------------------------------
    def take_company_call(self) -> bool:
        """Count an authenticated API call; False (WeCom's 45009) past COMPANY_LIMIT calls in its window."""
        now = clock.now()
        window, limit = COMPANY_LIMIT
        with self.lock:
            self.counts["api_calls"] += 1
            calls = self.company_calls
            if calls and calls[-1] > now:  # a test set the clock back
                calls.clear()
            while calls and now - calls[0] >= window:
                calls.popleft()
            if len(calls) >= limit:
                self.counts["rate_limited"] += 1
                return False
            calls.append(now)
            return True

    # --- faults -------------------------------------------------------------------------------
    def injected_failure(self, *, is_send: bool) -> int:
        with self.lock:
            if self.fail_next:
                return self.fail_next.popleft()
            if is_send and self.fail_all_sends:
                return self.fail_all_sends
        return 0

    def take_lost_answer(self) -> bool:
        with self.lock:
            if self.lose_answers > 0:
                self.lose_answers -= 1
                return True
        return False

    # --- deliveries ---------------------------------------------------------------------------
    def deliver_to(self, userid: str) -> bool:
        """Count a delivery to one member; False when WeCom would silently drop it."""
        now = clock.now()
        with self.lock:
            times = self.deliveries.setdefault(userid, deque())
            longest = max(window for window, _ in MEMBER_LIMITS)
            while times and now - times[0] >= longest:
                times.popleft()
            for window, limit in MEMBER_LIMITS:
                if sum(1 for t in times if now - t < window) >= limit:
                    self.counts["dropped"] += 1
                    return False
            times.append(now)
            self.counts["delivered"] += 1
            return True

    def new_response_code(self) -> str:
        code = "rc-" + secrets.token_urlsafe(16)
        with self.lock:
            self.response_codes[code] = clock.now() + RESPONSE_CODE_TTL
        return code

    def use_response_code(self, code: str) -> bool:
        """Response codes are single-use and expire after 72 hours, as in WeCom."""
        with self.lock:
            expires_at = self.response_codes.pop(code, None)
        return expires_at is not None and expires_at > clock.now()

    def add_media(self, media_type: str, filename: str, content_type: str, data: bytes) -> Media:
        item = Media("emu-media-" + secrets.token_urlsafe(12), media_type, filename, content_type, data, clock.now())
        with self.lock:
            self.media[item.media_id] = item
        return item

    def get_media(self, media_id: str) -> Media | None:
        with self.lock:
            item = self.media.get(media_id)
        if item is None or clock.now() - item.created_at >= MEDIA_TTL:
            return None
        return item

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "tokens_issued": len(self.tokens),
                "gettoken_calls": self.gettoken_calls,
                "messages": len(self.messages),
                "card_updates": len(self.card_updates),
                "media": len(self.media),
                "fail_next": list(self.fail_next),
                "fail_all_sends": self.fail_all_sends,
                "lose_answers": self.lose_answers,
                "menus": {str(k): v for k, v in self.menus.items()},
                "external_contacts": sorted(self.external_contacts),
                "directory": self.directory is not None,
                "counts": dict(self.counts),
                "company_calls_last_minute": len(self.company_calls),
            }


STATE = EmulatorState()
