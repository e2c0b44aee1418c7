"""Excel import of 10,000 rows with remarks, against merely reading the same file with python-calamine.

    python bench/excel_import.py [--rows 10000] [--database-url postgresql://...] [--profile]

For 1,000 rows and for --rows (default 10,000), each in the same run: the read time (calamine, all cells),
the preview time (start_import: read + detect + parse + match, keeping the file and its parsed plan), the
commit time (confirm + the job writing every customer, contact, touchpoint and deal through the bulk
handlers), the total, its ratio to the read, rows/s, and the SQL statements issued through SQLAlchemy (a
before_cursor_execute counter; on PostgreSQL the bulk handlers' COPYs, one per table and batch, do not pass
through it). Targets: 10,000 rows under 10 s; on PostgreSQL at least 3,000 rows/s end to end (preview + commit).
In the same run, a baseline: the same number of records written by raw bulk inserts (`raw_insert`), rolled back —
the floor any import on this machine and database, at this moment, stands on.
The customers are matched across the whole company: each run's names and mobiles are its own, so that a run
never meets an earlier run's customers. The machine's load moves the figures: the openpyxl read printed last
is a yardstick of how busy it was.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl
from python_calamine import CalamineWorkbook
from sqlalchemy import event, text

from salesnav import clock
from salesnav.adapters import register_adapters
from salesnav.handlers.excel_import import commit
from salesnav.jobs import queue as jobs_queue
from salesnav.jobs.runner import run_job
from salesnav.models import ExcelImport, migrate
from salesnav.models import session as db

REMARKS = [
    "2月{d}日 拜访主任，介绍产品；2月{e}日 电话沟通，客户要求报价{n}万",
    "上周三 微信发资料，对方很感兴趣",
    "2026.2.{d} 面谈，样机试用中，反馈积极，预算{n}万",
    "电话回访，客户拒绝，不满价格",
]


def build(rows: int, run: int = 0) -> bytes:
    """`rows` customers of their own: names and mobiles differ from every other run's, since the matcher
    looks across the whole company (another rep's customer of the same name would not be filed again)."""
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("客户")
    ws.append(["客户名称", "联系人", "职务", "手机", "拜访日期", "产品线", "备注"])
    for i in range(rows):
        d = 1 + i % 20
        ws.append(
            [
                f"{_tag(run)}医院{i:05d}",
                f"联系人{i}",
                "设备科",
                15000000000.0 + run % 300_000 * 10_000 + i,
                f"2026/2/{d}",
                "超声",
                REMARKS[i % 4].format(d=d, e=d + 1, n=10 + i % 50),
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_HANZI = [chr(c) for c in range(0x4E00, 0x4E00 + 2500)]  # as many characters as real customers' names draw on


def _tag(run: int) -> str:
    """Eight characters naming the run, drawn at random: the customers of two runs look nothing alike to the
    fuzzy matcher (which compares across the whole company)."""
    return "".join(random.Random(run).choices(_HANZI, k=8))


@dataclass
class Run:
    rows: int
    kb: float
    cells: int
    read_s: float
    preview_s: float
    commit_s: float
    rules_s: float
    statements: int  # SQL statements of the import (preview + commit + write), rule jobs excluded
    rule_statements: int
    status: str
    counts: dict[str, int]
    planned: int
    cpu_s: float  # this process's CPU time over preview + commit (the database's is not in it)

    @property
    def total_s(self) -> float:
        return self.preview_s + self.commit_s


def run(rows: int, tmp: Path, tz: ZoneInfo, profile: bool = False) -> Run:
    from salesnav.models import Role, User

    with db.transaction() as s:
        rep = User(wecom_userid=f"bench{time.time_ns()}", name="李销售", role=Role.REP)
        s.add(rep)
    data = build(rows, next(RUNS))

    t0 = time.perf_counter()
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    cells = sum(len(r) for r in book.get_sheet_by_index(0).iter_rows())
    read_s = time.perf_counter() - t0

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    STATEMENTS.clear()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    with db.transaction() as s:  # what the user waits for before confirming: read, detect, match, keep the file
        owner = s.get(User, rep.id)
        imp, plan = commit.start_import(s, owner, owner=owner, data=data, filename="bench.xlsx", root=tmp, tz=tz)
        imp_id, planned = imp.id, plan.summary()["touchpoints"]
    preview_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    with db.transaction() as s:
        commit.commit_import(s, s.get(User, rep.id), import_id=imp_id, root=tmp, tz=tz)
    JOBS.run(lambda call: call.path.endswith(":run_import"))  # the import job, on this thread, as a worker runs it
    commit_s = time.perf_counter() - t0
    cpu_s = time.process_time() - cpu0
    statements = len(STATEMENTS)
    if profiler is not None:
        profiler.disable()
        import pstats

        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(
            int(os.environ.get("BENCH_TOP", "40"))
        )
    with db.transaction() as s:
        done = s.get(ExcelImport, imp_id)
        counts, status = done.counts, done.status.value
    STATEMENTS.clear()
    t0 = time.perf_counter()
    JOBS.run(lambda call: True)  # then the rule jobs the new touchpoints queued
    rules_s = time.perf_counter() - t0
    return Run(
        rows,
        len(data) / 1024,
        cells,
        read_s,
        preview_s,
        commit_s,
        rules_s,
        statements,
        len(STATEMENTS),
        status,
        counts,
        planned,
        cpu_s,
    )


def raw_insert(rows: int) -> float:
    """The yardstick of this machine and database at this moment: seconds to write the rows the import of
    `rows` rows writes (a customer, a contact, 1.25 touchpoints and half a deal each, the deal's first stage
    row) as plain bulk inserts — COPY on PostgreSQL, executemany on SQLite, ids taken up front — with none of
    the import's reading, matching, checks, events, audit or progress. Rolled back: it leaves nothing."""
    from salesnav.handlers.stages import INITIAL, stage_by_code
    from salesnav.models import (
        CaptureSource,
        Contact,
        Customer,
        CustomerKind,
        Emotion,
        Opportunity,
        OpportunityStatus,
        Role,
        StageTransition,
        Touchpoint,
        TouchpointType,
        User,
        bulk,
    )

    s = db.new_session()
    try:
        rep = User(wecom_userid=f"raw{time.time_ns()}", name="基准", role=Role.REP)
        s.add(rep)
        s.flush()
        stage_id = stage_by_code(s, INITIAL).id
        now = clock.now()
        t0 = time.perf_counter()
        customers = bulk.insert_new(
            s,
            Customer.__table__,
            [{"name": f"基准医院{i:05d}", "kind": CustomerKind.HOSPITAL, "owner_id": rep.id} for i in range(rows)],
        )
        bulk.insert_new(
            s,
            Contact.__table__,
            [
                {"customer_id": c, "name": f"联系人{i}", "title": "设备科", "phone": f"+8615{i:09d}"}
                for i, c in enumerate(customers)
            ],
        )
        spots = [customers[i] for i in range(rows)] + [customers[i] for i in range(0, rows, 4)]
        touchpoints = bulk.insert_new(
            s,
            Touchpoint.__table__,
            [
                {
                    "customer_id": c,
                    "rep_id": rep.id,
                    "type": TouchpointType.PHONE,
                    "emotion": Emotion.NEUTRAL,
                    "summary": REMARKS[i % 4],
                    "occurred_at": now,
                    "submitted_at": now,
                    "source": CaptureSource.EXCEL_IMPORT,
                }
                for i, c in enumerate(spots)
            ],
        )
        deals = [(customers[i], touchpoints[i]) for i in range(0, rows, 2)]
        opportunities = bulk.insert_new(
            s,
            Opportunity.__table__,
            [
                {
                    "customer_id": c,
                    "owner_id": rep.id,
                    "title": "基准商机",
                    "product_line": "超声",
                    "expected_amount_fen": 100_000_00,
                    "stage_id": stage_id,
                    "status": OpportunityStatus.OPEN,
                    "last_touchpoint_id": t,
                    "last_follow_up_at": now,
                    "stage_entered_at": now,
                }
                for c, t in deals
            ],
        )
        bulk.insert_new(
            s,
            StageTransition.__table__,
            [
                {
                    "opportunity_id": o,
                    "from_stage_id": None,
                    "to_stage_id": stage_id,
                    "actor_id": rep.id,
                    "touchpoint_id": t,
                    "occurred_at": now,
                    "checklist_complete": True,
                }
                for o, (_, t) in zip(opportunities, deals, strict=True)
            ],
        )
        s.flush()
        return time.perf_counter() - t0
    finally:
        s.rollback()
        s.close()


def openpyxl_read(data: bytes) -> float:
    """Seconds for openpyxl, the other reader the house rules name, to read every cell (the best of two)."""
    times = []
    for _ in range(2):
        t0 = time.perf_counter()
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sum(len(row) for row in book.worksheets[0].iter_rows(values_only=True))
        times.append(time.perf_counter() - t0)
    return min(times)


STATEMENTS: list[str] = []
RUNS = itertools.count(time.time_ns() // 10**9 % 100_000 * 10)  # a block of names and mobiles per run


class Jobs:
    """A job backend that keeps the queued jobs and runs them on this thread when asked (through the same
    runner as a worker): the watch stops when the import job returns, and rule jobs are timed apart."""

    def __init__(self) -> None:
        self.queued: list[jobs_queue.JobCall] = []

    def submit(self, call: jobs_queue.JobCall) -> None:
        self.queued.append(call)

    def run(self, which: Callable[[jobs_queue.JobCall], bool]) -> None:
        while chosen := [c for c in self.queued if which(c)]:
            self.queued = [c for c in self.queued if not which(c)]
            for call in chosen:
                run_job(call.path, list(call.args), call.key)

    def drain(self) -> None:
        self.run(lambda call: True)


JOBS = Jobs()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the import of --rows after the warm-up (top BENCH_TOP=40 by BENCH_SORT=cumulative)",
    )
    args = parser.parse_args()
    register_adapters()  # as every process does at start: the ports' channels (salesnav/adapters.py)
    tmp = Path(tempfile.mkdtemp(prefix="excel-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    migrate.upgrade(url)
    engine = db.configure(url)
    event.listen(engine, "before_cursor_execute", lambda *a: STATEMENTS.append(a[2]))
    jobs_queue._backend = JOBS  # type: ignore[assignment]
    clock.use(clock.FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC)))
    from salesnav.handlers.stages import ensure_default_stages

    with db.transaction() as s:
        ensure_default_stages(s)
    tz = ZoneInfo("Asia/Shanghai")
    run(200, tmp, tz)  # warm-up: imports, caches, connection pool
    if url.startswith("postgresql"):
        # Fresh tables carry empty-table statistics; production has autovacuum's (the triggers of migration
        # 0012 and the handlers' queries are planned with them).
        with db.transaction() as s:
            s.execute(text("ANALYZE"))
    if args.profile:
        run(args.rows, tmp, tz, profile=True)
        return
    runs = [run(1_000, tmp, tz)] + ([run(args.rows, tmp, tz)] if args.rows != 1_000 else [])
    print(f"database {url.split(':')[0]}")
    print(
        f"{'rows':>7} {'file':>7} {'read':>8} {'preview':>8} {'commit':>8} {'total':>8} {'xread':>7} "
        f"{'rows/s':>8} {'cpu':>7} {'SQL':>7} {'SQL/row':>7} {'rules':>7} {'rulesSQL':>8}  result"
    )
    for r in runs:
        print(
            f"{r.rows:>7} {r.kb:>5.0f}KB {r.read_s:>7.3f}s {r.preview_s:>7.3f}s {r.commit_s:>7.3f}s "
            f"{r.total_s:>7.3f}s {r.total_s / r.read_s:>6.1f}x {r.rows / r.total_s:>8.0f} {r.cpu_s:>6.2f}s "
            f"{r.statements:>7} "
            f"{r.statements / r.rows:>7.2f} {r.rules_s:>6.2f}s {r.rule_statements:>8}  {r.status} {r.counts}"
        )
    last = runs[-1]
    raw_s = min(raw_insert(last.rows) for _ in range(2))
    print(
        f"baseline (same run): a raw bulk insert of the {last.rows} rows' records (customers, contacts, "
        f"touchpoints, deals, first stage rows; no reading, matching, checks, events or audit) takes {raw_s:.3f} s "
        f"= {last.rows / raw_s:.0f} rows/s; the import end to end takes {last.total_s / raw_s:.1f}x that "
        f"(its own CPU time {last.cpu_s:.2f} s; the rest waits on the database or the machine)"
    )
    openpyxl_s = openpyxl_read(build(last.rows, next(RUNS)))
    print(
        f"for scale: openpyxl (read-only, values) reads the {last.rows}-row file in {openpyxl_s:.3f} s, "
        f"{openpyxl_s / last.read_s:.0f}x calamine; the import takes {last.total_s / openpyxl_s:.1f}x that"
    )
    print(
        "read = calamine reading every cell; preview = start_import (read, detect, parse, match, keep the file "
        "and its plan); commit = confirm + the job writing every record through the bulk handlers; total = "
        "preview + commit; cpu = this process's CPU time in them (the database's not counted); "
        "SQL = statements through SQLAlchemy (PostgreSQL: COPYs not counted); rules = the "
        "batched rule jobs the new touchpoints trigger, run afterwards"
    )
    rate = last.rows / last.total_s
    if url.startswith("postgresql"):
        print(
            f"target ({last.rows} rows, PostgreSQL): >= 3000 rows/s -> "
            f"{'met' if rate >= 3000 else 'NOT met'} ({rate:.0f})"
        )
    print(
        f"target ({last.rows} rows): total < 10 s -> {'met' if last.total_s < 10 else 'NOT met'}; "
        f"within 5x the read -> {'met' if last.total_s <= 5 * last.read_s else 'NOT met'} "
        f"({last.total_s / last.read_s:.1f}x)"
    )


if __name__ == "__main__":
    main()
