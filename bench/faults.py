"""Benchmark: the production shape under faults — a Redis outage and a SIGKILL of each worker, under load.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/salesnav_faults .venv/bin/python bench/faults.py \\
        [--seconds 120] [--rate 4] [--outage-at 30] [--outage 60] [--redis-port 6390]

The Procfile's processes (gunicorn, `salesnav worker` for the quick queues, `salesnav worker` for media and
reports, `salesnav clock`) run on loopback against PostgreSQL and a Redis server of the benchmark's own
(`--redis-port`, started and stopped here, with its append-only file on as a production Redis has it; the
shared Redis is never touched). 16 reps send signed text callbacks — each a touchpoint carrying a number —
at `--rate` a second for `--seconds`; WeCom's retries are imitated (a callback not answered 200 is sent again,
up to 3 times). Meanwhile:

- at 10 s the quick worker is SIGKILLed, at 20 s the reports worker (each restarted 1 s later, as the process
  manager does);
- from `--outage-at` for `--outage` seconds the Redis server is down (stopped, then started again).

After the load the benchmark waits (at most 3 minutes) for the recovery sweep to bring everything through, then
prints, from the database and the WeCom emulator's record: callbacks sent / acknowledged / stored / processed,
lost (acknowledged, never processed or never answered), duplicated (a touchpoint or a reply twice), and the chat
reply latency (callback sent → reply delivered to WeCom) p50/p95 before, during and after the outage.
Targets: 0 lost, 0 duplicated, p95 ≤ 5 s outside the outage and back to that within 60 s after it.

The database's public schema is dropped and rebuilt: use a dedicated database, never a real one. Stops by
itself; everything it started is stopped on the way out.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REPS = 16  # WeCom caps one member at 30 messages a minute: 4/s over 16 reps is 15 a minute each
RETRIES = 3
DRAIN_LIMIT_S = 180


@dataclass
class Callback:
    n: int
    userid: str
    sent_at: float  # wall clock (time.time()), comparable with the emulator's received_at
    status: int = 0
    tries: int = 0
    acknowledged: bool = False


@dataclass
class Timeline:
    start: float = 0.0
    outage: tuple[float, float] = (0.0, 0.0)
    kills: list[tuple[str, float]] = field(default_factory=list)


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class RedisServer:
    def __init__(self, port: int, directory: Path) -> None:
        self.port, self.directory, self.proc = port, directory, None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        from redis import Redis

        for _ in range(100):
            try:
                Redis(port=self.port).ping()
                return
            except Exception:
                time.sleep(0.05)
        raise SystemExit(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def reset_database(database_url: str) -> None:
    from sqlalchemy import text

    from salesnav.models import migrate
    from salesnav.models import session as db

    engine = db.make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    migrate.upgrade(database_url)


def seed(database_url: str) -> list[str]:
    """A sales team of REPS reps, each with one customer (客户NN)."""
    sys.path.insert(0, str(ROOT))
    from salesnav.models import Role
    from salesnav.models import session as db
    from tests import factories as f

    db.configure(database_url)
    userids = []
    with db.transaction() as session:
        org = f.org(session)
        for i in range(REPS):
            rep = f.user(session, f"rb{i:02d}", Role.REP, org.sales, org.manager, name=f"压测销售{i:02d}")
            f.customer(session, rep, name=f"客户{i:02d}")
            userids.append(rep.wecom_userid)
    return userids


class Product:
    """The Procfile's processes; a killed worker is restarted as the process manager would."""

    def __init__(self, env: dict[str, str], port: int, logs: Path) -> None:
        self.env, self.port, self.logs = env, port, logs
        self.commands = procfile()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        words = self.commands[name].replace("$PORT", str(self.port)).split()
        words = [str(BIN / words[0]), *(w.strip('"') for w in words[1:])]
        out = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(words, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def send_load(base_url: str, settings: Any, userids: list[str], rate: float, seconds: float) -> list[Callback]:
    from salesnav.bot.emulator import callbacks

    local = threading.local()

    def http() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def fire(n: int, at: float) -> Callback:
        delay = at - time.time()
        if delay > 0:
            time.sleep(delay)
        userid = userids[n % len(userids)]
        cb = Callback(n, userid, time.time())
        xml = callbacks.text_xml(settings, userid, f"触点 客户{n % len(userids):02d} 面访 积极 纪要编号B{n:04d}")
        signed = callbacks.sign(settings, xml)  # WeCom retries with the very same body
        for attempt in range(1 + RETRIES):
            cb.tries = attempt + 1
            try:
                response = http().post(
                    base_url + "/wecom/callback",
                    params=signed.params,
                    data=signed.body.encode(),
                    headers={"Content-Type": "text/xml"},
                    timeout=5,  # WeCom waits 5 s
                )
                cb.status = response.status_code
                if response.status_code == 200:
                    cb.acknowledged = True
                    break
            except requests.RequestException:
                cb.status = -1
            time.sleep(1.0)
        return cb

    count = int(rate * seconds)
    start = time.time() + 0.2
    with ThreadPoolExecutor(max_workers=48) as pool:
        futures = [pool.submit(fire, n, start + n / rate) for n in range(count)]
        return [fut.result() for fut in futures]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def collect(database_url: str, emulator: Any) -> tuple[dict[str, Any], dict[int, list[float]], Counter[int]]:
    from sqlalchemy import select

    from salesnav.models import InboundMessage, InboundStatus, Touchpoint
    from salesnav.models import session as db

    db.configure(database_url)
    token = re.compile(r"B(\d{4})")
    with db.transaction() as session:
        rows = list(session.scalars(select(InboundMessage)))
        stored = {int(m.group(1)) for r in rows if (m := token.search(r.raw_xml))}
        processed = {
            int(m.group(1)) for r in rows if r.status is InboundStatus.PROCESSED and (m := token.search(r.raw_xml))
        }
        touchpoints = Counter(
            int(m.group(1)) for s in session.scalars(select(Touchpoint.summary)) if s and (m := token.search(s))
        )
    replies: dict[int, list[float]] = {}
    for message in emulator.sent():
        content = str((message.get("payload") or {}).get("content", ""))
        if (m := token.search(content)) and message["msgtype"] == "text":
            replies.setdefault(int(m.group(1)), []).append(datetime.fromisoformat(message["received_at"]).timestamp())
    return {"stored": stored, "processed": processed}, replies, touchpoints


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--rate", type=float, default=4)
    parser.add_argument("--outage-at", type=float, default=30)
    parser.add_argument("--outage", type=float, default=60)
    parser.add_argument("--redis-port", type=int, default=6390)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgresql"):
        raise SystemExit("DATABASE_URL must name a dedicated PostgreSQL database (its schema is rebuilt)")
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is needed (the benchmark runs its own)")
    if not port_free(args.redis_port):
        raise SystemExit(f"port {args.redis_port} is taken: pick another --redis-port (never the shared Redis)")
    sys.path.insert(0, str(ROOT))
    from salesnav.bot.emulator.remote import EmulatorRemote
    from salesnav.settings import Settings

    workdir = Path(tempfile.mkdtemp(prefix="salesnav-faults-"))
    redis = RedisServer(args.redis_port, workdir)
    redis.start()
    reset_database(database_url)
    userids = seed(database_url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "SECRET_KEY"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=f"redis://127.0.0.1:{args.redis_port}/0",
        PORT=str(port),
        SALESNAV_DATA_DIR=str(workdir / "var"),
        WECOM_API_BASE=f"http://127.0.0.1:{port}/_wecom",
        PYTHONUNBUFFERED="1",
    )
    settings = Settings.from_env(env)
    base_url = f"http://127.0.0.1:{port}"
    product = Product(env, port, workdir)
    timeline = Timeline()
    try:
        for name in ("web", "worker", "reports", "clock"):
            product.start(name)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(base_url + "/healthz", timeout=3).json().get("status") == "ok":
                    break
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.5)
        else:
            raise SystemExit(f"the processes did not come up healthy; logs in {workdir}")

        def faults() -> None:
            timeline.start = time.time()
            plan = [(10, "kill", "worker"), (20, "kill", "reports"), (args.outage_at, "redis-down", "")]
            plan.append((args.outage_at + args.outage, "redis-up", ""))
            for at, what, name in sorted(plan):
                time.sleep(max(0.0, timeline.start + at - time.time()))
                if what == "kill":
                    product.kill(name)
                    timeline.kills.append((name, time.time() - timeline.start))
                    time.sleep(1.0)
                    product.start(name)
                elif what == "redis-down":
                    redis.stop()
                    timeline.outage = (time.time(), 0.0)
                else:
                    redis.start()
                    timeline.outage = (timeline.outage[0], time.time())

        fault_thread = threading.Thread(target=faults, daemon=True)
        fault_thread.start()
        sent = send_load(base_url, settings, userids, args.rate, args.seconds)
        fault_thread.join()
        emulator = EmulatorRemote(base_url + "/_wecom")
        acknowledged = {cb.n for cb in sent if cb.acknowledged}
        waited = time.time()
        while time.time() - waited < DRAIN_LIMIT_S:
            counts, replies, _ = collect(database_url, emulator)
            if acknowledged <= counts["processed"] and acknowledged <= set(replies):
                break
            time.sleep(5)
        counts, replies, touchpoints = collect(database_url, emulator)
        report(args, sent, counts, replies, touchpoints, timeline, time.time() - waited)
    finally:
        product.stop()
        redis.stop()
        print(f"logs: {workdir}")


