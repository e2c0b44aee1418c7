"""Benchmark: the Monday weekly team reports for 500 managers (10,000 reps, 1M touchpoints) built and queued,
against a plain scan of the week's touchpoints in the same run, and the SQL statement count.

    .venv/bin/python bench/reports.py [--database-url postgresql://postgres@127.0.0.1:5432/wt_reports_bench]
                                      [--redis-url redis://127.0.0.1:6379/6] [--managers 500] [--reps 10000]
                                      [--touchpoints 1000000]

The database (created if missing) is dropped and rebuilt: never point it at a real one.
Synthetic company bulk-loaded with COPY: one director, `--managers` managers with `--reps` reps shared among them,
5 customers per rep (one contact each, 10 % red), `--touchpoints` touchpoints spread over ten weeks (about a
tenth in the reported week; 60 % effective), 5 deals per rep with their stage history (some moved last week,
a fifth by override, a tenth won; one open deal in ten silent past 72 h, as in the demo company), one ticket
part overdue per 20 reps, a receivable per customer (a fifth past due and unpaid). The touchpoints' contact_roles
are written directly (what the triggers keep) instead of touchpoint_contacts rows: the metrics read the bits, and a
million trigger updates would only slow the load.

Runs: (1) the plain scan — `SELECT count(*), count(next_action), sum(contact_roles)` over the week's touchpoints;
(2) `salesnav.bot.report_jobs.run_team(Monday 08:00, "weekly")`: every manager's report and the director's, built
and queued (one outbox insert; the rq jobs go to the Redis database given and are emptied); (3) the same with
50 managers (the rest made inactive) to show the statement count does not grow with the managers; (4) the
collections book (回款台账, handlers/collections_book.py) of one manager and of the director, and one run of the
回款 reminders (handlers/collections.py), each timed in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import event, select, text

from salesnav import clock
from salesnav.bot import client as wecom_client
from salesnav.bot import report_jobs as reports
from salesnav.handlers.stages import DEFAULT_STAGES
from salesnav.jobs import queue as jobs_queue
from salesnav.metrics.scope import Window
from salesnav.models import migrate
from salesnav.models import session as db
from salesnav.settings import Settings

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 3, 2)
WEEK = Window.week_of(MONDAY - timedelta(days=7), TZ)


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


def seed(url: str, managers: int, reps: int, touchpoints: int, now: datetime) -> dict[str, int]:
    rnd = random.Random(20260302)
    counts: dict[str, int] = {}
    ts = now.isoformat()
    with psycopg.connect(url) as conn:

        def copy(table: str, columns: tuple[str, ...], rows: object) -> None:
            n = 0
            with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
                for row in rows:  # type: ignore[attr-defined]
                    cp.write_row(row)
                    n += 1
            counts[table] = n

        copy(
            "stages",
            ("id", "code", "name", "position", "win_probability", "outcome", "created_at", "updated_at"),
            [(i, code, name, i, p, o.value, ts, ts) for i, (code, name, p, o, _) in enumerate(DEFAULT_STAGES, 1)],
        )
        users = [(1, "dir00001", "总监", "director", None, True, ts, ts)]
        users += [(1 + i, f"mgr{i:05d}", f"主管{i}", "manager", 1, True, ts, ts) for i in range(1, managers + 1)]
        first_rep = managers + 2
        rep_ids = list(range(first_rep, first_rep + reps))
        users += [(uid, f"rep{uid:05d}", f"销售{uid}", "rep", 2 + uid % managers, True, ts, ts) for uid in rep_ids]
        copy("users", ("id", "wecom_userid", "name", "role", "manager_id", "active", "created_at", "updated_at"), users)

        customers = [
            (
                rep * 5 + k,
                f"医院{rep * 5 + k}",
                "hospital",
                "三甲",
                "上海",
                "[]",
                rep,
                "red" if k == 0 and rep % 10 == 0 else "green",
                ts,
                ts,
            )
            for rep in rep_ids
            for k in range(5)
        ]
        copy(
            "customers",
            ("id", "name", "kind", "grade", "region", "tags", "owner_id", "health", "created_at", "updated_at"),
            customers,
        )
        copy(
            "contacts",
            ("id", "customer_id", "name", "title", "decision_role", "created_at", "updated_at"),
            ((c[0], c[0], f"联系人{c[0]}", "设备科", "user", ts, ts) for c in customers),
        )
        span = 70 * 86400  # ten weeks up to Monday 00:00

        def touchpoint_rows():  # type: ignore[no-untyped-def]
            end = WEEK.end
            for tpid in range(1, touchpoints + 1):
                rep = rep_ids[tpid % reps]
                at = end - timedelta(seconds=rnd.randrange(span))
                effective = rnd.random() < 0.6
                yield (
                    tpid,
                    rep * 5 + tpid % 5,
                    rep,
                    "visit",
                    "neutral",
                    "拜访",
                    "发送报价" if effective else None,
                    at + timedelta(days=2) if effective else None,
                    at,
                    "api",
                    "[]",
                    "[]",
                    20 if effective else 0,  # a contact present (16) whose role is 使用者 (4)
                    ts,
                    ts,
                )

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
                "contact_roles",
                "created_at",
                "updated_at",
            ),
            touchpoint_rows(),
        )
        opps, transitions = [], []
        oid = trid = 0
        week_start = WEEK.start
        for rep in rep_ids:
            for k in range(5):
                oid += 1
                won = rnd.random() < 0.1
                stage = 7 if won else rnd.randint(1, 6)
                moved = week_start + timedelta(hours=rnd.randint(1, 160))
                created = moved - timedelta(days=rnd.randint(3, 40))
                # As in the demo company (7 of 72 open deals): about one in ten past the 72 h follow-up policy.
                last = now - timedelta(hours=rnd.randint(1, 60) if rnd.random() < 0.9 else rnd.randint(80, 300))
                opps.append(
                    (
                        oid,
                        rep * 5 + k,
                        rep,
                        f"商机{oid}",
                        "CT球管",
                        rnd.randint(5, 200) * 1_000_000,
                        stage,
                        "won" if won else "open",
                        1,
                        last,
                        moved,
                        False,
                        moved if won else None,
                        ts,
                        ts,
                    )
                )
                trid += 1
                transitions.append((trid, oid, None, 1, rep, 1, created, True, None))
                if stage > 1:
                    trid += 1
                    override = rnd.random() < 0.2
                    transitions.append(
                        (trid, oid, 1, stage, rep, 1, moved, not override, "客户急需" if override else None)
                    )
        copy(
            "opportunities",
            (
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
                "closed_at",
                "created_at",
                "updated_at",
            ),
            opps,
        )
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
                "override_reason",
            ),
            transitions,
        )
        copy(
            "departments",
            ("id", "name", "kind", "ticket_notice_user_ids", "created_at", "updated_at"),
            [(1, "交付部", "delivery", "[]", ts, ts)],
        )
        copy(
            "collaboration_tickets",
            ("id", "opportunity_id", "opened_by_id", "reason", "status", "opened_at", "created_at", "updated_at"),
            (
                (i, (i - 1) * 100 + 1, rep_ids[(i - 1) * 20], "商机进入样品测试", "open", ts, ts, ts)
                for i in range(1, reps // 20 + 1)
            ),
        )
        copy(
            "ticket_parts",
            (
                "ticket_id",
                "department_id",
                "request",
                "status",
                "sla_hours",
                "due_at",
                "attachment_ids",
                "created_at",
                "updated_at",
            ),
            ((i, 1, "确认排期", "open", 24, now - timedelta(hours=5), "[]", ts, ts) for i in range(1, reps // 20 + 1)),
        )
        copy(
            "receivables",
            ("customer_id", "amount_fen", "due_date", "created_at", "updated_at"),
            ((c[0], 10_000_000, MONDAY - timedelta(days=10 if c[0] % 5 == 1 else -20), ts, ts) for c in customers),
        )
        for table in (
            "stages",
            "users",
            "customers",
            "contacts",
            "touchpoints",
            "opportunities",
            "stage_transitions",
            "collaboration_tickets",
            "departments",
        ):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.execute("ANALYZE")
    return counts


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0
        event.listen(db.get_engine(), "before_cursor_execute", self._count)

    def _count(self, *_args: object) -> None:
        self.count += 1


def scan(url: str) -> tuple[float, int]:
    """The plain scan: every touchpoint of the week read once, in one statement, counted in the database."""
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        n, _actions, _roles = conn.execute(
            "SELECT count(*), count(next_action), sum(contact_roles) FROM touchpoints "
            "WHERE occurred_at >= %s AND occurred_at < %s AND deleted_at IS NULL",
            (WEEK.start, WEEK.end),
        ).fetchone()
        return time.perf_counter() - started, n


def fetch_scan(url: str) -> float:
    """The same scan with the rows brought to the client (rep, customer, next action, roles): the least a report
    built outside the database would read."""
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        rows = conn.execute(
            "SELECT rep_id, customer_id, next_action, next_action_due, contact_roles FROM touchpoints "
            "WHERE occurred_at >= %s AND occurred_at < %s AND deleted_at IS NULL",
            (WEEK.start, WEEK.end),
        ).fetchall()
        assert rows
        return time.perf_counter() - started


def weekly(label: str, counter: StatementCounter, redis_url: str) -> tuple[float, int, int]:
    with db.transaction() as session:
        session.execute(text("DELETE FROM outbound_messages"))
    previous = clock.use(clock.FrozenClock(local(MONDAY, 8)))
    counter.count = 0
    started = time.perf_counter()
    try:
        queued = reports.run_team(clock.now(), "weekly")
    finally:
        clock.use(previous)
    seconds = time.perf_counter() - started
    statements = counter.count
    print(f"{label:<44} queued {queued:>5} reports in {seconds:7.2f} s, SQL statements {statements:>3}")
    if redis_url:
        from redis import Redis

        Redis.from_url(redis_url).flushdb()  # nobody delivers these: empty the bench's rq queues
    return seconds, queued, statements


def collections_figures() -> None:
    """The collections book of a manager (20 reps, 100 customers) and of the director (every receivable), and
    one reminder run (a batch of up to 500 receivables due soon or overdue), on Monday morning."""
    from salesnav.adapters import register_adapters
    from salesnav.handlers import collections, collections_book
    from salesnav.models import Role, User

    register_adapters()  # the reminders go through the notification port, as in a worker

    previous = clock.use(clock.FrozenClock(local(MONDAY, 8)))
    try:
        for role in (Role.MANAGER, Role.DIRECTOR):
            with db.transaction() as session:
                viewer = session.scalars(select(User).where(User.role == role).order_by(User.id).limit(1)).one()
                started = time.perf_counter()
                book = collections_book.team_book(session, viewer)
                seconds = time.perf_counter() - started
            label = f"collections book, {role.label}"
            print(f"{label:<44} {len(book.rows):>7} rows in {seconds:7.2f} s (overdue ¥{book.overdue_fen / 100:,.0f})")
        with db.transaction() as session:
            started = time.perf_counter()
            done = collections.run(session, clock.now(), TZ)
            seconds = time.perf_counter() - started
            session.rollback()  # measured, not kept: the bench's outbox stays the reports'
        print(f"{'回款 reminders, one clock run':<44} {done.reminded + done.flagged:>7} sent  in {seconds:7.2f} s")
    finally:
        clock.use(previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/wt_reports_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--managers", type=int, default=500)
    parser.add_argument("--reps", type=int, default=10_000)
    parser.add_argument("--touchpoints", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="measure the company seeded by the last run")
    args = parser.parse_args()

    settings = Settings.from_env(
        {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "WECOM_API_BASE": "http://127.0.0.1:9/_wecom"}
    )
    if not args.reuse:
        create_database(args.database_url)
        migrate.upgrade(settings.database_url)
        started = time.perf_counter()
        counts = seed(args.database_url, args.managers, args.reps, args.touchpoints, local(MONDAY, 7))
        print(f"seeded in {time.perf_counter() - started:.1f} s: " + json.dumps(counts, ensure_ascii=False))
    db.configure(settings.database_url)
    wecom_client.configure(settings)
    jobs_queue.configure(settings.redis_url)
    if args.redis_url:
        from redis import Redis

        Redis.from_url(args.redis_url).flushdb()
    counter = StatementCounter()
    import salesnav.app  # noqa: F401 (imported once, as in a running worker: not the reports' cost)

    scan(args.database_url)  # warm the cache once, as the reports' own first statements do
    scan_seconds, week_rows = scan(args.database_url)
    print(f"{'plain scan of the week touchpoints':<44} {week_rows:>7} rows in {scan_seconds:7.2f} s")
    seconds, queued, statements = weekly(
        f"weekly reports, {args.managers} managers + director", counter, args.redis_url
    )
    scan_seconds, _ = scan(args.database_url)
    print(f"{'plain scan again (same run)':<44} {week_rows:>7} rows in {scan_seconds:7.2f} s")
    fetch_seconds = fetch_scan(args.database_url)
    print(f"{'the week touchpoints fetched to the client':<44} {week_rows:>7} rows in {fetch_seconds:7.2f} s")
    with db.transaction() as session:
        session.execute(text("UPDATE users SET active = (id <= 51) WHERE role = 'manager'"))
    _s, few, few_statements = weekly("weekly reports, 50 managers + director", counter, args.redis_url)
    with db.transaction() as session:
        session.execute(text("UPDATE users SET active = true WHERE role = 'manager'"))
    collections_figures()
    with db.transaction() as session:
        size = session.execute(text("SELECT max(octet_length(body::text)), count(*) FROM outbound_messages")).one()
    print(
        f"ratio to the scan: {seconds / scan_seconds:.1f}× (counted in the database), "
        f"{seconds / fetch_seconds:.1f}× (fetched); statements {statements} for {queued} reports, "
        f"{few_statements} for {few}; largest card {size[0]} bytes"
    )


if __name__ == "__main__":
    main()
