"""The outbox: every outbound WeCom message is a row first, sent by a job, never lost unseen.

- `queue_message` adds the row in the caller's transaction; the `deliver` job runs after commit.
  Types: WeCom's text, markdown, textcard, template_card, file, image, voice, and
  `update_template_card` (body {"response_code", "template_card" | "button"}), so a card updated in
  place gets the same retries.
- A failed send is retried with exponential backoff (attempt n waits base·2^(n-1)); the embedded
  default has no rq scheduler, so retries are picked up by `flush_due`, a periodic job of the
  clock. After the last attempt the row stays visible as failed, with its last error.
- 45009/45033 (WeCom's frequency limits) do not use up an attempt: the message waits and goes later.
- WeCom silently drops app messages past 30/min or 1,000/h to one member. We count per recipient
  (Redis sorted set when configured, else sent rows in the database) and merge the surplus of a
  burst into one digest message, sent once the window has room: status merged, digest_id set.
- WeCom refuses (45009) a company's API calls past 10,000 a minute. Every send first takes a slot in the
  company's window (Redis sorted set shared by all workers when configured, else this process's: the embedded
  default is one process), `company_per_minute` of them — 9,900, the rest left to tokens, uploads and logins.
  With the window full a job waits for its next slot (at most `company_wait_seconds`), as WeCom would make it;
  a burst (10,000 battle packs, a rule run after downtime) is spread over the minutes the cap forces, nothing
  dropped. A burst is sent by `deliver_many`: batches of BATCH rows claimed in one transaction and recorded in one.
- Delivery is at-least-once: a send is claimed with a lease (next_attempt_at moved ahead), so two
  workers never send the same row at once, and a worker that died mid-send is retried later.
- A message is due when it is queued, by the wall clock: `rules run --at` evaluates as of another moment
  (`due_by`), but what it queues goes out now; due days ahead, it would wait days for the workers.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.bot.client import (
    MESSAGE_TYPES,
    SendResult,
    WeComError,
    WeComRateLimited,
    get_client,
)
from salesnav.bot.send_errors import RATE_LIMIT_NOTE
from salesnav.jobs.queue import Calls, enqueue_after_commit, gather_after_commit
from salesnav.models import Attachment, OutboundMessage, OutboundStatus
from salesnav.models import session as db
from salesnav.models.messaging import RESEND_KEY
from salesnav.redis_client import redis_client
from salesnav.settings import Settings, current_settings

log = logging.getLogger(__name__)

CARD_UPDATE = "update_template_card"  # body: {"response_code": ..., "template_card": {...} | "button": {...}}
OUTBOX_TYPES = (*MESSAGE_TYPES, CARD_UPDATE)
MERGEABLE = frozenset({"text", "markdown", "textcard", "template_card"})  # media cannot be summarised
# Errors no retry can fix: the message itself or its recipient is wrong.
PERMANENT_ERRORS = frozenset({40007, 40008, 40058, 44004, 45002, 81013})
DIGEST_KEY_PREFIX = "digest:"
DIGEST_BUDGET_BYTES = 1800  # WeCom caps markdown at 2,048 bytes
FLUSH_BATCH = 500
BATCH = 100  # rows a `deliver_many` job claims, and records, in one transaction
SEND_THREADS = 4  # sends of a batch in flight at once
COMPANY_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class OutboxPolicy:
    max_attempts: int = 5
    retry_base_seconds: int = 30
    rate_limit_backoff_seconds: int = 60
    lease_seconds: int = 120
    per_minute: int = 30
    per_hour: int = 1000
    company_per_minute: int = 9_900  # WeCom: 10,000 API calls a minute per company; the rest for tokens, uploads
    company_wait_seconds: float = 60.0  # a job waits this long at most for a slot, then leaves the row due later

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxPolicy:
        return cls(max_attempts=settings.outbox_max_attempts, retry_base_seconds=settings.outbox_retry_base_seconds)

    def limits(self) -> tuple[tuple[timedelta, int], ...]:
        return ((timedelta(minutes=1), self.per_minute), (timedelta(hours=1), self.per_hour))


_policy: OutboxPolicy | None = None


def policy() -> OutboxPolicy:
    global _policy
    if _policy is None:
        _policy = OutboxPolicy.from_settings(current_settings())
    return _policy


# --- queueing ------------------------------------------------------------------------------------

_wall_clock: clock.Clock | None = None  # see due_by


@contextmanager
def due_by(wall_clock: clock.Clock) -> Iterator[None]:
    """Messages queued meanwhile (in any thread of this process) are due by `wall_clock`, while `clock.now()`
    stands elsewhere: a command evaluating the rules as of another moment (`rules run --at`)."""
    global _wall_clock
    previous, _wall_clock = _wall_clock, wall_clock
    try:
        yield
    finally:
        _wall_clock = previous


def queue_time() -> datetime:
    """When a message queued now is due (and counts as queued): the wall clock's now."""
    return (_wall_clock or clock).now()


