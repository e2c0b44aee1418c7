"""Benchmark: the 10:00 battle pack for 10,000 reps on PostgreSQL, and its SQL statement count.

    .venv/bin/python bench/battle_pack.py [--database-url postgresql://postgres@127.0.0.1:5432/salesnav_bench_bp]
                                          [--redis-url redis://127.0.0.1:6379/6] [--reps 10000]

The database (salesnav_bench_bp, created if missing) is dropped and rebuilt: never point it at a real one.
Synthetic company, bulk-loaded with COPY: per rep 3 customers (a contact each), 3 touchpoints (the
latest with a next action due today), 4 open opportunities at various stages, 2 open tasks; plus 5,000
won deals with full stage histories (the "similar won deals") and 60 materials.

Run 1: 1,000 reps active (the rest inactive), packs for Monday. Run 2: all reps active, packs for
Tuesday. Run 3: the idle minute tick after Tuesday's packs went out. Each run is the clock's job
(`salesnav.jobs.battle_pack.run`): compute every pack and queue it (one outbox insert, one rq job per
message on the Redis database given — nothing delivers them; the rq queues are emptied afterwards).
SQL statements are counted with a SQLAlchemy before_cursor_execute listener.

Run 4 (unless `--no-delivery`): Tuesday's packs delivered. The WeCom emulator runs in a process of its own
(waitress, on loopback) with WeCom's limits — 45009 past 10,000 API calls a minute for the company, silent drops
past 30 messages a minute per member — and the Procfile's outbound worker (`salesnav worker --queues outbound`,
`--senders` of them) works the rq jobs run 2 queued (`deliver_many`, 100 packs each), within the outbox's company
window in Redis. The clock runs from the workers' start until every pack row is sent; the check is the
emulator's own count: messages delivered, calls refused (45009), messages dropped. Target: ≤ 70 s, none lost,
none dropped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import event, text

from salesnav import clock
from salesnav.adapters import register_adapters
from salesnav.bot import client as wecom_client
from salesnav.handlers.stages import DEFAULT_STAGES
from salesnav.jobs import battle_pack
from salesnav.jobs import queue as jobs_queue
from salesnav.models import migrate
from salesnav.models import session as db
from salesnav.settings import Settings

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 3, 2)
PRODUCTS = ("CT球管", "DR设备", "超声", "监护仪", "维保服务", "输注泵", "内窥镜")
GRADES = ("三甲", "三乙", "二甲", "二乙")
WON_DEALS, MATERIALS, MANAGERS = 5_000, 60, 50


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(UTC)


def create_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")


def seed(url: str, reps: int, now: datetime) -> dict[str, int]:
    rnd = random.Random(20260302)
    counts: dict[str, int] = {}
    ts = now.isoformat()
    with psycopg.connect(url) as conn:

        def copy(table: str, columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
            with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
            counts[table] = len(rows)

        stage_ids = {code: position for position, (code, *_rest) in enumerate(DEFAULT_STAGES, start=1)}
        copy(
            "stages",
            ("id", "code", "name", "position", "win_probability", "outcome", "created_at", "updated_at"),
            [(i, code, name, i, p, o.value, ts, ts) for i, (code, name, p, o, _) in enumerate(DEFAULT_STAGES, 1)],
        )
        open_codes = [c for c, *_ in DEFAULT_STAGES[:6]]
        users = [(i, f"mgr{i:05d}", f"主管{i}", "manager", None, True, ts, ts) for i in range(1, MANAGERS + 1)]
        rep_ids = list(range(MANAGERS + 1, MANAGERS + reps + 1))
        users += [(uid, f"rep{uid:05d}", f"销售{uid}", "rep", 1 + uid % MANAGERS, True, ts, ts) for uid in rep_ids]
        copy("users", ("id", "wecom_userid", "name", "role", "manager_id", "active", "created_at", "updated_at"), users)

        customers, contacts, touchpoints, tp_contacts, opps, transitions, tasks = [], [], [], [], [], [], []
        cid = tpid = oid = trid = 0
        for rep in rep_ids:
            rep_customers = []
            for k in range(3):
                cid += 1
                customers.append(
                    (
                        cid,
                        f"医院{cid}",
                        "hospital",
                        rnd.choice(GRADES),
                        "上海",
                        "[]",
                        rep,
                        rnd.choice(("green", "green", "green", "yellow", "red")),
                        ts,
                        ts,
                    )
                )
                contacts.append((cid, cid, f"联系人{cid}", "设备科", ts, ts))
                tpid += 1
                due = now + timedelta(hours=rnd.randint(-30, 60)) if k == 0 else None
                touchpoints.append(
                    (
                        tpid,
                        cid,
                        rep,
                        "visit",
                        "neutral",
                        "拜访",
                        "发送报价" if due else None,
                        due,
                        now - timedelta(hours=rnd.randint(1, 72)),
                        "api",
                        "[]",
                        "[]",
                        ts,
                        ts,
                    )
                )
                tp_contacts.append((tpid, cid))
                rep_customers.append((cid, tpid))
            for _ in range(4):
                cust, tp = rnd.choice(rep_customers)
                oid += 1
                stage = rnd.choice(open_codes)
                entered = now - timedelta(days=rnd.randint(1, 40))
                opps.append(
                    (
                        oid,
                        cust,
                        rep,
                        f"商机{oid}",
                        rnd.choice(PRODUCTS),
                        rnd.randint(5, 200) * 1_000_000,
                        stage_ids[stage],
                        "open",
                        tp,
                        now - timedelta(hours=rnd.randint(1, 120)),
                        entered,
                        False,
                        ts,
                        ts,
                    )
                )
                trid += 1
                transitions.append((trid, oid, None, 1, rep, tp, entered - timedelta(days=rnd.randint(1, 30)), True))
                if stage != "initial_contact":
                    trid += 1
                    transitions.append((trid, oid, 1, stage_ids[stage], rep, tp, entered, True))
            for j in range(2):
                tasks.append(
                    (
                        rep,
                        f"待办{rep}-{j}",
                        now + timedelta(hours=rnd.randint(-24, 96)),
                        "open",
                        "manual",
                        "opportunity",
                        oid - j,
                        0,
                        ts,
                        ts,
                    )
                )
        path = [
            "initial_contact",
            "needs_confirmed",
            "solution_demo",
            "sample_test",
            "negotiation",
            "contract_approval",
            "won",
        ]
        for _ in range(WON_DEALS):
            rep = rnd.choice(rep_ids)
            cust, tp = 1 + (rep - MANAGERS - 1) * 3, 1 + (rep - MANAGERS - 1) * 3
            oid += 1
            at = now - timedelta(days=rnd.randint(60, 300))
            steps = [c for c in path if c != "sample_test" or rnd.random() < 0.5]
            previous = None
            for code in steps:
                trid += 1
                transitions.append((trid, oid, previous, stage_ids[code], rep, tp, at, True))
                previous = stage_ids[code]
                last_at = at
                at += timedelta(days=rnd.randint(2, 15))
            opps.append(
                (
                    oid,
                    cust,
                    rep,
                    f"赢单{oid}",
                    rnd.choice(PRODUCTS),
                    rnd.randint(5, 200) * 1_000_000,
                    stage_ids["won"],
                    "won",
                    tp,
                    last_at,
                    last_at,
                    False,
                    ts,
                    ts,
                )
            )
        copy(
            "customers",
            ("id", "name", "kind", "grade", "region", "tags", "owner_id", "health", "created_at", "updated_at"),
            customers,
        )
        copy("contacts", ("id", "customer_id", "name", "title", "created_at", "updated_at"), contacts)
        copy(
            "touchpoints",
            (
                "id",
                "customer_id",
                "rep_id",
                "type",
                "emotion",
                "summary",
                "next_action",
                "next_action_due",
                "occurred_at",
                "source",
                "attachments",
                "guessed_fields",
                "created_at",
                "updated_at",
            ),
            touchpoints,
        )
        copy("touchpoint_contacts", ("touchpoint_id", "contact_id"), tp_contacts)
        opp_cols = (
            "id",
            "customer_id",
            "owner_id",
            "title",
            "product_line",
            "expected_amount_fen",
            "stage_id",
            "status",
            "last_touchpoint_id",
            "last_follow_up_at",
            "stage_entered_at",
            "approval_frozen",
            "created_at",
            "updated_at",
        )
        won_rows = [o for o in opps if o[7] == "won"]
        copy("opportunities", (*opp_cols, "closed_at"), [(*o, o[9] if o[7] == "won" else None) for o in opps])
        counts["won opportunities"] = len(won_rows)
        copy(
            "stage_transitions",
            (
                "id",
                "opportunity_id",
                "from_stage_id",
                "to_stage_id",
                "actor_id",
                "touchpoint_id",
                "occurred_at",
                "checklist_complete",
            ),
            transitions,
        )
        copy(
            "tasks",
            (
                "assignee_id",
                "title",
                "due_at",
                "status",
                "origin",
                "subject_type",
                "subject_id",
                "escalation_level",
                "created_at",
                "updated_at",
            ),
            tasks,
        )
        copy(
            "materials",
            ("title", "product_line", "stage_code", "tags", "published_at", "created_at", "updated_at"),
            [
                (
                    f"素材{i}",
                    PRODUCTS[i % 7] if i % 5 else None,
                    open_codes[i % 6] if i % 3 else None,
                    "[]",
                    now - timedelta(days=i),
                    ts,
                    ts,
                )
                for i in range(MATERIALS)
            ],
        )
        for table in ("stages", "users", "customers", "contacts", "touchpoints", "opportunities", "stage_transitions"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.execute("ANALYZE")
    return counts


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0
        event.listen(db.get_engine(), "before_cursor_execute", self._count)

    def _count(self, *_args: object) -> None:
        self.count += 1


def serve_emulator(settings: Settings, port: int) -> None:
    """The WeCom emulator (with the app it is mounted in) in this process, on loopback (a child process)."""
    import logging

    from waitress import serve

    from salesnav.app import create_app

    logging.getLogger("waitress").setLevel(logging.ERROR)
    register_adapters()
    serve(create_app(settings), host="127.0.0.1", port=port, threads=8, ident="wecom-emulator")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def deliver(settings: Settings, senders: int, expected: int) -> None:
    """Run 4: the packs run 2 queued, delivered through the emulator by `senders` outbound workers (0: this
    process works the outbound queue, the emulator mounted in it and answered without a socket)."""
    import requests

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    emulated = dataclasses.replace(
        settings, wecom=dataclasses.replace(settings.wecom, api_base=base + "/_wecom", emulator=True)
    )
    emulator: multiprocessing.process.BaseProcess | None = None
    workers: list[subprocess.Popen[bytes]] = []
    if senders:
        emulator = multiprocessing.get_context("spawn").Process(
            target=serve_emulator, args=(emulated, port), daemon=True
        )
        emulator.start()
        for _ in range(200):
            try:
                requests.get(base + "/_wecom/_control", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "WECOM_API_BASE": base + "/_wecom",
            "WECOM_EMULATOR": "1",
        }
        cli = os.path.join(os.path.dirname(sys.executable), "salesnav")
        command = [cli, "worker", "--burst", "--queues", "outbound"]
    else:
        from salesnav.app import create_app
        from salesnav.bot.emulator import STATE, local

        app = create_app(emulated)
        local.serve_in_process(app)
    started = time.perf_counter()
    try:
        if senders:
            workers = [subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) for _ in range(senders)]
            while time.perf_counter() - started < 300:
                with db.transaction() as session:
                    left = session.scalar(text("SELECT count(*) FROM outbound_messages WHERE status = 'queued'"))
                if not left or all(w.poll() is not None for w in workers):
                    break
                time.sleep(0.2)
        else:
            jobs_queue.backend().drain()  # rq's SimpleWorker, in burst: the outbound jobs run 2 queued
        seconds = time.perf_counter() - started
        for w in workers:
            w.wait(timeout=120)
        if senders:
            counts = requests.get(base + "/_wecom/_control", timeout=10).json()["counts"]
        else:
            counts = STATE.summary()["counts"]
        with db.transaction() as session:
            by_status = dict(
                session.execute(text("SELECT status, count(*) FROM outbound_messages GROUP BY status")).all()
            )
    finally:
        if emulator is not None:
            emulator.terminate()
            emulator.join(timeout=10)
    lost = expected - counts["delivered"]
    from salesnav.bot import outbox

    cap = outbox.policy().company_per_minute
    floor = (expected - 1) // cap * 60
    where = f"{senders} outbound worker process(es), the emulator in its own" if senders else "one process"
    print(
        f"run 4: delivery of {expected:,} packs through the emulator ({where}): {seconds:.1f} s "
        f"(target ≤ 70 s: {'met' if seconds <= 70 and not lost else 'NOT met'})\n"
        f"   emulator's count: {counts['delivered']:,} delivered, {counts['dropped']} dropped by the per-member limit, "
        f"{counts['rate_limited']} calls refused by the company cap (45009), {counts['api_calls']:,} API calls; "
        f"lost {lost}\n   outbox rows by status: {json.dumps(by_status)}\n"
        f"   what the caps force (baseline): ≥ {floor} s — {expected:,} sends at {cap:,} a minute (WeCom's 10,000 less "
        f"what is left for tokens, uploads and logins)"
    )


def requeue_tuesday(settings: Settings) -> int:
    """`--deliver-only`: Tuesday's packs, already computed by an earlier run, queued again with their jobs."""
    from salesnav.bot import outbox

    with db.transaction() as session:
        session.execute(text("DELETE FROM job_runs WHERE key LIKE 'outbound:%'"))  # the earlier run's, done
        ids = list(
            session.scalars(
                text(
                    "UPDATE outbound_messages SET status = 'queued', attempts = 0, sent_at = NULL, wecom_msgid = NULL,"
                    " next_attempt_at = created_at WHERE idempotency_key LIKE :key RETURNING id"
                ),
                {"key": "battle_pack:%:2026-03-03"},
            )
        )
        outbox.deliver_after_commit(session, ids)
    return len(ids)


