"""Benchmark: the Level 1 (executive) and Level 2 (team battle map) dashboards on PostgreSQL at scale.

    .venv/bin/python bench/dashboards.py [--database-url postgresql://postgres@127.0.0.1:5432/salesnav_bench_dash]
                                         [--rebuild] [--repeat 5]

The database (created if missing; a dedicated one, never a real one) is filled once with synthetic data:
1,000,000 touchpoints over the last 365 days (≈1.3 contacts present each), 100,000 opportunities with their
stage histories, collaboration tickets for the deals that reached 样品测试, 500 reps in 50 teams, 20,000
customers with 80,000 contacts. Later runs reuse it (`--rebuild` starts over).

Timed, in the same run, warm (the first call is reported separately): a plain `SELECT count(*)` of the
touchpoints (the baseline: it grows with the table); every Level 1 metric on its own; the whole Level 1
page's figures (`executive_figures`: index, its three parts, 8 weekly indexes, the verification metrics,
the funnel) computed, as the clock's job does every few minutes, and as kept (`executive_snapshot`, what the
page and the API serve); the whole Level 2 figures of one team (`team_battle_map`); then the pages over HTTP
as a signed-in director and manager get them (Level 1 kept and, for comparison, expired). Target: under
300 ms each.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from salesnav import clock, metrics
from salesnav.app import create_app
from salesnav.handlers.dashboards.battle_map import team_battle_map
from salesnav.handlers.dashboards.executive import executive_figures, executive_snapshot
from salesnav.handlers.stages import ensure_default_stages
from salesnav.jobs.dashboards import rebuild_metric_aggregates, refresh_executive
from salesnav.metrics import Scope, Window
from salesnav.models import Role, Stage, User, migrate
from salesnav.models import session as db

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/salesnav_bench_dash"
TOUCHPOINTS, OPPORTUNITIES, CUSTOMERS, CONTACTS_PER_CUSTOMER = 1_000_000, 100_000, 20_000, 4
TEAMS, REPS_PER_TEAM, DAYS = 50, 10, 365
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Shanghai
TZ = ZoneInfo("Asia/Shanghai")
EMOTIONS = ["positive"] * 36 + ["neutral"] * 52 + ["resistant"] * 12
ROLES = ["user", "influencer", "purchaser", "veto", None]
TYPES = ["wechat", "visit", "phone", "expo"]
OPEN_PATH = ["initial_contact", "needs_confirmed", "solution_demo", "sample_test", "negotiation", "contract_approval"]


def migration(filename: str) -> Any:
    path = Path(migrate.__file__).parent / "migrations" / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"migration_{filename[:4]}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def contact_roles_backfill() -> str:
    return str(migration("0009_touchpoint_contact_roles.py").BACKFILL)


def stage_entered_backfill() -> str:
    return str(migration("0010_stage_stays.py").BACKFILL["postgresql"])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def ensure_database(url: str) -> None:
    parsed = make_url(url)
    admin = parsed.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{parsed.database}"')


def loaded(url: str) -> bool:
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM touchpoints")).scalar())
    except Exception:
        return False
    finally:
        engine.dispose()


def copy(conn: psycopg.Connection[Any], table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
    n = 0
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def build(url: str) -> None:
    started = time.perf_counter()
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(url)
    db.configure(url)
    with db.transaction() as s:
        ensure_default_stages(s)
        stages = {st.code: st.id for st in s.scalars(select(Stage))}
    rng = random.Random(20261126)
    raw = make_url(url).render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(raw) as conn:
        conn.execute("SET session_replication_role = replica")  # bulk load: FKs checked by construction
        now = NOW
        created = now - timedelta(days=DAYS + 30)
        copy(
            conn,
            "departments",
            ["id", "name", "kind", "created_at", "updated_at"],
            [
                (1, "销售部", "sales", created, created),
                (2, "市场部", "marketing", created, created),
                (3, "交付部", "delivery", created, created),
            ],
        )
        users = [(1, "bench_dir", "总监", "director", 1, None)]
        managers, reps = [], []
        for t in range(TEAMS):
            mid = len(users) + 1
            users.append((mid, f"bench_mgr{t:02d}", f"主管{t:02d}", "manager", 1, 1))
            managers.append(mid)
            for r in range(REPS_PER_TEAM):
                rid = len(users) + 1
                users.append((rid, f"bench_rep{t:02d}{r}", f"销售{t:02d}{r}", "rep", 1, mid))
                reps.append(rid)
        users.append((len(users) + 1, "bench_mkt", "市场负责人", "dept_head", 2, None))
        users.append((len(users) + 1, "bench_dlv", "交付负责人", "dept_head", 3, None))
        copy(
            conn,
            "users",
            ["id", "wecom_userid", "name", "role", "department_id", "manager_id", "active", "created_at", "updated_at"],
            [(*u, True, created, created) for u in users],
        )
        mkt, dlv = len(users) - 1, len(users)

        owner = {c: rng.choice(reps) for c in range(1, CUSTOMERS + 1)}
        grades = ["三甲", "三乙", "二甲", None]
        copy(
            conn,
            "customers",
            ["id", "name", "kind", "grade", "owner_id", "health", "tags", "created_at", "updated_at"],
            (
                (c, f"医院{c}", "hospital", rng.choice(grades), owner[c], "green", "[]", created, created)
                for c in range(1, CUSTOMERS + 1)
            ),
        )
        contacts = {
            c: list(range((c - 1) * CONTACTS_PER_CUSTOMER + 1, c * CONTACTS_PER_CUSTOMER + 1))
            for c in range(1, CUSTOMERS + 1)
        }
        copy(
            conn,
            "contacts",
            ["id", "customer_id", "name", "decision_role", "created_at", "updated_at"],
            ((k, c, f"联系人{k}", rng.choice(ROLES), created, created) for c, ks in contacts.items() for k in ks),
        )

        # Opportunities: a start day, a path through the stages, an outcome; touchpoints are placed after.
        opps: list[dict[str, Any]] = []
        by_customer: dict[int, list[int]] = {}
        for o in range(1, OPPORTUNITIES + 1):
            c = rng.randint(1, CUSTOMERS)
            start = now - timedelta(days=rng.uniform(0, DAYS), hours=rng.uniform(0, 24))
            depth = rng.choices(range(1, 7), weights=[30, 22, 18, 14, 9, 7])[0]
            times, t = [start], start
            for _ in range(depth - 1):
                t += timedelta(days=rng.uniform(2, 20))
                times.append(t)
            outcome = "open"
            end = times[-1] + timedelta(days=rng.uniform(2, 20))
            if end < now and rng.random() < 0.75:
                outcome = "won" if rng.random() < 0.35 else "lost"
            times = [x for x in times if x < now] or [start]
            opps.append(
                {
                    "id": o,
                    "customer": c,
                    "owner": owner[c],
                    "times": times,
                    "outcome": outcome,
                    "closed": end if outcome != "open" else None,
                    "product": rng.choice(["CT球管", "超声", "监护仪", "DR"]),
                    "amount": rng.randint(5, 300) * 1_000_000,
                }
            )
            by_customer.setdefault(c, []).append(o)

        tp_contacts: list[tuple[int, int]] = []
        last_tp: dict[int, int] = {}
        last_follow: dict[int, datetime] = {}

        def touchpoints() -> Iterable[tuple[Any, ...]]:
            for tp in range(1, TOUCHPOINTS + 1):
                c = rng.randint(1, CUSTOMERS)
                at = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
                opp = None
                if c in by_customer and rng.random() < 0.6:
                    opp = rng.choice(by_customer[c])
                    last_tp[opp] = tp
                    if at > last_follow.get(opp, datetime.min.replace(tzinfo=UTC)):
                        last_follow[opp] = at
                effective = rng.random() < 0.55
                for k in rng.sample(contacts[c], rng.choice([0, 1, 1, 1, 2, 2])):
                    tp_contacts.append((tp, k))
                opened = at - timedelta(seconds=rng.uniform(30, 600))
                yield (
                    tp,
                    c,
                    owner[c],
                    opp,
                    rng.choice(TYPES),
                    rng.choice(EMOTIONS),
                    "拜访",
                    "发送报价" if effective else None,
                    at + timedelta(days=2) if effective else None,
                    at,
                    "api",
                    opened,
                    at,
                    "[]",
                    "[]",
                    at,
                    at,
                )

        copy(
            conn,
            "touchpoints",
            [
                "id",
                "customer_id",
                "rep_id",
                "opportunity_id",
                "type",
                "emotion",
                "summary",
                "next_action",
                "next_action_due",
                "occurred_at",
                "source",
                "form_opened_at",
                "submitted_at",
                "attachments",
                "guessed_fields",
                "created_at",
                "updated_at",
            ],
            touchpoints(),
        )
        copy(conn, "touchpoint_contacts", ["touchpoint_id", "contact_id"], iter(set(tp_contacts)))
        # The bulk load runs with triggers off (replica role): fill touchpoints.contact_roles as migration 0009 does.
        # Statistics first: on just-copied tables the planner guesses them empty and the backfill's correlated
        # lookups degrade to scans per row (hours instead of seconds).
        conn.execute("ANALYZE touchpoints, touchpoint_contacts, contacts")
        conn.execute(contact_roles_backfill())

        transitions: list[tuple[Any, ...]] = []
        tickets: list[tuple[Any, ...]] = []
        parts: list[tuple[Any, ...]] = []
        rows = []
        for o in opps:
            path = OPEN_PATH[: len(o["times"])]
            prev = None
            for code, at in zip(path, o["times"], strict=False):
                complete = rng.random() < 0.7 or prev is None
                transitions.append(
                    (
                        len(transitions) + 1,
                        o["id"],
                        stages[prev] if prev else None,
                        stages[code],
                        o["owner"],
                        last_tp.get(o["id"], 1),
                        at,
                        complete,
                        None if complete else "客户催得急",
                    )
                )
                if code == "sample_test":
                    tid = len(tickets) + 1
                    tickets.append((tid, o["id"], o["owner"], "商机进入样品测试", "open", at, at, at))
                    for dept, head in ((2, mkt), (3, dlv)):
                        hours = rng.expovariate(1 / 30)
                        answered = at + timedelta(hours=hours)
                        due = at + timedelta(hours=24)
                        parts.append(
                            (
                                len(parts) + 1,
                                tid,
                                dept,
                                "提供资料",
                                "closed",
                                24,
                                due,
                                answered,
                                answered if rng.random() < 0.8 else None,
                                answered if answered < now else None,
                                head,
                                "[]",
                                at,
                                at,
                            )
                        )
                prev = code
            stage = path[-1] if o["outcome"] == "open" else o["outcome"]
            if o["outcome"] != "open":
                transitions.append(
                    (
                        len(transitions) + 1,
                        o["id"],
                        stages[path[-1]],
                        stages[stage],
                        o["owner"],
                        last_tp.get(o["id"], 1),
                        o["closed"],
                        True,
                        None,
                    )
                )
            rows.append(
                (
                    o["id"],
                    o["customer"],
                    o["owner"],
                    f"商机{o['id']}",
                    o["product"],
                    o["amount"],
                    stages[stage],
                    o["outcome"],
                    last_tp.get(o["id"], 1),
                    last_follow.get(o["id"], o["times"][0]),
                    o["times"][-1],
                    o["closed"],
                    False,
                    o["times"][0],
                    o["times"][0],
                )
            )
        copy(
            conn,
            "opportunities",
            [
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
                "closed_at",
                "approval_frozen",
                "created_at",
                "updated_at",
            ],
            rows,
        )
        copy(
            conn,
            "stage_transitions",
            [
                "id",
                "opportunity_id",
                "from_stage_id",
                "to_stage_id",
                "actor_id",
                "touchpoint_id",
                "occurred_at",
                "checklist_complete",
                "override_reason",
            ],
            transitions,
        )
        # Triggers are off here too: fill stage_transitions.from_stage_entered_at as migration 0010 does.
        conn.execute("ANALYZE stage_transitions")
        conn.execute(stage_entered_backfill())
        copy(
            conn,
            "collaboration_tickets",
            ["id", "opportunity_id", "opened_by_id", "reason", "status", "opened_at", "created_at", "updated_at"],
            tickets,
        )
        copy(
            conn,
            "ticket_parts",
            [
                "id",
                "ticket_id",
                "department_id",
                "request",
                "status",
                "sla_hours",
                "due_at",
                "first_response_at",
                "first_valid_response_at",
                "closed_at",
                "responder_id",
                "attachment_ids",
                "created_at",
                "updated_at",
            ],
            parts,
        )
        for table in (
            "departments",
            "users",
            "customers",
            "contacts",
            "touchpoints",
            "opportunities",
            "stage_transitions",
            "collaboration_tickets",
            "ticket_parts",
        ):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    print(
        f"built in {time.perf_counter() - started:.0f} s: {TOUCHPOINTS:,} touchpoints, {len(tp_contacts):,} "
        f"contacts present, {OPPORTUNITIES:,} opportunities, {len(transitions):,} stage changes, "
        f"{len(parts):,} ticket parts"
    )


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(first call, median of the next `repeat`) in seconds."""
    started = time.perf_counter()
    fn()
    first = time.perf_counter() - started
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return first, statistics.median(runs)