def queue_message(
    session: Session, recipient_userid: str, msg_type: str, body: dict[str, Any], *, idempotency_key: str | None = None
) -> OutboundMessage:
    """Add a message to the outbox in the caller's transaction; it is sent after commit.

    The same idempotency_key twice returns the existing row and sends nothing more.
    """
    if msg_type not in OUTBOX_TYPES:
        raise ValueError(f"unknown WeCom message type {msg_type!r}")
    now = queue_time()
    values = {
        "recipient_userid": recipient_userid,
        "msg_type": msg_type,
        "body": body,
        "idempotency_key": idempotency_key,
        "status": OutboundStatus.QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    if idempotency_key is not None and session.get_bind().dialect.name == "postgresql":
        # One statement: a key seen before (a re-run, or a concurrent twin that won it) inserts nothing, and the
        # row that holds it is the answer. No savepoint round trips.
        statement = (
            postgresql.insert(OutboundMessage)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[OutboundMessage.idempotency_key])
            .returning(OutboundMessage)
        )
        inserted = session.scalars(statement).first()
        if inserted is None:
            if (existing := _by_key(session, idempotency_key)) is None:
                raise RuntimeError(f"outbox key {idempotency_key!r} neither inserted nor found")
            return existing
        message = inserted
    else:
        if idempotency_key and (existing := _by_key(session, idempotency_key)):
            return existing
        # pysqlite opens no transaction before a SAVEPOINT, so RELEASE would commit the caller's
        # work; SQLite serialises writers anyway, and the embedded default has one process.
        message = OutboundMessage(**values)
        session.add(message)
        session.flush()
    deliver_in_order_after_commit(session, message.id, recipient_userid)
    return message


def deliver_in_order_after_commit(session: Session, message_id: int, recipient_userid: str) -> None:
    """A new row is delivered after commit, with the others this unit of work queued (`_delivery_jobs`: a member's
    messages in the order queued)."""
    gather_after_commit(session, "outbox", (message_id, recipient_userid), _delivery_jobs)


def _delivery_jobs(queued: list[tuple[int, str]]) -> Calls:
    """The delivery jobs of the messages one unit of work queued. A member's only message of the batch goes in a
    `deliver_many` job with the other members' (BATCH a job, sent side by side: a journey batch's dozens of
    messages cost a few jobs, not one each); a member given several gets a `deliver` job for each, in order, as
    before — they arrive in the order queued and the member's rate is counted one by one."""
    by_member: dict[str, list[int]] = {}
    for message_id, member in dict.fromkeys(queued):
        by_member.setdefault(member, []).append(message_id)
    alone = sorted(ids[0] for ids in by_member.values() if len(ids) == 1)
    calls: Calls = []
    if len(alone) > 1:
        for start in range(0, len(alone), BATCH):
            chunk = alone[start : start + BATCH]
            calls.append((deliver_many, (chunk,), f"outbound:many:{chunk[0]}-{chunk[-1]}", "outbound"))
        alone = []
    singles = sorted(alone + [i for ids in by_member.values() if len(ids) > 1 for i in ids])
    calls += [(deliver, (message_id,), f"outbound:{message_id}", "outbound") for message_id in singles]
    return calls


def deliver_after_commit(session: Session, message_ids: Sequence[int]) -> None:
    """Deliver many new rows after commit, BATCH to a job (a burst: the battle packs)."""
    ids = sorted(message_ids)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        key = f"outbound:many:{chunk[0]}-{chunk[-1]}"
        enqueue_after_commit(session, deliver_many, chunk, key=key, queue="outbound")


TEXT_LIMIT_BYTES = 2048  # WeCom refuses a longer text message (45002), for good: it is never retried


