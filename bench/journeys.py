"""Benchmark: customer journeys on PostgreSQL + Redis — events in, first messages out, and the clock's advance.

    .venv/bin/python bench/journeys.py [--database-url postgresql://postgres@127.0.0.1:5432/salesnav_bench_journeys]
        [--redis-url redis://127.0.0.1:6379/6] [--customers 100000] [--journeys 50] [--rate 1000] [--seconds 60]
        [--entry-share 0.1] [--producers 2] [--batch-ms 100] [--workers 2] [--due 1000] [--skip-load] [--skip-advance]

The database (created if missing) is dropped and rebuilt, and the Redis database flushed: never point them at real ones.

1. Advance cost. The clock's job (`salesnav.jobs.journeys.advance_due`) with the same number of steps due (`--due`,
   waits ending now, each going on to a message) among 10,000 and then `--customers` enrolled customers (each
   enrolled one with a wait running for days). Printed beside it, in the same run: a plain count(*) of the step runs
   (the baseline that grows with the table) and the idle tick (nothing due). The advance should cost the same at
   both sizes; count(*) grows.
2. Load. `--customers` customers (a 设备科 contact each, 2,500 reps), `--journeys` active journeys (trigger
   webhook.bench_<j>; steps: a message to the rep, a wait of 24 h, a second message), every customer already in
   one of them. Then `--rate` events a second for `--seconds` from `--producers` processes, as outside systems
   posting to the webhook: with `--batch-ms` (default 100) each posts what came in that time as one batch
   (`record_webhook_events`, the use case of POST /hooks/events/batch: one transaction, one INSERT, one journeys
   job); with `--batch-ms 0` one event a transaction (`record_webhook_event`, as POST /hooks/events). An event's
   latency counts from when it was due, so the wait for its batch is in it. The mix:
   `--entry-share` of them trigger a journey the customer is not in (→ entry → the rep's message); as many again
   trigger the journey the customer is already in (→ refused, re-entry); the rest are kinds no journey hears
   (webhook.page.viewed: recorded, no job). The journeys' jobs run on the Procfile's `worker` processes
   (`salesnav worker --queues outbound,inbound,rules,default`, `--workers` of them) over Redis, the WeCom emulator in
   a process of its own. Measured: events recorded (count, none lost: every producer call vs. rows), the rate
   reached, and event → the rep's first message recorded by the emulator (p50/p95/max; target p95 ≤ 5 s).

Why not every event enters a journey: WeCom refuses a company's API calls past 10,000 a minute, so no more than
~165 messages a second can leave, whatever we do; 1,000 entries a second would queue by construction. The outbox
keeps to that cap (and to 30 messages a minute per member); the entry share keeps the messages under it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import text

from salesnav.adapters import register_adapters
from salesnav.bot import client as wecom_client
from salesnav.jobs import queue as jobs_queue
from salesnav.models import migrate
from salesnav.models import session as db
from salesnav.settings import Settings

REPS, MANAGERS = 2_500, 50


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reset(url: str, redis_url: str) -> None:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    name = plain.rsplit("/", 1)[1]
    with psycopg.connect(plain.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(url)
    db.configure(url)
    if redis_url:
        from redis import Redis

        Redis.from_url(redis_url).flushdb()


def definition(j: int) -> dict[str, object]:
    return {
        "trigger": {"kind": f"webhook.bench_{j}"},
        "steps": [
            {
                "key": "hello",
                "title": f"旅程{j}第一步",
                "owner": {"type": "rep"},
                "action": {"type": "message", "text": "{客户}进入了旅程，请今天联系{联系人}"},
            },
            {"key": "pause", "title": "等一天", "wait": {"hours": 24}},
            {
                "key": "again",
                "title": f"旅程{j}第二步",
                "owner": {"type": "rep"},
                "action": {"type": "message", "text": "{客户}：一天过去了，再跟进一次"},
            },
        ],
        "reentry_days": 30,
        "frequency_cap": {"per_contact_per_day": 3},
    }


def load(customers: int, journeys: int, due: int = 0) -> None:
    """Org, customers with a contact each, active journeys, every customer enrolled in one (its wait running for
    days), and `due` of those waits ending now. Bulk SQL: the runner's own path is what the load run measures."""
    now = datetime.now(UTC)
    with db.get_engine().begin() as conn:
        conn.execute(
            text("INSERT INTO departments (name, kind, created_at, updated_at) VALUES ('销售部', 'sales', :t, :t)"),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO users (wecom_userid, name, role, department_id, active, created_at, updated_at) "
                "SELECT 'bench_mgr' || g, '主管' || g, 'manager', 1, true, :t, :t FROM generate_series(1, :m) g"
            ),
            {"t": now, "m": MANAGERS},
        )
        conn.execute(
            text(
                "INSERT INTO users (wecom_userid, name, role, department_id, manager_id, active, "
                "created_at, updated_at) "
                "SELECT 'bench_rep' || g, '销售' || g, 'rep', 1, 1 + g % :m, true, :t, :t FROM generate_series(1, :r) g"
            ),
            {"t": now, "m": MANAGERS, "r": REPS},
        )
        conn.execute(
            text(
                "INSERT INTO customers (name, kind, grade, tags, owner_id, health, created_at, updated_at) "
                "SELECT '基准医院' || g, 'hospital', '三甲', '[]', :m + 1 + g % :r, 'green', :t, :t "
                "FROM generate_series(1, :n) g"
            ),
            {"t": now, "m": MANAGERS, "r": REPS, "n": customers},
        )
        conn.execute(
            text(
                "INSERT INTO contacts (customer_id, name, title, decision_role_guessed, created_at, updated_at) "
                "SELECT id, '主任' || id, '设备科主任', false, :t, :t FROM customers"
            ),
            {"t": now},
        )
        for j in range(journeys):
            conn.execute(
                text(
                    "INSERT INTO journeys (name, definition, trigger_kind, active, version, created_at, updated_at) "
                    "VALUES (:name, CAST(:d AS json), :kind, true, 1, :t, :t)"
                ),
                {
                    "name": f"基准旅程{j}",
                    "d": json.dumps(definition(j), ensure_ascii=False),
                    "kind": f"webhook.bench_{j}",
                    "t": now,
                },
            )
        # customer c is in journey (c % journeys) + 1, entered a day ago; its wait runs for 1..30 more days
        conn.execute(
            text(
                "INSERT INTO journey_enrollments (journey_id, journey_version, customer_id, "
                "contact_id, entered_at, state, "
                "current_step, created_at, updated_at) "
                "SELECT j.id, 1, c.id, NULL, :e, 'active', 'pause', :t, :t "
                "FROM customers c JOIN journeys j ON j.trigger_kind = 'webhook.bench_' || (c.id % :j)"
            ),
            {"j": journeys, "e": now - timedelta(days=1), "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO journey_step_runs (enrollment_id, journey_id, step_key, step_kind, "
                "state, due_at, started_at, "
                "done_at, held_count, outcome, detail, created_at, updated_at) "
                "SELECT id, journey_id, 'hello', 'message', 'done', entered_at, entered_at, "
                "entered_at, 0, 'sent', '{}', :t, :t "
                "FROM journey_enrollments"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO journey_step_runs (enrollment_id, journey_id, step_key, step_kind, "
                "state, due_at, started_at, "
                "wake_at, held_count, waiting_for, detail, created_at, updated_at) "
                "SELECT id, journey_id, 'pause', 'wait', 'waiting', entered_at, entered_at, "
                "CASE WHEN id <= :due THEN :now - interval '1 minute' ELSE :now + (1 + id % 30) * "
                "interval '1 day' END, "
                "0, NULL, '{}', :t, :t FROM journey_enrollments"
            ),
            {"due": due, "now": now, "t": now},
        )
        conn.execute(text("ANALYZE"))


# --- 1. the advance's cost ------------------------------------------------------------------------------------


def advance_cost(url: str, redis_url: str, enrolled: int, journeys: int, due: int) -> dict[str, float]:
    from salesnav.jobs.journeys import advance_due

    reset(url, redis_url)
    started = time.perf_counter()
    load(enrolled, journeys, due)
    loaded = time.perf_counter() - started
    engine = db.get_engine()

    def count() -> float:
        t = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM journey_step_runs")).scalar_one()
        return time.perf_counter() - t

    count()
    counts = [count() for _ in range(7)]
    t = time.perf_counter()
    done = advance_due()
    first = time.perf_counter() - t
    idle = []
    for _ in range(21):
        t = time.perf_counter()
        advance_due()
        idle.append(time.perf_counter() - t)
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT count(*) FROM journey_step_runs")).scalar_one()
        plan = (
            conn.execute(
                text(
                    "EXPLAIN SELECT id FROM journey_step_runs WHERE wake_at IS NOT NULL AND wake_at "
                    "<= now() ORDER BY wake_at LIMIT 1000"
                )
            )
            .scalars()
            .all()
        )
    print(
        f"\n== {enrolled:,} customers enrolled ({runs:,} step runs), {due:,} waits ending now; loaded in {loaded:.1f} s"
    )
    print(f"   plain count(*) of step runs             median {ms(statistics.median(counts))}")
    print(
        f"   advance of the {due:,} due steps          {ms(first)}  ({json.dumps(done)}; "
        f"{first / max(due, 1) * 1000:.2f} ms a step)"
    )
    print(f"   idle advance (nothing due)              median {ms(statistics.median(idle))}, p95 {ms(p95(idle))}")
    print("   plan: " + " / ".join(line.strip() for line in plan if "Scan" in line or "Limit" in line))
    jobs_queue.backend().drain()
    return {"count": statistics.median(counts), "advance": first, "idle": statistics.median(idle)}


# --- 2. load: events in, first messages out ----------------------------------------------------------------------


def serve_emulator(settings: Settings, port: int) -> None:
    import logging

    from waitress import serve

    from salesnav.app import create_app

    logging.getLogger("waitress").setLevel(logging.ERROR)
    register_adapters()
    serve(create_app(settings), host="127.0.0.1", port=port, threads=8, ident="wecom-emulator")


def produce(
    url: str,
    redis_url: str,
    index: int,
    producers: int,
    plan: list[tuple[int, str]],
    rate: float,
    seconds: float,
    batch_ms: float,
    out: multiprocessing.Queue[object],
) -> None:
    """One producer process, as an outside system posting to the webhook: its share of the plan's events at its
    share of the rate, through the webhook's use case — one event a transaction (`record_webhook_event`, as
    POST /hooks/events), or with `batch_ms` the events of each `batch_ms` in one transaction
    (`record_webhook_events`, as POST /hooks/events/batch). Each event's time is when it was due, so the wait for
    its batch counts in its latency. Reports (customer, kind, at) of every event recorded, and the calls that
    failed."""
    from salesnav.handlers import webhook_events

    settings = Settings.from_env({"DATABASE_URL": url, "REDIS_URL": redis_url})
    db.configure(settings.database_url)
    jobs_queue.configure(settings.redis_url)
    mine = plan[index::producers]
    per_second = rate / producers
    started, wall = time.monotonic(), datetime.now(UTC)
    recorded: list[tuple[int, str, str]] = []
    failed = 0
    n = 0
    while n < len(mine):
        if time.monotonic() - started > seconds + 30:
            break
        if batch_ms > 0:
            time.sleep(max(0.0, started + (n + 1) / per_second + batch_ms / 1000 - time.monotonic()))
            due = min(len(mine), int((time.monotonic() - started) * per_second) + 1, n + webhook_events.MAX_BATCH)
        else:
            time.sleep(max(0.0, started + n / per_second - time.monotonic()))
            due = n + 1
        chunk = [
            (customer_id, kind, wall + timedelta(seconds=i / per_second))
            for i, (customer_id, kind) in enumerate(mine[n:due], start=n)
        ]
        events = [
            webhook_events.WebhookEvent(
                sender="bench",
                event_id=f"p{index}-{i}",
                kind=kind,
                customer_id=customer_id,
                occurred_at=at,
                payload={"bench": True},
            )
            for i, (customer_id, kind, at) in enumerate(chunk, start=n)
        ]
        try:
            with db.transaction() as session:
                if batch_ms > 0:
                    items = webhook_events.record_webhook_events(session, events)
                    assert all(item.status == "recorded" for item in items), items
                else:
                    one = events[0]
                    webhook_events.record_webhook_event(
                        session,
                        sender=one.sender,
                        event_id=one.event_id,
                        kind=one.kind,
                        customer_id=one.customer_id,
                        occurred_at=one.occurred_at,
                        payload=one.payload,
                    )
            recorded += [(customer_id, "webhook." + kind, at.isoformat()) for customer_id, kind, at in chunk]
        except Exception:
            failed += len(chunk)
        n = due
    out.put({"recorded": recorded, "failed": failed, "seconds": time.monotonic() - started})


def load_run(args: argparse.Namespace, url: str) -> None:
    import requests

    reset(url, args.redis_url)
    started = time.perf_counter()
    load(args.customers, args.journeys)
    print(
        f"\n== load: {args.customers:,} customers, {args.journeys} journeys, all enrolled; loaded in "
        f"{time.perf_counter() - started:.1f} s"
    )
    total = int(args.rate * args.seconds)
    rng = random.Random(20)
    pool = list(range(1, args.customers + 1))
    rng.shuffle(pool)
    entries = int(total * args.entry_share)
    plan: list[tuple[int, str]] = []
    fresh = iter(pool)  # each entering customer once: a second entry would be refused by the re-entry window
    every = max(2, round(1 / args.entry_share))
    for i in range(total):
        if i % every == 0 and entries > 0:
            c = next(fresh)
            plan.append((c, f"bench_{(c % args.journeys + 1) % args.journeys}"))  # not the journey it is in
            entries -= 1
        elif i % every == 1:
            c = rng.randint(1, args.customers)
            plan.append((c, f"bench_{c % args.journeys}"))  # the journey it is in: refused
        else:
            plan.append((rng.randint(1, args.customers), "page.viewed"))  # no journey hears it

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings.from_env({"DATABASE_URL": url, "REDIS_URL": args.redis_url, "WECOM_API_BASE": base + "/_wecom"})
    emulated = dataclasses.replace(
        settings, wecom=dataclasses.replace(settings.wecom, api_base=base + "/_wecom", emulator=True)
    )
    emulator = multiprocessing.get_context("spawn").Process(target=serve_emulator, args=(emulated, port), daemon=True)
    emulator.start()
    for _ in range(300):
        try:
            requests.get(base + "/_wecom/_control", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "WECOM_API_BASE": base + "/_wecom",
        "WECOM_EMULATOR": "1",
    }
    cli = os.path.join(os.path.dirname(sys.executable), "salesnav")
    workers = [
        subprocess.Popen(
            [cli, "worker", "--queues", "outbound,inbound,rules,default"], env=env, stderr=subprocess.DEVNULL
        )
        for _ in range(args.workers)
    ]
    time.sleep(3)  # the workers connect
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[object] = ctx.Queue()
    procs = [
        ctx.Process(
            target=produce,
            args=(url, args.redis_url, i, args.producers, plan, args.rate, args.seconds, args.batch_ms, out),
        )
        for i in range(args.producers)
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    reports = [out.get() for _ in procs]
    produced_in = max(float(rep["seconds"]) for rep in reports)  # type: ignore[index]  # from each one's first event
    for p in procs:
        p.join()
    recorded = [r for rep in reports for r in rep["recorded"]]  # type: ignore[index]
    failed = sum(rep["failed"] for rep in reports)  # type: ignore[index]
    entered_at = {
        c: datetime.fromisoformat(at)
        for c, kind, at in recorded
        if kind.startswith("webhook.bench_") and f"bench_{c % args.journeys}" != kind.split(".")[1]
    }
    # wait for the rep's messages of every entry (or 120 s)
    deadline = time.monotonic() + 120
    remote_sent: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        remote_sent = requests.get(base + "/_wecom/sent", params={"all": "1"}, timeout=60).json()["messages"]
        firsts = [m for m in remote_sent if m["msgtype"] == "text" and "进入了旅程" in str(m["payload"])]
        if len(firsts) >= len(entered_at):
            break
        time.sleep(2)
    drained_in = time.perf_counter() - t0
    latencies = []
    for m in remote_sent:
        content = str((m["payload"] or {}).get("content", ""))  # type: ignore[union-attr]
        if "进入了旅程" not in content:
            continue
        name = content.split("\n", 1)[1].split("进入了旅程", 1)[0]
        c = int(name.removeprefix("基准医院"))
        if c in entered_at:
            latencies.append((datetime.fromisoformat(str(m["received_at"])) - entered_at[c]).total_seconds())
    counts = requests.get(base + "/_wecom/_control", timeout=10).json()["counts"]
    with db.transaction() as s:
        rows = s.scalar(text("SELECT count(*) FROM customer_events"))
        enrolled_now = s.scalar(
            text("SELECT count(*) FROM journey_enrollments WHERE entered_at > now() - interval '1 hour'")
        )
        refused = s.scalar(text("SELECT count(*) FROM domain_events WHERE kind = 'journey.entry_refused'"))
        jobs = dict(
            s.execute(
                text(
                    "SELECT status, count(*) FROM job_runs WHERE job LIKE '%journeys:on_customer_event%' "
                    "GROUP BY status"
                )
            ).all()
        )
    for w in workers:
        w.terminate()
    for w in workers:
        w.wait(timeout=30)
    emulator.terminate()
    emulator.join(timeout=10)
    heard = sum(1 for _, kind, _ in recorded if kind.startswith("webhook.bench_"))
    print(
        f"   asked: {len(plan):,} events at {args.rate:g}/s for {args.seconds:g} s from "
        f"{args.producers} producer process(es), "
        + (
            f"a batch every {args.batch_ms:g} ms (POST /hooks/events/batch's use case); "
            if args.batch_ms > 0
            else "one event a transaction (POST /hooks/events' use case); "
        )
        + f"{args.workers} rq worker process(es) (Procfile's worker), emulator in its own process"
    )
    print(
        f"   recorded {len(recorded):,} events in {produced_in:.1f} s = "
        f"{len(recorded) / produced_in:.0f} events/s reached; "
        f"calls failed {failed}; rows in customer_events {rows:,} (lost {len(recorded) - rows}); "
        "not attempted (producers behind the asked rate, stopped 30 s after the run) "
        f"{len(plan) - len(recorded) - failed:,}"
    )
    print(
        f"   heard by a journey {heard:,} (journeys' jobs by status {json.dumps(jobs)}); entered {enrolled_now:,} of "
        f"{len(entered_at):,} entry events; refused (already in) {refused:,}"
    )
    print(
        f"   emulator: {counts['delivered']:,} delivered, {counts['dropped']} dropped, "
        f"{counts['rate_limited']} refused (45009); all done {drained_in:.1f} s after the start"
    )
    if latencies:
        latencies.sort()
        missing = len(entered_at) - len(latencies)
        print(
            f"   event → the rep's first message in the emulator: {len(latencies):,} messages, p50 "
            f"{statistics.median(latencies):.2f} s, "
            f"p95 {p95(latencies):.2f} s, max {latencies[-1]:.2f} s (target p95 ≤ 5 s: "
            f"{'met' if p95(latencies) <= 5 and not missing else 'NOT met'}); missing {missing}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/salesnav_bench_journeys")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--journeys", type=int, default=50)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--entry-share", type=float, default=0.1)
    parser.add_argument("--producers", type=int, default=2)
    parser.add_argument("--batch-ms", type=float, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-advance", action="store_true")
    args = parser.parse_args()
    register_adapters()
    url = Settings.from_env({"DATABASE_URL": args.database_url}).database_url
    if not url.startswith("postgresql"):
        raise SystemExit("the benchmark is for PostgreSQL")
    if not args.skip_advance:
        # The advance's messages are not delivered: WeCom points at a closed port, the rows stay queued.
        jobs_queue.configure("")
        wecom_client.configure(Settings.from_env({"DATABASE_URL": url, "WECOM_API_BASE": "http://127.0.0.1:9"}))
        sizes = sorted({10_000, args.customers})
        results = {n: advance_cost(url, args.redis_url, n, args.journeys, args.due) for n in sizes}
        if len(sizes) > 1:
            small, big = results[sizes[0]], results[sizes[-1]]
            print(
                f"\n== growth {sizes[0]:,} → {sizes[-1]:,} enrolled, {args.due:,} due each: count(*) "
                f"×{big['count'] / small['count']:.1f}, "
                f"advance ×{big['advance'] / small['advance']:.2f}, idle tick ×{big['idle'] / small['idle']:.2f}"
            )
    if not args.skip_load:
        load_run(args, url)


if __name__ == "__main__":
    main()
