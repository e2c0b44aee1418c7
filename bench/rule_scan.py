"""Benchmark: the time-rule scan on PostgreSQL, and time-to-alert through the WeCom emulator.

    .venv/bin/python bench/rule_scan.py [--database-url postgresql://postgres@127.0.0.1:5432/salesnav_bench]

1. Scan cost. The opportunities table is filled with N rows (60 % closed long ago, 40 % open and
   followed up within the last 67 h) plus 100 open ones silent for 80 h. We time, in the same run:
   a plain `SELECT count(*)` of the table; the first scan (which fires the 100 alerts: tasks,
   outbox rows); the steady-state scan (every 5 s afterwards, nothing new to fire). N = 10,000 and
   N = 1,000,000: the scan should cost the same at both sizes, count(*) grows with the table.
2. Time-to-alert with the default settings: 100 more deals cross the 72 h threshold during one
   minute while the real clock (APScheduler, every periodic job of PERIODIC) and the in-process
   worker run; for each, threshold crossing → the rep's message recorded by the emulator.

The database is dropped and rebuilt: use a dedicated one (salesnav_bench), never a real one.
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from werkzeug.serving import make_server

from salesnav import clock
from salesnav.adapters import register_adapters
from salesnav.app import create_app
from salesnav.bot.emulator import PREFIX, STATE
from salesnav.handlers.rules import follow_up_overdue
from salesnav.handlers.stages import ensure_default_stages
from salesnav.jobs import queue as jobs_queue
from salesnav.jobs.rules import run_scan
from salesnav.models import Customer, Department, DepartmentKind, Role, Touchpoint, TouchpointType, User, migrate
from salesnav.models import session as db
from salesnav.settings import Settings

REPS, MANAGERS, OVERDUE = 100, 10, 100


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def reset_schema(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(url)


def org() -> dict[str, list[int]]:
    with db.transaction() as s:
        ensure_default_stages(s)
        sales = Department(name="销售部", kind=DepartmentKind.SALES)
        s.add(sales)
        s.flush()
        director = User(wecom_userid="bench_dir", name="总监", role=Role.DIRECTOR, department_id=sales.id)
        s.add(director)
        s.flush()
        managers = [
            User(
                wecom_userid=f"bench_mgr{i}",
                name=f"主管{i}",
                role=Role.MANAGER,
                department_id=sales.id,
                manager_id=director.id,
            )
            for i in range(MANAGERS)
        ]
        s.add_all(managers)
        s.flush()
        reps = [
            User(
                wecom_userid=f"bench_rep{i}",
                name=f"销售{i}",
                role=Role.REP,
                department_id=sales.id,
                manager_id=managers[i % MANAGERS].id,
            )
            for i in range(REPS)
        ]
        s.add_all(reps)
        s.flush()
        customer = Customer(name="基准医院", owner_id=reps[0].id)
        s.add(customer)
        s.flush()
        tp = Touchpoint(
            customer_id=customer.id,
            rep_id=reps[0].id,
            type=TouchpointType.VISIT,
            occurred_at=clock.now(),
            summary="bench",
        )
        s.add(tp)
        s.flush()
        stage_id = s.execute(text("SELECT id FROM stages WHERE code = 'negotiation'")).scalar_one()
        return {"reps": [r.id for r in reps], "customer": [customer.id], "touchpoint": [tp.id], "stage": [stage_id]}


def fill(ids: dict[str, list[int]], n: int, silent_hours: float, offsets_s: list[float] | None = None) -> None:
    """n background deals, or (offsets_s) open deals whose silence crosses 72 h at now + offset."""
    owners = "(ARRAY[" + ",".join(map(str, ids["reps"])) + "]::bigint[])"  # our own integer ids
    common = f"{ids['customer'][0]}, {owners}[1 + (g % {REPS})], 'bench ' || g, 'CT', 60000000, {ids['stage'][0]}"
    with db.get_engine().begin() as conn:
        if offsets_s is None:
            conn.execute(
                text(f"""
                INSERT INTO opportunities (customer_id, owner_id, title, product_line, expected_amount_fen, stage_id,
                    status, last_touchpoint_id, last_follow_up_at, stage_entered_at, approval_frozen,
                    created_at, updated_at)
                SELECT {common},
                    CASE WHEN g % 10 < 6 THEN 'won' ELSE 'open' END, {ids["touchpoint"][0]},
                    CASE WHEN g % 10 < 6 THEN now() - interval '400 days' + (g % 100000) * interval '1 minute'
                         ELSE now() - (g % 4000) * interval '1 minute' END,
                    now(), false, now(), now()
                FROM generate_series(1, :n) g"""),
                {"n": n},
            )
            conn.execute(
                text(f"""
                INSERT INTO opportunities (customer_id, owner_id, title, product_line, expected_amount_fen, stage_id,
                    status, last_touchpoint_id, last_follow_up_at, stage_entered_at, approval_frozen,
                    created_at, updated_at)
                SELECT {common}, 'open', {ids["touchpoint"][0]}, now() - make_interval(hours => :h), now(), false,
                    now(), now()
                FROM generate_series(1, :m) g"""),
                {"m": OVERDUE, "h": silent_hours},
            )
        else:
            for g, offset in enumerate(offsets_s):
                conn.execute(
                    text(f"""
                    INSERT INTO opportunities (customer_id, owner_id, title, product_line, expected_amount_fen,
                        stage_id, status, last_touchpoint_id, last_follow_up_at, stage_entered_at, approval_frozen,
                        created_at, updated_at)
                    SELECT {common.replace("'bench ' || g", "'cross ' || g")}, 'open', {ids["touchpoint"][0]},
                        :last, now(), false, now(), now()
                    FROM (SELECT CAST(:g AS bigint) AS g) AS one"""),
                    {"g": g, "last": datetime.now(UTC) - timedelta(hours=72) + timedelta(seconds=offset)},
                )
        conn.execute(text("ANALYZE opportunities"))


def scan_cost(url: str, n: int) -> dict[str, float]:
    reset_schema(url)
    db.configure(url)
    ids = org()
    started = time.perf_counter()
    fill(ids, n, silent_hours=80)
    load = time.perf_counter() - started
    engine = db.get_engine()

    def count() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM opportunities")).scalar_one()

    count()  # warm the cache the same way for both
    counts = timed(count, 7)
    first = timed(lambda: run_scan(clock.now()), 1)[0]
    jobs_queue.backend().drain()
    steady = timed(lambda: run_scan(clock.now()), 21)

    def find_only() -> None:
        with db.transaction() as s:
            follow_up_overdue.find(s, clock.now())

    finds = timed(find_only, 21)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM opportunities")).scalar_one()
        fired = conn.execute(text("SELECT count(*) FROM alerts")).scalar_one()
        plan = (
            conn.execute(
                text(
                    "EXPLAIN SELECT id, last_follow_up_at FROM opportunities WHERE status = 'open' "
                    "AND last_follow_up_at < now() - interval '72 hours' AND deleted_at IS NULL"
                )
            )
            .scalars()
            .all()
        )
    print(f"\n== {rows:,} opportunities ({OVERDUE} overdue), loaded in {load:.1f} s")
    print(f"   plain count(*)                        median {ms(statistics.median(counts))}")
    print(f"   first scan (fires {fired} alerts)        {ms(first)}")
    print(f"   steady-state scan (all time rules)    median {ms(statistics.median(steady))}, p95 {ms(p95(steady))}")
    print(f"   follow-up find query alone            median {ms(statistics.median(finds))}")
    print(f"   ratio steady scan / count(*)          {statistics.median(steady) / statistics.median(counts):.3f}")
    print(f"   plan: {plan[0].strip()}")
    return {"count": statistics.median(counts), "scan": statistics.median(steady), "first": first}


def time_to_alert(url: str, crossings: int = 100, spread_s: float = 60.0) -> list[float]:
    """The real clock and worker; deals cross 72 h over `spread_s` seconds; crossing → emulator record."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from salesnav.jobs.clock import Clock
    from salesnav.jobs.leader import LocalLeadership

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings.from_env({"DATABASE_URL": url, "WECOM_API_BASE": base + PREFIX})
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True, fd=sock.fileno())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    STATE.reset()
    with db.transaction() as s:
        ids = {
            "reps": list(s.execute(text("SELECT id FROM users WHERE role = 'rep' ORDER BY id")).scalars()),
            "customer": [s.execute(text("SELECT min(id) FROM customers")).scalar_one()],
            "touchpoint": [s.execute(text("SELECT min(id) FROM touchpoints")).scalar_one()],
            "stage": [s.execute(text("SELECT id FROM stages WHERE code = 'negotiation'")).scalar_one()],
        }
    offsets = [2 + spread_s * i / crossings for i in range(crossings)]
    fill(ids, 0, 0, offsets_s=offsets)
    with db.transaction() as s:
        crossed = {
            title: last + timedelta(hours=72)
            for title, last in s.execute(
                text("SELECT title, last_follow_up_at FROM opportunities WHERE title LIKE 'cross %'")
            ).all()
        }

    scheduler = BackgroundScheduler(timezone="UTC")
    Clock(LocalLeadership()).install(scheduler)  # every periodic job, as `salesnav serve` runs them
    scheduler.start()
    deadline = time.monotonic() + spread_s + 60
    latencies: dict[str, float] = {}
    try:
        while time.monotonic() < deadline and len(latencies) < len(crossed):
            time.sleep(0.5)
            with STATE.lock:
                records = list(STATE.messages)
            for record in records:
                content = (record.get("payload") or {}).get("content", "")
                if record["msgtype"] != "text" or not content.startswith("【跟进超时预警】客户"):
                    continue  # the rep's message (the manager's names the rep first)
                for title, at in crossed.items():
                    if title not in latencies and f"商机「{title}」" in content and record["delivered_to"]:
                        latencies[title] = (datetime.fromisoformat(record["received_at"]) - at).total_seconds()
    finally:
        scheduler.shutdown(wait=False)
        server.shutdown()
    missing = len(crossed) - len(latencies)
    if missing:
        print(f"   !! {missing} alerts not received within the run")
    return list(latencies.values()) + [float("inf")] * missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/salesnav_bench")
    parser.add_argument("--sizes", default="10000,1000000")
    args = parser.parse_args()
    register_adapters()  # as every process does at start: the ports' channels (salesnav/adapters.py)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the emulator's request log would drown the figures
    url = Settings.from_env({"DATABASE_URL": args.database_url}).database_url
    if not url.startswith("postgresql"):
        raise SystemExit("the benchmark is for PostgreSQL")
    # Scan-cost runs deliver nothing: WeCom points at a closed port, so sends fail at once and the
    # messages stay queued (the outbox retries them later, during the time-to-alert run).
    from salesnav.bot import client as wecom_client

    jobs_queue.configure("")
    wecom_client.configure(Settings.from_env({"DATABASE_URL": url, "WECOM_API_BASE": "http://127.0.0.1:9"}))
    results = {int(n): scan_cost(url, int(n)) for n in args.sizes.split(",")}
    sizes = sorted(results)
    if len(sizes) > 1:
        small, big = results[sizes[0]], results[sizes[-1]]
        print(
            f"\n== growth {sizes[0]:,} → {sizes[-1]:,} rows: count(*) ×{big['count'] / small['count']:.1f}, "
            f"steady scan ×{big['scan'] / small['scan']:.2f}"
        )
    latencies = sorted(time_to_alert(url))
    print(f"\n== time-to-alert, {len(latencies)} deals crossing 72 h (scan every 5 s, default settings)")
    print(f"   p50 {statistics.median(latencies):.2f} s, p95 {p95(latencies):.2f} s, max {max(latencies):.2f} s")


if __name__ == "__main__":
    main()