def queue_text(session: Session, userid: str, content: str, *, idempotency_key: str | None = None) -> OutboundMessage:
    """Queue a text message; one longer than WeCom takes goes as several, in order (the first is returned)."""
    parts = text_parts(content)
    first = queue_message(session, userid, "text", {"content": parts[0]}, idempotency_key=idempotency_key)
    for n, part in enumerate(parts[1:], start=2):
        key = f"{idempotency_key}:part{n}" if idempotency_key else None
        queue_message(session, userid, "text", {"content": part}, idempotency_key=key)
    return first


def text_parts(content: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """`content` cut into texts of at most `limit` UTF-8 bytes: at line ends where it can, else within a line;
    each part after the first says it continues, and the parts but the last that more follows."""
    if len(content.encode()) <= limit:
        return [content]
    room = limit - len("（续）\n".encode()) - len("\n（未完，见下一条）".encode())
    pieces: list[str] = []
    for line in content.split("\n"):
        while len(line.encode()) > room:  # one line longer than a message: cut it at a character
            cut = len(line.encode()[:room].decode(errors="ignore"))
            pieces.append(line[:cut])
            line = line[cut:]
        pieces.append(line)
    parts: list[str] = []
    current: list[str] = []
    for piece in pieces:
        if current and len("\n".join([*current, piece]).encode()) > room:
            parts.append("\n".join(current))
            current = []
        current.append(piece)
    parts.append("\n".join(current))
    return [
        ("（续）\n" if i else "") + part + ("\n（未完，见下一条）" if i < len(parts) - 1 else "")
        for i, part in enumerate(parts)
    ]


def queue_markdown(session: Session, userid: str, content: str, **kw: Any) -> OutboundMessage:
    return queue_message(session, userid, "markdown", {"content": content}, **kw)


def queue_template_card(session: Session, userid: str, card: dict[str, Any], **kw: Any) -> OutboundMessage:
    return queue_message(session, userid, "template_card", card, **kw)


def _by_key(session: Session, key: str) -> OutboundMessage | None:
    return session.scalars(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).first()


# --- delivery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    message_id: int
    recipient: str
    msg_type: str
    body: dict[str, Any]


class _LostRace(Exception):
    """Another worker changed the row between our read and our write; leave it to them."""


def deliver(message_id: int) -> None:
    """The outbound job: send one queued message if it is due (a no-op otherwise)."""
    deliver_many([message_id])


def deliver_many(message_ids: Sequence[int]) -> int:
    """The outbound job for many rows (BATCH at most is best): each due one is sent, within WeCom's company and
    per-member rates; rows not due are left alone. Claimed in one transaction, results recorded in one; a row
    that fails does not hold back the others. Returns how many were sent."""
    pending = list(message_ids)
    sent = 0
    while pending:
        slots, room_in = company_slots(len(pending))
        if slots == 0:  # the window stayed full longer than a job waits: the rows go when it has room
            _leave_for_later(pending, room_in)
            return sent
        chunk, pending = pending[:slots], pending[slots:]
        with db.transaction() as session:
            rows = session.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(chunk))).all()  # one read
            deferred: list[tuple[int, int]] = []
            provisional = [c for mid in chunk if (c := _claim_or_none(session, mid, deferred)) is not None]
            won = _claim_all(session, deferred)
            lost = {mid for mid, _seen in deferred} - won
            claimed = [c for c in provisional if c.message_id not in lost]
            del rows
        # The session is closed here: a slow WeCom never holds a database connection. A batch is sent a few at a
        # time (SEND_THREADS): each send mostly waits for WeCom's answer.
        if len(claimed) > 1:
            contexts = [contextvars.copy_context() for _ in claimed]  # the caller's app context, if any, goes along
            with ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="outbox-send") as senders:
                outcomes = list(senders.map(lambda ctx, one: ctx.run(_outcome, one), contexts, claimed))
        else:
            outcomes = [_outcome(one) for one in claimed]
        done: list[dict[str, Any]] = []
        for one, outcome in zip(claimed, outcomes, strict=True):
            if isinstance(outcome, WeComRateLimited):
                _after_rate_limit(one.message_id, outcome)
            elif isinstance(outcome, WeComError):
                _after_failure(one.message_id, outcome)
            elif isinstance(outcome, SendResult):
                done.append(
                    {
                        "id": one.message_id,
                        "status": OutboundStatus.SENT,
                        "sent_at": clock.now(),
                        "wecom_msgid": outcome.msgid or None,
                        "response_code": outcome.response_code,
                        "next_attempt_at": None,
                        "last_error": None,
                    }
                )
        if done:
            with db.transaction() as session:
                session.execute(update(OutboundMessage), done)
            sent += len(done)
    return sent


