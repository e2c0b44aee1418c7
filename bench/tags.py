"""Benchmark: the tags and lifecycle recompute (salesnav/jobs/customer_tags.py) at two company sizes.

    .venv/bin/python bench/tags.py [--database-url postgresql://postgres@127.0.0.1:5432/salesnav_bench]
        [--sizes 10000,100000]

For each size N: N customers (half of grade 三甲), then a rule tag 三甲 saved as an admin would — its queued full
recompute applies the tag to N/2 customers (timed); a full run with nothing to change (the daily run); and the
5-minute incremental run after 10 customers downloaded a material (a second rule tag, 高意向, follows). The
incremental run should cost the same at both sizes; the full runs grow with N.

The database is dropped and rebuilt (PostgreSQL) or a fresh SQLite file is used: never point it at a real one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text, update

from salesnav import clock
from salesnav.handlers import tags
from salesnav.handlers.customer_events import record_customer_event
from salesnav.jobs import customer_tags
from salesnav.jobs import queue as jobs_queue
from salesnav.models import Customer, Role, TagKind, User, migrate
from salesnav.models import session as db

GRADE = {"conditions": [{"type": "field", "field": "grade", "op": "eq", "value": "三甲"}]}
DOWNLOADED = {"conditions": [{"type": "event", "kinds": ["material.downloaded"], "within_days": 30}]}


def fresh(url: str) -> None:
    if url.startswith("postgresql"):
        engine = db.make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)
    db.configure(url)
    jobs_queue.configure("")


def seconds(started: float) -> str:
    return f"{time.perf_counter() - started:.2f} s"


def run(url: str, n: int) -> None:
    fresh(url)
    frozen = clock.FrozenClock(clock.now())
    previous = clock.use(frozen)
    try:
        with db.transaction() as s:
            admin = User(wecom_userid="bench-admin", name="管理员", role=Role.ADMIN)
            s.add(admin)
            s.flush()
            rows = [
                {
                    "name": f"测试医院{i}",
                    "kind": "hospital",
                    "grade": "三甲" if i % 2 else "二甲",
                    "tags": [],
                    "owner_id": admin.id,
                    "health": "green",
                    "created_at": frozen.now(),
                    "updated_at": frozen.now(),
                }
                for i in range(n)
            ]
            for start in range(0, n, 10_000):
                s.execute(Customer.__table__.insert(), rows[start : start + 10_000])
            admin_id = admin.id
        frozen.advance(timedelta(minutes=10))
        with db.transaction() as s:
            tags.save_definition(s, s.get(User, admin_id), label="三甲", kind=TagKind.RULE, rule=GRADE)
            tags.save_definition(s, s.get(User, admin_id), label="高意向", kind=TagKind.RULE, rule=DOWNLOADED)
            s.execute(update(Customer).values(updated_at=frozen.now() - timedelta(minutes=10)))
        started = time.perf_counter()
        jobs_queue.backend().drain()  # the full recompute the saves queued
        first = seconds(started)
        started = time.perf_counter()
        steady = customer_tags.recompute()
        full = seconds(started)
        frozen.advance(timedelta(minutes=10))
        with db.transaction() as s:
            for customer_id in range(1, 11):
                record_customer_event(s, customer_id=customer_id, kind="material.downloaded")
        frozen.advance(timedelta(minutes=5))
        started = time.perf_counter()
        incremental = customer_tags.refresh()
        print(
            f"N={n:>7,}: rule tag applied to {n // 2:,} customers (the save's queued recompute) {first}; "
            f"full run, nothing to change ({steady['changes']} changes) {full}; "
            f"5-min run after 10 downloads: {incremental['customers']} customers looked at, "
            f"{incremental['changes']} changes, {seconds(started)}"
        )
    finally:
        clock.use(previous)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    for n in (int(x) for x in args.sizes.split(",")):
        url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'tags-bench.sqlite3'}"
        run(url, n)


if __name__ == "__main__":
    main()