def measure(repeat: int) -> None:
    clock.use(clock.FrozenClock(NOW))
    with db.transaction() as s:
        manager = s.scalars(select(User).where(User.role == Role.MANAGER).order_by(User.wecom_userid)).first()
        assert manager is not None
        company = Scope.company(s)
        month = Window.last_days(30, NOW)
        cases: list[tuple[str, Callable[[], Any]]] = [
            (
                "baseline: SELECT count(*) FROM touchpoints",
                lambda: s.execute(text("SELECT count(*) FROM touchpoints")).scalar(),
            ),
            ("touchpoint_quality (30 d)", lambda: metrics.touchpoint_quality(s, month, company)),
            ("process_compliance (30 d)", lambda: metrics.process_compliance(s, month, company)),
            ("collaboration_penetration (30 d)", lambda: metrics.collaboration_penetration(s, month, company)),
            (
                "effective_touchpoints_per_rep_week",
                lambda: metrics.effective_touchpoints_per_rep_week(s, month, company),
            ),
            ("stage_advancement_deviation", lambda: metrics.stage_advancement_deviation(s, month, company)),
            ("first_response_compliance", lambda: metrics.first_response_compliance(s, month, company)),
            ("conversion_funnel / lead_conversion", lambda: metrics.conversion_funnel(s, month, company)),
            ("LEVEL 1 executive_figures (from the aggregates)", lambda: executive_figures(s, NOW, TZ)),
            ("LEVEL 1 executive_snapshot (what readers get)", lambda: executive_snapshot(s, NOW, TZ)),
            ("LEVEL 2 team_battle_map (one team, this week)", lambda: team_battle_map(s, manager, NOW.date(), NOW, TZ)),
        ]
        refresh_executive(NOW.isoformat())  # the pipeline forecast's snapshot exists
        baseline = None
        print(f"{'':52s} {'first':>11s} {'median':>11s}  × count(*)")
        for name, fn in cases:
            first, median = timed(fn, repeat)
            baseline = baseline or median
            print(f"{name:52s} {ms(first)} {ms(median)}  {median / baseline:6.1f}")
        battle = team_battle_map(s, manager, NOW.date(), NOW, TZ)
        print(
            f"team map: {len(battle.reps)} reps, {sum(len(r.rows) for r in battle.reps)} bars rows, "
            f"red blocks {battle.red_counts}"
        )
        manager_userid = manager.wecom_userid
    refreshed_at = NOW + timedelta(minutes=6)  # past half of dashboard.refresh_minutes (10)
    started = time.perf_counter()
    clock_refresh = refresh_executive(refreshed_at.isoformat())
    print(f"clock job refresh_executive: forecast recomputed {clock_refresh} in {ms(time.perf_counter() - started)}")
    clock.use(clock.FrozenClock(refreshed_at + timedelta(minutes=1)))  # a director opens the page a minute later
    measure_pages(repeat, manager_userid)