def _outcome(claimed: _Claimed) -> SendResult | WeComError | None:
    """The send's result, or WeCom's refusal; None when something else broke (the row's lease brings it round)."""
    try:
        return _send(claimed)
    except WeComError as exc:
        return exc
    except Exception:  # one broken row must not hold back the others
        log.exception("delivering outbound message %s failed", claimed.message_id)
        return None


def _claim_or_none(session: Session, message_id: int, deferred: list[tuple[int, int]]) -> _Claimed | None:
    try:
        return _claim(session, message_id, deferred)
    except _LostRace:  # another worker has it
        return None


def _claim_all(session: Session, deferred: list[tuple[int, int]]) -> set[int]:
    """Claim the rows `_claim` left to the batch, one statement per attempt count: the ids that were still ours."""
    lease = clock.now() + timedelta(seconds=policy().lease_seconds)
    by_seen: dict[int, list[int]] = {}
    for message_id, seen in deferred:
        by_seen.setdefault(seen, []).append(message_id)
    won: set[int] = set()
    for seen, ids in by_seen.items():
        won.update(
            session.scalars(
                update(OutboundMessage)
                .where(
                    OutboundMessage.id.in_(ids),
                    OutboundMessage.status == OutboundStatus.QUEUED,
                    OutboundMessage.attempts == seen,
                )
                .values(attempts=seen + 1, next_attempt_at=lease)
                .returning(OutboundMessage.id)
                .execution_options(synchronize_session=False)
            )
        )
    return won


def _leave_for_later(message_ids: list[int], wait: float) -> None:
    """The company's window is full: due rows are left due when it has room (the periodic flush sends them)."""
    with db.transaction() as session:
        session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id.in_(message_ids),
                OutboundMessage.status == OutboundStatus.QUEUED,
                OutboundMessage.next_attempt_at <= clock.now(),
            )
            .values(next_attempt_at=clock.now() + timedelta(seconds=wait))
        )


def queue_file(session: Session, userid: str, attachment: Attachment, **kw: Any) -> OutboundMessage:
    """A file we keep (an Attachment), uploaded to WeCom when the message is sent: a failed upload is retried
    with the send and, at last, shown as failed, like any message."""
    upload = {"storage_path": attachment.storage_path, "filename": attachment.filename}
    return queue_message(session, userid, "file", {"upload": {**upload, "content_type": attachment.content_type}}, **kw)


def _send(claimed: _Claimed) -> SendResult:
    stored = claimed.body
    dedupe_id = claimed.message_id + int(stored.get(RESEND_KEY) or 0)
    claimed = _Claimed(
        claimed.message_id,
        claimed.recipient,
        claimed.msg_type,
        {k: v for k, v in claimed.body.items() if k != RESEND_KEY},
    )
    if claimed.msg_type == "file" and "upload" in claimed.body:
        # The upload's media id is kept with the row, so a retry sends the very same request (duplicate check).
        media_id = claimed.body.get("media_id") or _upload(claimed.body["upload"])
        if not claimed.body.get("media_id"):
            with db.transaction() as session:
                session.execute(
                    update(OutboundMessage)
                    .where(OutboundMessage.id == claimed.message_id)
                    .values(body={**stored, "media_id": media_id})
                )
        return get_client().send(claimed.recipient, "file", {"media_id": media_id}, dedupe_id=dedupe_id)
    if claimed.msg_type != CARD_UPDATE:
        return get_client().send(claimed.recipient, claimed.msg_type, claimed.body, dedupe_id=dedupe_id)
    body = claimed.body
    raw = get_client().update_template_card(
        [claimed.recipient],
        str(body.get("response_code", "")),
        card=body.get("template_card"),
        replace_name=None if body.get("template_card") else (body.get("button") or {}).get("replace_name", ""),
    )
    return SendResult("", None, raw)