def measure(
    label: str, moment: datetime, counter: StatementCounter, redis_url: str, *, keep_jobs: bool = False
) -> None:
    previous = clock.use(clock.FrozenClock(moment))
    counter.count = 0
    started = time.perf_counter()
    try:
        report = battle_pack.run(clock.now())
    finally:
        clock.use(previous)
    seconds = time.perf_counter() - started
    print(
        f"{label:<38} packs computed {report.computed:>6}, queued {report.queued:>6}, "
        f"{seconds:7.2f} s, SQL statements {counter.count:>3}"
    )
    if redis_url and not keep_jobs:
        from redis import Redis

        Redis.from_url(redis_url).flushdb()  # nobody delivers these: empty the bench's rq queues


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/salesnav_bench_bp")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--reps", type=int, default=10_000)
    parser.add_argument("--first", type=int, default=1_000, help="reps active in the first run")
    parser.add_argument("--no-delivery", action="store_true", help="skip run 4 (delivery through the emulator)")
    parser.add_argument(
        "--senders", type=int, default=0, help="outbound worker processes in run 4 (0: this process, emulator in it)"
    )
    parser.add_argument("--deliver-only", action="store_true", help="run 4 alone, on the database an earlier run left")
    args = parser.parse_args()
    register_adapters()  # as every process does at start: the ports' channels (salesnav/adapters.py)

    settings = Settings.from_env(
        {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "WECOM_API_BASE": "http://127.0.0.1:9/_wecom"}
    )
    if args.deliver_only:
        db.configure(settings.database_url)
        jobs_queue.configure(settings.redis_url)
        from redis import Redis

        Redis.from_url(args.redis_url).flushdb()
        deliver(settings, args.senders, requeue_tuesday(settings))
        return
    create_database(args.database_url)
    migrate.upgrade(settings.database_url)
    started = time.perf_counter()
    counts = seed(args.database_url, args.reps, local(MONDAY, 9))
    print(f"seeded in {time.perf_counter() - started:.1f} s: " + json.dumps(counts, ensure_ascii=False))
    db.configure(settings.database_url)
    wecom_client.configure(settings)
    jobs_queue.configure(settings.redis_url)
    if args.redis_url:
        from redis import Redis

        Redis.from_url(args.redis_url).flushdb()
    counter = StatementCounter()
    with db.transaction() as session:
        session.execute(
            text("UPDATE users SET active = (id <= :last) WHERE role = 'rep'"), {"last": MANAGERS + args.first}
        )
    measure(f"run 1: {args.first:,} active reps (Mon 10:00)", local(MONDAY, 10), counter, args.redis_url)
    with db.transaction() as session:
        session.execute(text("UPDATE users SET active = true"))
        # Monday's packs went out on Monday: run 4 delivers Tuesday's alone.
        session.execute(text("UPDATE outbound_messages SET status = 'sent', sent_at = created_at"))
    tuesday = MONDAY + timedelta(days=1)
    delivering = bool(args.redis_url) and not args.no_delivery
    measure(
        f"run 2: {args.reps:,} active reps (Tue 10:00)",
        local(tuesday, 10),
        counter,
        args.redis_url,
        keep_jobs=delivering,
    )
    measure(
        "run 3: idle tick after the packs (Tue 10:01)",
        local(tuesday, 10, 1),
        counter,
        args.redis_url,
        keep_jobs=delivering,
    )
    with db.transaction() as session:
        sizes = session.execute(
            text("SELECT min(length(body->>'content')), max(octet_length(body->>'content')) FROM outbound_messages")
        ).one()
        sample = session.scalar(text("SELECT body->>'content' FROM outbound_messages ORDER BY id LIMIT 1"))
    print(f"pack size: {sizes[0]}–{sizes[1]} bytes (WeCom markdown limit 2,048)\n--- a sample pack ---\n{sample}")
    if delivering:
        deliver(settings, args.senders, args.reps)


if __name__ == "__main__":
    main()
