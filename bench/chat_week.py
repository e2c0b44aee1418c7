"""Benchmark: a scripted week of chat capture by ten demo reps, and what it does to the article's headline
metric, 有效触点/销售/周 (effective touchpoints per rep per week) as `salesnav.metrics` computes it.

    .venv/bin/python bench/chat_week.py [--reps 10] [--database-url URL]

The demo company is seeded (embedded default: SQLite in a temporary directory) at a Monday 09:00 in Shanghai
and served on loopback with its WeCom emulator. BEFORE is the ten reps' figure over the demo's last 7 days
(records as the demo's history has them). Then the next working week is scripted in the chat only, through
signed, encrypted callbacks: each working day each rep logs as many touchpoints as their own daily average
over the demo's last four weeks, each as a rep would in the quick buttons — 记触点, tap a customer (the rep's
recent ones in turn), keep the contacts the card proposes (or tap the first one on when it proposes none),
tap an emotion — and one text naming who was there and the next step with its date
(「和李主任看了样机，下一步：后天前送资料」). AFTER is the same metric over that week. The taps after the
menu and the messages are counted per capture; nothing but the chat records the week.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from salesnav import clock
from salesnav.jobs import queue as jobs_queue
from salesnav.metrics.activity import effective_touchpoints_per_rep_week, visits_per_rep_month
from salesnav.metrics.scope import Scope, ScopeKind, Window
from salesnav.models import Role, Touchpoint, User, migrate
from salesnav.models import session as db
from salesnav.settings import Settings

SHANGHAI_OFFSET = timedelta(hours=8)
MONDAY = date(2026, 3, 2)
ACTIONS = ("送资料", "约科室主任面谈", "发报价单", "安排样机演示", "确认采购流程")
NOTES = ("看了样机", "聊了预算", "讨论了方案", "确认了需求", "介绍了新品")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - SHANGHAI_OFFSET


def figure(reps: list[int], window: Window) -> tuple[float, float]:
    """(有效触点/销售/周, 人均月拜访量) of these reps over the window, as the dashboards compute them."""
    scope = Scope(ScopeKind.TEAM, frozenset(reps))
    with db.transaction() as session:
        effective = effective_touchpoints_per_rep_week(session, window, scope)
        visits = visits_per_rep_month(session, window, scope)
        return effective.value or 0.0, visits.value or 0.0


def daily_rate(rep_id: int, start: datetime, end: datetime) -> float:
    with db.transaction() as session:
        count = session.scalar(
            select(func.count(Touchpoint.id)).where(
                Touchpoint.rep_id == rep_id, Touchpoint.occurred_at >= start, Touchpoint.occurred_at < end
            )
        )
    return (count or 0) / 20  # four weeks of five working days


def capture(chat: object, rng: random.Random, nth: int) -> tuple[int, bool]:
    """One touchpoint in the quick buttons and one text; (taps after the menu, whether it was saved)."""
    from tests.bot.chat import button

    chat.click("TOUCHPOINT_NEW")  # type: ignore[attr-defined]
    card = chat.last_card()  # type: ignore[attr-defined]
    customers = [b["text"] for b in card.get("button_list", [])]
    if not customers:
        return 0, False
    chat.tap(card, button(card, customers[nth % len(customers)]))  # type: ignore[attr-defined]
    taps = 1
    card = chat.last_card()  # type: ignore[attr-defined]
    texts = [b["text"] for b in card["button_list"]]
    present = [t[1:] for t in texts if t.startswith("✓")]
    if not present:
        addable = [t for t in texts if t.startswith("＋")]
        if addable:
            chat.tap(card, button(card, addable[0]))  # type: ignore[attr-defined]
            taps += 1
            card = chat.last_card()  # type: ignore[attr-defined]
            present = [addable[0][1:]]
    emotion = rng.choices(("积极", "中性", "抵触"), weights=(5, 4, 1))[0]
    chat.tap(card, button(card, emotion))  # type: ignore[attr-defined]
    taps += 1
    who = present[0] if present else "主任"
    chat.say(f"和{who}{rng.choice(NOTES)}，下一步：后天前{rng.choice(ACTIONS)}")  # type: ignore[attr-defined]
    return taps, chat.last_text().startswith("✅ 已补充到触点")  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    from salesnav.demo import seed as demo
    from tests.bot.chat import Chat
    from tests.bot.conftest import serve  # the same loopback server the end-to-end tests use

    tmp = Path(tempfile.mkdtemp(prefix="salesnav-bench-week-"))
    env = {"DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}", "SALESNAV_DATA_DIR": str(tmp)}
    settings = Settings.from_env(env)
    previous = clock.use(clock.FrozenClock(local(MONDAY, 9)))
    migrate.upgrade(settings.database_url)
    db.configure(settings.database_url)
    jobs_queue.configure("")
    started = time.perf_counter()
    demo.seed(attachments_root=tmp / "attachments")
    print(f"== demo company seeded in {time.perf_counter() - started:.1f} s (clock: {MONDAY} 09:00 上海)")

    with db.transaction() as session:
        reps = list(
            session.execute(
                select(User.id, User.wecom_userid)
                .where(User.role == Role.REP, User.active.is_(True))
                .order_by(User.id)
                .limit(args.reps)
            )
        )
    rep_ids = [r.id for r in reps]
    now = clock.now()
    before_window = Window(now - timedelta(days=7), now)
    before, before_visits = figure(rep_ids, before_window)
    rates = {r.id: daily_rate(r.id, now - timedelta(days=28), now) for r in reps}

    server = serve(settings)
    live = next(server)
    rng = random.Random(16)
    taps: list[int] = []
    saved = 0
    try:
        for offset in range(5):
            day = MONDAY + timedelta(days=offset)
            for r in reps:
                chat = Chat(live, r.wecom_userid)
                per_day = max(1, round(rates[r.id] + rng.uniform(-0.5, 0.5)))
                for n in range(per_day):
                    clock.use(clock.FrozenClock(local(day, 10 + (8 * n) // per_day, rng.randint(0, 50))))
                    spent, ok = capture(chat, rng, offset * 7 + n)
                    taps.append(spent)
                    saved += ok
        week = Window(local(MONDAY, 9), local(MONDAY + timedelta(days=7), 9))
        after, after_visits = figure(rep_ids, week)
    finally:
        server.close()
        clock.use(previous)
    print(f"== {len(reps)} reps, a working week of chat capture: {len(taps)} touchpoints, {saved} completed by text")
    print(f"   taps after the menu per touchpoint: median {statistics.median(taps):.0f}, max {max(taps)}")
    print(f"   有效触点/销售/周  before (demo's last 7 days): {before:.1f}   after (the scripted week): {after:.1f}")
    print(f"   人均月拜访量      before: {before_visits:.1f}   after: {after_visits:.1f}  (same activity, in chat)")
    print("   article: baseline 4.2, target ≥ 6.5")


if __name__ == "__main__":
    main()