def _upload(upload: dict[str, str]) -> str:
    """Upload a kept file to WeCom (temporary media, kept 3 days there); a missing file fails the send."""
    path = current_settings().attachments_dir / upload["storage_path"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeComError(None, f"待发送的文件已不在服务器上：{upload['filename']}") from exc
    return get_client().upload_media("file", upload["filename"], data, upload["content_type"])


def flush_due(fired_at: str | None = None) -> int:
    """The clock's periodic job: deliver every queued message whose time has come. Returns how many."""
    now = clock.now()
    with db.transaction() as session:
        due = list(
            session.scalars(
                select(OutboundMessage.id)
                .where(
                    OutboundMessage.status == OutboundStatus.QUEUED,
                    or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now),
                )
                .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
                .limit(FLUSH_BATCH)
            )
        )
    for start in range(0, len(due), BATCH):
        try:
            deliver_many(due[start : start + BATCH])
        except Exception:
            # One broken batch must not hold back the others; its rows' leases bring them round again.
            log.exception("delivering outbound messages %s… failed", due[start])
    return len(due)


def _claim(session: Session, message_id: int, deferred: list[tuple[int, int]] | None = None) -> _Claimed | None:
    """Claim a due row for sending (a lease), or hold it back. `deferred`: a batch's list, where the claim itself
    is left for `_claim_all` (one statement for the batch) — the caller drops the rows it did not win."""
    now = clock.now()
    message = session.get(OutboundMessage, message_id)
    if message is None or message.status != OutboundStatus.QUEUED:
        return None
    if message.next_attempt_at is not None and message.next_attempt_at > now:
        return None
    seen = message.attempts
    if seen >= policy().max_attempts:  # a worker died mid-send on the last attempt
        _guarded(
            session,
            message_id,
            seen,
            status=OutboundStatus.FAILED,
            next_attempt_at=None,
            last_error=message.last_error or "重试次数已用完",
        )
        return None
    # A card update changes a message the member already has; WeCom's per-member cap counts new ones.
    wait = 0 if message.msg_type == CARD_UPDATE else _throttle_wait(session, message)
    if wait > 0:
        _hold_back(session, message, now + timedelta(seconds=wait))
        return None
    if deferred is not None and not is_digest(message):
        deferred.append((message_id, seen))
    else:
        lease = now + timedelta(seconds=policy().lease_seconds)
        _guarded(session, message_id, seen, attempts=seen + 1, next_attempt_at=lease)
    body = message.body
    if is_digest(message):
        body = {"content": _render_digest(session, message_id)}
        session.execute(update(OutboundMessage).where(OutboundMessage.id == message_id).values(body=body))
    return _Claimed(message_id, message.recipient_userid, message.msg_type, body)


def _guarded(session: Session, message_id: int, seen_attempts: int, **values: Any) -> None:
    """Update the row only if nobody else claimed it since we read it."""
    changed = session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.id == message_id,
            OutboundMessage.status == OutboundStatus.QUEUED,
            OutboundMessage.attempts == seen_attempts,
        )
        .values(**values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult, which has rowcount
        raise _LostRace()


def _after_failure(message_id: int, exc: WeComError) -> None:
    now = clock.now()
    with db.transaction() as session:
        message = session.get(OutboundMessage, message_id)
        if message is None or message.status != OutboundStatus.QUEUED:
            return
        error = str(exc)[:2000]
        if message.attempts >= policy().max_attempts or exc.errcode in PERMANENT_ERRORS:
            message.status, message.next_attempt_at = OutboundStatus.FAILED, None
            log.warning(
                "outbound message %s failed for good after %d attempts: %s", message_id, message.attempts, error
            )
        else:
            delay = policy().retry_base_seconds * 2 ** (message.attempts - 1)
            message.next_attempt_at = now + timedelta(seconds=delay)
        message.last_error = error


def _after_rate_limit(message_id: int, exc: WeComRateLimited) -> None:
    with db.transaction() as session:
        message = session.get(OutboundMessage, message_id)
        if message is None or message.status != OutboundStatus.QUEUED:
            return
        message.attempts = max(message.attempts - 1, 0)  # WeCom was busy; the message was not at fault
        message.next_attempt_at = clock.now() + timedelta(seconds=policy().rate_limit_backoff_seconds)
        message.last_error = f"{exc}{RATE_LIMIT_NOTE}"


# --- the company's window --------------------------------------------------------------------------

_COMPANY_RESERVE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local wanted = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')  -- the clock was set back
local used = redis.call('ZCARD', KEYS[1])
local granted = math.max(0, math.min(wanted, limit - used))
for i = 1, granted do
  redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. i)
