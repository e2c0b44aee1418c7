"""Benchmark: a manager's voice annotation, from the voice-note callback to the rep's messages in the emulator.

    .venv/bin/python bench/annotation_latency.py [--annotations 24] [--concurrency 1] [--database-url URL]

The whole product runs as `salesnav serve` runs it (embedded default: SQLite in a temporary directory,
jobs in-process), on loopback with its WeCom emulator, and the offline speech engine (faster-whisper,
Whisper base int8). Follow-up alerts are raised for deals silent 72 h (several managers, two reps each, so
WeCom's per-member rate limit never holds a message back). Each manager replies to an alert with a voice
note (espeak-ng Mandarin, AMR-NB as WeCom delivers it), posted as a signed, encrypted callback; the
clock stops when the emulator has recorded the rep's annotation card (the voice message comes just
before it). What is measured is our processing: callback, inbound job, media download, transcription,
AMR check, media upload, annotation, outbox, two sends. The model is loaded before the first clip
(once per media pool process, salesnav/media_pool.py; its load time is printed). `--concurrency N` posts N
managers' notes at once; with N > 1 the same number of notes is first posted one at a time, in the same run (same
server, pool and load: the baseline; `--no-baseline` skips it). `--no-pool` transcribes in the serving process, as
before the pool. The load average is printed before and after each part (the machine may be shared).
Target: p95 ≤ 5 s at concurrency 4, on the embedded default and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from salesnav import clock, media_pool
from salesnav.adapters import register_adapters
from salesnav.bot.emulator import STATE, callbacks
from salesnav.handlers.stages import ensure_default_stages, stage_by_code
from salesnav.jobs import queue as jobs_queue
from salesnav.jobs.rules import run_scan
from salesnav.models import (
    Customer,
    Department,
    DepartmentKind,
    Opportunity,
    Role,
    Touchpoint,
    TouchpointType,
    User,
    migrate,
)
from salesnav.models import session as db
from salesnav.settings import Settings
from salesnav.voice import whisper
from salesnav.voice.audio import decode, encode_amr
from salesnav.voice.samples import SENTENCES, speak_wav


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def build_org(managers: int) -> None:
    """`managers` managers with two reps each; every rep has one deal silent for 73 hours."""
    with db.transaction() as s:
        ensure_default_stages(s)
        sales = Department(name="销售部", kind=DepartmentKind.SALES)
        s.add(sales)
        s.flush()
        stage = stage_by_code(s, "negotiation")
        silent_since = clock.now() - timedelta(hours=73)
        for m in range(managers):
            manager = User(wecom_userid=f"bench_mgr{m}", name=f"主管{m}", role=Role.MANAGER, department_id=sales.id)
            s.add(manager)
            s.flush()
            for r in range(2):
                rep = User(
                    wecom_userid=f"bench_rep{m}_{r}",
                    name=f"销售{m}-{r}",
                    role=Role.REP,
                    department_id=sales.id,
                    manager_id=manager.id,
                )
                s.add(rep)
                s.flush()
                customer = Customer(name=f"基准医院{m}-{r}", grade="三甲", owner_id=rep.id)
                s.add(customer)
                s.flush()
                tp = Touchpoint(
                    customer_id=customer.id,
                    rep_id=rep.id,
                    type=TouchpointType.VISIT,
                    occurred_at=silent_since,
                    summary="bench",
                )
                s.add(tp)
                s.flush()
                s.add(
                    Opportunity(
                        customer_id=customer.id,
                        owner_id=rep.id,
                        title=f"CT球管{m}-{r}",
                        product_line="CT",
                        expected_amount_fen=60_000_000,
                        stage_id=stage.id,
                        last_touchpoint_id=tp.id,
                        last_follow_up_at=silent_since,
                        stage_entered_at=silent_since,
                    )
                )


def rep_card_at(reps: tuple[str, ...], after_seq: int) -> datetime | None:
    """When the emulator recorded an annotation card to one of `reps` (after message number `after_seq`)."""
    with STATE.lock:
        for record in STATE.messages:
            to_rep = any(rep in record["delivered_to"] for rep in reps)
            if record["seq"] > after_seq and to_rep and record["msgtype"] == "template_card":
                if record["payload"]["main_title"]["title"].endswith("的批注"):
                    return datetime.fromisoformat(record["received_at"])
    return None


def annotate_once(base_url: str, settings: Settings, manager: str, reps: tuple[str, ...], clip: bytes) -> float:
    media = STATE.add_media("voice", "note.amr", "audio/amr", clip)
    with STATE.lock:
        seq = len(STATE.messages)
    started_wall = datetime.now().astimezone()
    started = time.perf_counter()
    response = callbacks.post_callback(base_url, settings, callbacks.voice_xml(settings, manager, media.media_id))
    response.raise_for_status()
    while time.perf_counter() - started < 60:
        arrived = rep_card_at(reps, seq)
        if arrived is not None:
            return (arrived - started_wall).total_seconds()
        time.sleep(0.02)
    return float("inf")


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def measure(
    base_url: str, settings: Settings, pairs: list[tuple[str, tuple[str, ...]]], clips: list[bytes], concurrency: int
) -> list[float]:
    """Post the managers' notes `concurrency` at a time; each one's seconds to the rep's card."""
    latencies: list[float] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        manager, reps = pairs[i]
        seconds = annotate_once(base_url, settings, manager, reps, clips[i % len(clips)])
        with lock:
            latencies.append(seconds)

    batches = [list(range(i, min(i + concurrency, len(pairs)))) for i in range(0, len(pairs), concurrency)]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        for batch in batches:
            list(pool.map(one, batch))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotations", type=int, default=24, help="how many voice annotations (even number)")
    parser.add_argument("--concurrency", type=int, default=1, help="managers posting at the same moment")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    parser.add_argument("--no-pool", action="store_true", help="transcribe in the serving process (no media pool)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-at-a-time baseline")
    args = parser.parse_args()
    register_adapters()  # as every process does at start: the ports' channels (salesnav/adapters.py)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    per_part = max(1, (args.annotations + 1) // 2)  # managers for one part
    parts = [args.concurrency] if args.concurrency == 1 or args.no_baseline else [1, args.concurrency]
    managers = per_part * len(parts)

    from tests.bot.conftest import serve  # the same loopback server the end-to-end tests use

    tmp = Path(tempfile.mkdtemp(prefix="salesnav-bench-annot-"))
    env = {"DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}", "SALESNAV_DATA_DIR": str(tmp)}
    settings = Settings.from_env(env)
    if settings.database_url.startswith("postgresql"):
        from sqlalchemy import text

        engine = db.make_engine(settings.database_url)
        with engine.begin() as conn:  # a dedicated benchmark database: dropped and rebuilt
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(settings.database_url)
    db.configure(settings.database_url)
    jobs_queue.configure("")

    print("== offline speech engine:", whisper.ENGINE_NAME)
    if args.no_pool:
        print(f"   model load (in this process, no media pool): {whisper.load():.2f} s")
    else:
        media_pool.start(settings)  # as `salesnav serve` does
        print(f"   media pool: {media_pool.size()} processes, started and model loaded in {media_pool.warm():.2f} s")
    clips = [encode_amr(decode(speak_wav(text), "wav")) for text in SENTENCES]
    print(
        f"   clips: {len(clips)} espeak-ng sentences as AMR-NB, "
        f"{min(len(c) for c in clips) / 1600:.1f}–{max(len(c) for c in clips) / 1600:.1f} s each"
    )

    server = serve(settings)
    live = next(server)
    try:
        build_org(managers)
        run_scan(clock.now())
        jobs_queue.backend().drain()
        # Each manager's first voice annotates their newest alert, the second one the other alert (a reply
        # within the window targets the latest alert they have not annotated yet): either rep may be first.
        # Each part (the baseline, then the concurrent one) has managers of its own.
        results: list[tuple[int, list[float], str, str]] = []
        for number, concurrency in enumerate(parts):
            first = number * per_part
            pairs = [
                (f"bench_mgr{m}", (f"bench_rep{m}_0", f"bench_rep{m}_1"))
                for _ in (0, 1)
                for m in range(first, first + per_part)
            ][: args.annotations]
            before = load_average()
            latencies = measure(live.base_url, settings, pairs, clips, concurrency)
            jobs_queue.backend().drain()
            results.append((concurrency, latencies, before, load_average()))
    finally:
        server.close()
        media_pool.stop()
    database = "PostgreSQL" if "postgresql" in settings.database_url else "SQLite"
    pool = "no media pool" if args.no_pool else f"media pool of {media_pool.size()}"
    for concurrency, latencies, before, after in results:
        done = sorted(latencies)
        label = "baseline, one at a time" if concurrency == 1 and len(parts) > 1 else f"concurrency {concurrency}"
        print(
            f"\n== voice-note callback → rep's annotation card in the emulator ({len(done)} annotations, "
            f"{label}, {database}, {pool}; load average {before} → {after})"
        )
        verdict = f" (target p95 ≤ 5 s: {'met' if p95(done) <= 5 else 'NOT met'})" if concurrency > 1 else ""
        print(f"   median {statistics.median(done):.2f} s, p95 {p95(done):.2f} s, max {max(done):.2f} s{verdict}")


if __name__ == "__main__":
    main()