def report(args, sent, counts, replies, touchpoints, timeline, drained_s) -> None:  # type: ignore[no-untyped-def]
    acknowledged = {cb.n for cb in sent if cb.acknowledged}
    lost = sorted(acknowledged - (counts["processed"] & set(replies)))
    duplicated = sorted({n for n, c in touchpoints.items() if c > 1} | {n for n, r in replies.items() if len(r) > 1})
    down, up = timeline.outage
    print(
        f"load: {args.rate:g} callbacks/s for {args.seconds:g} s from {REPS} reps; quick worker SIGKILLed at "
        f"{dict(timeline.kills).get('worker', 0):.0f} s, reports worker at {dict(timeline.kills).get('reports', 0):.0f}"
        f" s; Redis down from {down - timeline.start:.0f} s to {up - timeline.start:.0f} s"
    )
    retried = sum(1 for cb in sent if cb.tries > 1)
    print(
        f"callbacks sent {len(sent)}  acknowledged {len(acknowledged)} (after a WeCom-style retry: {retried})  "
        f"stored {len(counts['stored'])}  processed {len(counts['processed'])}  answered {len(set(replies))}"
    )
    print(f"lost {len(lost)}  duplicated {len(duplicated)}  (waited {drained_s:.0f} s after the load)")
    if lost:
        print(f"  lost: {lost[:20]}")
    if duplicated:
        print(f"  duplicated: {duplicated[:20]}")
    phases: dict[str, list[float]] = {"before": [], "during": [], "first 60 s after": [], "after that": []}
    for cb in sent:
        if cb.n not in replies:
            continue
        latency = min(replies[cb.n]) - cb.sent_at
        if cb.sent_at < down:
            phases["before"].append(latency)
        elif cb.sent_at <= up:
            phases["during"].append(latency)
        elif cb.sent_at <= up + 60:
            phases["first 60 s after"].append(latency)
        else:
            phases["after that"].append(latency)
    print("chat reply latency (callback sent → reply delivered), seconds:")
    for phase, values in phases.items():
        if values:
            print(
                f"  {phase:17s} n={len(values):4d}  p50={percentile(values, 0.5):6.2f}  "
                f"p95={percentile(values, 0.95):6.2f}  max={max(values):6.2f}  mean={statistics.fmean(values):6.2f}"
            )
    # How soon after Redis came back new callbacks were answered within target again (10-second windows).
    for start in range(0, int(args.seconds), 10):
        window = [
            min(replies[cb.n]) - cb.sent_at
            for cb in sent
            if cb.n in replies and up + start <= cb.sent_at < up + start + 10
        ]
        if window and percentile(window, 0.95) <= 5.0:
            print(f"back to p95 ≤ 5 s for callbacks sent from {start} s after Redis came back")
            break


if __name__ == "__main__":
    main()