end
redis.call('PEXPIRE', KEYS[1], window)
local wait = 0
if granted < wanted then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] then wait = math.max(tonumber(oldest[2]) + window - now, 1) end
end
return {granted, wait}
"""


class _LocalWindow:
    """The company's window in this process (the embedded default; and while Redis is away)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: deque[datetime] = deque()

    def reserve(self, wanted: int, now: datetime) -> tuple[int, float]:
        limit = policy().company_per_minute
        with self._lock:
            if self._times and self._times[-1] > now:  # the clock was set back
                self._times.clear()
            while self._times and now - self._times[0] >= COMPANY_WINDOW:
                self._times.popleft()
            granted = max(0, min(wanted, limit - len(self._times)))
            self._times.extend([now] * granted)
            if granted == wanted or not self._times:
                return granted, 0.0
            return granted, max((self._times[0] + COMPANY_WINDOW - now).total_seconds(), 0.001)

    def used(self, now: datetime) -> int:
        with self._lock:
            return sum(1 for t in self._times if now - t < COMPANY_WINDOW)

    def forget(self) -> None:
        """Forget the sends counted (the tests' emptied database: a fresh WeCom minute)."""
        with self._lock:
            self._times.clear()


class _RedisWindow:
    KEY = "salesnav:wecom:company_calls"

    def __init__(self, redis_url: str) -> None:
        self._redis = redis_client(redis_url)
        self._script = self._redis.register_script(_COMPANY_RESERVE)

    def reserve(self, wanted: int, now: datetime) -> tuple[int, float]:
        args: list[int | str] = [
            int(now.timestamp() * 1000),
            int(COMPANY_WINDOW.total_seconds() * 1000),
            policy().company_per_minute,
            wanted,
            secrets.token_hex(6),
        ]
        try:
            granted, wait_ms = self._script(keys=[self.KEY], args=args)
        except Exception as exc:  # Redis away: this process counts meanwhile, as the rate limiter does
            log.warning("company send window in Redis unavailable (%s); counting in this process", exc)
            return _local_window.reserve(wanted, now)
        return int(granted), int(wait_ms) / 1000

    def used(self, now: datetime) -> int:
        since = int((now - COMPANY_WINDOW).timestamp() * 1000)
        return int(self._redis.zcount(self.KEY, f"({since}", "+inf"))


_local_window = _LocalWindow()


def _company_window() -> _LocalWindow | _RedisWindow:
    redis_url = current_settings().redis_url
    return _RedisWindow(redis_url) if redis_url else _local_window


def company_slots(wanted: int) -> tuple[int, float]:
    """Take up to `wanted` sends in the company's window; with none free, wait for the first (at most
    `company_wait_seconds`; then none, and the seconds until the window has room)."""
    window = _company_window()
    waited = 0.0
    while True:
        granted, wait = window.reserve(wanted, clock.now())
        if granted or wanted == 0:
            return granted, 0.0
        if waited + wait > policy().company_wait_seconds:
            return 0, wait
        time.sleep(wait)
        waited += wait


def company_window_used() -> int:
    """Sends in the company's window now (the admin overview)."""
    try:
        return _company_window().used(clock.now())
    except Exception:
        return -1


# --- per-recipient throttle and digests ----------------------------------------------------------

_RESERVE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]))
local wait = 0
for i = 3, #ARGV, 2 do
  local window = tonumber(ARGV[i])
  local limit = tonumber(ARGV[i + 1])
  local since = '(' .. (now - window)
  if redis.call('ZCOUNT', KEYS[1], since, '+inf') >= limit then
    local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
    wait = math.max(wait, tonumber(oldest[2]) + window - now)
  end
