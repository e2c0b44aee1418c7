"""Benchmark: how fast WeCom callbacks are acknowledged, against a bare route of the same app.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/salesnav_h1 REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/callback_ack.py [--rate 50] [--seconds 20] [--workers 2] [--threads 4]

WeCom waits 5 s for an answer and retries three times, and our rule is "stored before
acknowledged": the answer comes after the INSERT of the raw message and the enqueue of its
processing, nothing more. Target: p99 under 50 ms, and within 3x the bare route.

How: the app runs in gunicorn (gthread workers, as in the Procfile) on loopback, on PostgreSQL +
Redis (rq). Two open-loop streams at the same fixed rate run at the same time, so both see the
same machine: encrypted text callbacks, each with a distinct MsgId, signed beforehand (the
client's crypto is not timed), to `/wecom/callback`; and GETs of `/_bench/bare`, a route added to
the same app that returns a constant. Latency is measured from each request's scheduled send time
(so a stalled server cannot hide queued requests), the first second is warm-up. After the run,
every acknowledged MsgId must be a stored row, and the rq "inbound" queue must hold one job per row.

The database's public schema is dropped and rebuilt and the Redis db flushed: use the dedicated
ones (defaults: database salesnav_h1, Redis db 8), never a real one.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/salesnav_h1"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
BARE_PATH = "/_bench/bare"
WARMUP_S = 1.0


def make_app() -> Any:
    """gunicorn's app factory: the real app, plus one trivial route to compare against."""
    sys.path.insert(0, str(ROOT))
    from salesnav.app import create_app

    app = create_app()
    app.add_url_rule(BARE_PATH, "bench_bare", lambda: "ok")
    return app


def bench_env(database_url: str, redis_url: str, data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WECOM_")}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SALESNAV_DATA_DIR=data_dir,
        WECOM_EMULATOR="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def reset_stores(database_url: str, redis_url: str) -> None:
    from redis import Redis
    from sqlalchemy import text

    from salesnav.models import migrate
    from salesnav.models import session as db

    engine = db.make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(database_url)
    Redis.from_url(redis_url).flushdb()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--log-level",
        "warning",
        "bench.callback_ack:make_app()",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            # Every worker must answer before the run starts (each one loads the app after the fork).
            if all(requests.get(f"http://127.0.0.1:{port}{BARE_PATH}", timeout=30).ok for _ in range(4 * workers)):
                return server
        except requests.RequestException:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start within 60 s")


@dataclasses.dataclass
class Shot:
    stream: str
    scheduled: float
    latency: float  # from the scheduled send time to the full response
    status: int


def run_streams(base_url: str, signed: list[Any], rate: float, seconds: float) -> list[Shot]:
    """Both streams open-loop at `rate` each, interleaved half a period apart."""
    period = 1.0 / rate
    local = threading.local()

    def http() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def fire(stream: str, scheduled: float, item: Any) -> Shot:
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        if stream == "callback":
            response = http().post(
                base_url + "/wecom/callback",
                params=item.params,
                data=item.body.encode(),
                headers={"Content-Type": "text/xml"},
                timeout=10,
            )
        else:
            response = http().get(base_url + BARE_PATH, timeout=10)
        _ = response.content
        return Shot(stream, scheduled, time.perf_counter() - scheduled, response.status_code)

    count = int(rate * seconds)
    start = time.perf_counter() + 0.5
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = []
        for i in range(count):
            at = start + i * period
            futures.append(pool.submit(fire, "callback", at, signed[i]))
            futures.append(pool.submit(fire, "bare", at + period / 2, None))
        shots = [f.result() for f in futures]
    return [s for s in shots if s.scheduled - start >= WARMUP_S]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(shots: list[Shot]) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for stream in ("callback", "bare"):
        mine = [s for s in shots if s.stream == stream]
        latencies = [s.latency * 1000 for s in mine]
        errors = sum(1 for s in mine if s.status != 200)
        figures[stream] = {
            "n": len(mine),
            "errors": errors,
            "p50": percentile(latencies, 0.50),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies),
            "mean": statistics.fmean(latencies),
        }
        f = figures[stream]
        print(
            f"  {stream:8s} n={f['n']:5.0f} errors={f['errors']:.0f}  p50={f['p50']:6.2f} ms  "
            f"p99={f['p99']:6.2f} ms  mean={f['mean']:6.2f} ms  max={f['max']:7.2f} ms"
        )
    return figures


def check_stored(database_url: str, redis_url: str, sent_msg_ids: list[int]) -> None:
    """Every acknowledged callback is a stored row with one queued processing job."""
    from redis import Redis
    from rq import Queue
    from sqlalchemy import select

    from salesnav.models import InboundMessage
    from salesnav.models import session as db

    db.configure(database_url)
    with db.transaction() as session:
        keys = set(session.scalars(select(InboundMessage.dedupe_key)))
    rows = len(keys)
    missing = [m for m in sent_msg_ids if not any(str(m) in k for k in keys)] if rows < len(sent_msg_ids) else []
    queued = len(Queue("inbound", connection=Redis.from_url(redis_url)))
    print(f"  stored rows: {rows} for {len(sent_msg_ids)} callbacks sent; queued inbound jobs: {queued}")
    if missing or rows != len(sent_msg_ids) or queued != rows:
        raise SystemExit(f"FAIL: acknowledged but not stored/queued ({len(missing)} missing)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second, per stream")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if not 1 <= args.rate <= 500 or not 1 <= args.seconds <= 120:
        raise SystemExit("--rate must be 1..500 and --seconds 1..120 (a bounded run)")

    database_url = os.environ.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL", "").strip() or DEFAULT_REDIS_URL
    if not database_url.startswith("postgresql"):
        raise SystemExit("this benchmark is for PostgreSQL + Redis (set DATABASE_URL=postgresql://...)")

    sys.path.insert(0, str(ROOT))
    from salesnav.bot.emulator import callbacks
    from salesnav.settings import Settings

    with tempfile.TemporaryDirectory(prefix="salesnav-bench-") as data_dir:
        env = bench_env(database_url, redis_url, data_dir)
        settings = Settings.from_env(env)
        reset_stores(database_url, redis_url)
        count = int(args.rate * args.seconds)
        msg_ids = [9_000_000_000 + i for i in range(count)]
        signed = [
            callbacks.sign(settings, callbacks.text_xml(settings, "rep01", f"触点 协和 面访 积极 第{i}条", msg_id=m))
            for i, m in enumerate(msg_ids)
        ]
        port = free_port()
        server = start_server(env, port, args.workers, args.threads)
        try:
            print(
                f"callback_ack: gunicorn gthread {args.workers}x{args.threads} on 127.0.0.1:{port}, PostgreSQL + "
                f"Redis (rq), {args.rate:g} req/s per stream for {args.seconds:g} s (first {WARMUP_S:g} s warm-up)"
            )
            shots = run_streams(f"http://127.0.0.1:{port}", signed, args.rate, args.seconds)
        finally:
            server.terminate()
            server.wait(timeout=15)
        figures = report(shots)
        check_stored(database_url, redis_url, msg_ids)
    cb, bare = figures["callback"], figures["bare"]
    ratio99, ratio50 = cb["p99"] / bare["p99"], cb["p50"] / bare["p50"]
    print(f"  ratio callback/bare: p50 {ratio50:.2f}x, p99 {ratio99:.2f}x")
    ok = cb["p99"] < 50 and ratio99 <= 3 and cb["errors"] == 0
    print(f"  target (p99 < 50 ms and <= 3x bare): {'MET' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
