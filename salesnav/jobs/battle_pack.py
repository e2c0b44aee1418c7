"""The 10:00 battle pack job: a periodic job of the clock (every minute) that queues today's pack for
every active rep who has none yet — on working days, from the configured hour on.

Exactly once per rep per day: each pack is an outbox row whose idempotency key is
"battle_pack:<rep id>:<date>", inserted with ON CONFLICT DO NOTHING. Two clocks, two concurrent
runs, a restart at 10:01 or the CLI at any time cannot queue a second one; the database's unique key
decides. A clock that was down at 10:00 catches up at its first tick later that day (never the next
day: yesterday's pack is stale) — but not from `battle_pack.last_hour` (18:00) on: a first start at 22:00 sends
no 今日作战包 that night; the next working morning's comes at the hour. Each run only computes packs for reps
still without one (an anti-join on that key), so the ticks after the day is done cost one cheap query each.

The number of SQL statements does not depend on the number of reps: the data is loaded in batch
(salesnav/handlers/battle_pack/snapshot.py) and all packs are inserted by one statement.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.battle_pack import BattlePack
from salesnav.handlers.battle_pack.compose import due_on, packs_for
from salesnav.handlers.battle_pack.snapshot import PackSettings
from salesnav.handlers.workdays import describe_day
from salesnav.models import session as db
from salesnav.ports import notifications
from salesnav.settings import current_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendReport:
    day: date
    day_text: str  # 「2026-10-01 国庆节」
    sent: bool  # whether this run looked at reps at all
    reason: str  # why not, in Chinese; or what it did
    computed: int = 0
    queued: int = 0
    seconds: float = 0.0


def send_due(fired_at: str | None = None) -> int:
    """The clock's periodic job: queue today's packs that are due and not queued yet. Returns how many."""
    return run(clock.now()).queued


def run(now: datetime, day: date | None = None, *, ignore_hour: bool = False) -> SendReport:
    """Queue the packs of `day` (default: today in business time) for reps without one.

    `ignore_hour`: the CLI's explicit order to send before the configured hour.
    """
    tz = current_settings().business_tz
    day = day or now.astimezone(tz).date()
    started = time.perf_counter()
    with db.transaction() as session:
        settings = PackSettings.load(session)
        due = due_on(day, settings, tz)
        day_text = describe_day(day, chinese=settings.chinese_calendar)
        if not settings.enabled:
            return SendReport(day, day_text, False, "今日作战包已在规则设置中关闭")
        if not due.working_day:
            return SendReport(day, day_text, False, f"{day_text}，非工作日不发送作战包")
        if not ignore_hour and now < due.due_at:
            return SendReport(day, day_text, False, f"未到发送时间（{settings.hour}:00）")
        if not ignore_hour and now >= due.too_late_at:
            # A clock down all day, or first started in the evening: no 今日作战包 at night.
            return SendReport(
                day,
                day_text,
                False,
                f"已过 {due.too_late_at:%H:%M}，今日作战包不再补发，下个工作日 {settings.hour}:00 发送",
            )
        packs = packs_for(session, now, day, only_unsent=True, settings=settings)
        queued = queue_packs(session, packs)
    seconds = time.perf_counter() - started
    if packs:
        log.info("battle packs for %s: %d computed, %d queued in %.2fs", day, len(packs), len(queued), seconds)
    return SendReport(day, day_text, True, f"已排队 {len(queued)} 份作战包", len(packs), len(queued), seconds)


def queue_packs(session: Session, packs: list[BattlePack]) -> list[int]:
    """Record the packs for their reps (the chat adapter writes them with one statement; a pack whose key
    is already there is skipped). Returns the ids newly recorded; each is delivered after commit."""
    return notifications.notify_all(
        session, [notifications.BattlePackToRep(p) for p in packs], notifications.BattlePackToRep
    )