end
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 0
"""


def _throttle_wait(session: Session, message: OutboundMessage) -> float:
    """Seconds until this recipient may receive another message; 0 reserves a slot now."""
    limits = sorted(policy().limits(), key=lambda pair: -pair[0].total_seconds())  # longest first
    redis_url = current_settings().redis_url
    now = clock.now()
    if redis_url:
        args: list[Any] = [int(now.timestamp() * 1000), f"{message.id}:{secrets.token_hex(4)}"]
        for window, limit in limits:
            args += [int(window.total_seconds() * 1000), limit]
        script = redis_client(redis_url).register_script(_RESERVE)
        return int(script(keys=[f"salesnav:wecom:sent:{message.recipient_userid}"], args=args)) / 1000
    wait = 0.0
    for window, limit in limits:
        in_window = (
            OutboundMessage.recipient_userid == message.recipient_userid,
            OutboundMessage.status == OutboundStatus.SENT,
            OutboundMessage.sent_at > now - window,
        )
        count, oldest = session.execute(select(func.count(), func.min(OutboundMessage.sent_at)).where(*in_window)).one()
        if count >= limit and oldest is not None:  # `limit` sent rows: there is an oldest
            wait = max(wait, (oldest + window - now).total_seconds())
    return wait


def _hold_back(session: Session, message: OutboundMessage, room_at: datetime) -> None:
    """Over the limit: merge an alert into the recipient's open digest; media and digests just wait."""
    if message.msg_type not in MERGEABLE or is_digest(message):
        _guarded(session, message.id, message.attempts, next_attempt_at=room_at)
        return
    digest = session.scalars(
        select(OutboundMessage)
        .where(
            OutboundMessage.recipient_userid == message.recipient_userid,
            OutboundMessage.status == OutboundStatus.QUEUED,
            OutboundMessage.attempts == 0,
            OutboundMessage.idempotency_key.like(DIGEST_KEY_PREFIX + "%"),
        )
        .order_by(OutboundMessage.id)
        .with_for_update()  # a digest being claimed for sending takes no more items
    ).first()
    if digest is None:
        digest = OutboundMessage(
            recipient_userid=message.recipient_userid,
            msg_type="markdown",
            body={"content": ""},
            status=OutboundStatus.QUEUED,
            attempts=0,
            idempotency_key=f"{DIGEST_KEY_PREFIX}{message.recipient_userid}:{message.id}",
            next_attempt_at=room_at,
        )
        session.add(digest)
        session.flush()
    _guarded(
        session, message.id, message.attempts, status=OutboundStatus.MERGED, digest_id=digest.id, next_attempt_at=None
    )


def is_digest(message: OutboundMessage) -> bool:
    return (message.idempotency_key or "").startswith(DIGEST_KEY_PREFIX)


def _render_digest(session: Session, digest_id: int) -> str:
    merged = list(
        session.scalars(
            select(OutboundMessage).where(OutboundMessage.digest_id == digest_id).order_by(OutboundMessage.id)
        )
    )
    head = f"**消息汇总**\n刚才有 {len(merged)} 条提醒发给您，因企业微信限制单人接收频率，合并为这一条：\n"
    lines: list[str] = []
    used = len(head.encode())
    for i, item in enumerate(merged, 1):
        line = f"> {i}. {summary(item)}\n"
        if used + len(line.encode()) > DIGEST_BUDGET_BYTES:
            lines.append(f"……另有 {len(merged) - i + 1} 条，请到销售导航仪查看。\n")
            break
        lines.append(line)
        used += len(line.encode())
    return head + "".join(lines)


_MARKUP = re.compile(r"<[^>]+>|[*#`>]+")


def summary(message: OutboundMessage, limit: int = 60) -> str:
    """What the message says, in one plain line (digests, the delivery log): its text, or its card's title."""
    body = message.body or {}
    if message.msg_type == "textcard":
        text = f"{body.get('title', '')}：{body.get('description', '')}"
    elif message.msg_type == "template_card":
        text = _card_line(body)
    elif message.msg_type == CARD_UPDATE:
        card = body.get("template_card")
        text = _card_line(card) if card else f"按钮改为「{(body.get('button') or {}).get('replace_name', '')}」"
    elif message.msg_type in ("file", "image", "voice"):
        text = str((body.get("upload") or {}).get("filename") or "")
    else:
        text = str(body.get("content", ""))
    text = " ".join(_MARKUP.sub("", text).split()).strip("：")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _card_line(card: dict[str, Any]) -> str:
    main = card.get("main_title") or {}
    return f"{main.get('title', '')}：{card.get('sub_title_text') or main.get('desc', '')}"