def measure_pages(repeat: int, manager_userid: str) -> None:
    """The pages as a signed-in user gets them over HTTP (Flask's test client: routing, the session, the
    queries, the template), Level 1 from its kept snapshot and, for comparison, with the snapshot expired."""
    app = create_app()

    def client_of(userid: str) -> Any:
        client = app.test_client()
        with client.session_transaction() as cookie:
            cookie.update(uid=userid, exp=(NOW + timedelta(hours=8)).timestamp(), csrf="bench")
        return client

    director, manager = client_of("bench_dir"), client_of(manager_userid)

    def get(client: Any, path: str) -> None:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)

    served = {}
    for name, fn in [
        ("PAGE /dashboards/exec (Level 1)", lambda: get(director, "/dashboards/exec")),
        ("PAGE /dashboards/team (Level 2, one team)", lambda: get(manager, "/dashboards/team")),
    ]:
        first, median = timed(fn, repeat)
        served[name] = median
        print(f"{name:52s} {ms(first)} {ms(median)}")
    level1, level2 = (
        served["PAGE /dashboards/exec (Level 1)"],
        served["PAGE /dashboards/team (Level 2, one team)"],
    )
    verdict = "met" if max(level1, level2) < 0.3 else "NOT met"
    print(f"target: pages under 300 ms -> {verdict} (Level 1 {level1 * 1000:.0f} ms, Level 2 {level2 * 1000:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url  # the pages' app reads its settings from the environment
    ensure_database(args.database_url)
    if args.rebuild or not loaded(args.database_url):
        build(args.database_url)
    else:
        migrate.upgrade(args.database_url)  # a new index migration applies to the kept data
    db.configure(args.database_url)
    started = time.perf_counter()
    cells = rebuild_metric_aggregates(NOW.isoformat())
    print(f"aggregates rebuilt: {cells:,} day x rep cells in {time.perf_counter() - started:.1f} s")
    measure(args.repeat)


if __name__ == "__main__":
    main()
