"""Benchmark: the visit brief's objection prediction, and how long a brief takes to build.

    .venv/bin/python bench/pool_brief.py [--database-url sqlite:////tmp/sn_bench_brief.sqlite3] [--visits 800]

Hit rate: for each visit touchpoint that records an objection (a 抵触 or 中性 touchpoint whose summary says one,
salesnav/handlers/objections.py), the three objections the brief would have predicted from what was heard
*before* it (similar deals: same product line, customer grade and stage, widening when fewer than 5), and
whether any of them is among the visit's own. Baseline, in the same run: the company's three most frequent
objections before the visit.

- Demo company: `salesnav.demo.seed` into a fresh database (dropped and rebuilt: never a real one). Its
  objections are drawn from one vocabulary for every deal, so similar deals know nothing the company does not:
  the brief should do about as well as the baseline there, and the bench says so.
- Planted synthetic set: 3,000 deals over a year, 5 product lines × 3 grades × 5 stages, each group with two
  objections that come up more often (planted), written as summaries in the reps' words and read back by the
  same classifier; visits of the last 90 days are scored.

Build time: `build_brief` for due visits of the demo company (median, p95; the year's objections read once, as
the sender does for all the briefs of a run, and that read timed apart), against the 客户诊断 of the same
customer (`diagnose`, the chat's existing per-customer reading) in the same run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from salesnav import clock
from salesnav.adapters import register_adapters
from salesnav.demo import seed as demo
from salesnav.handlers.diagnosis import diagnose
from salesnav.handlers.objections import NAMES, ObjectionSignal, company_top, objections_in, predict
from salesnav.handlers.visit_brief import DueVisit, build_brief, objection_signals, recent_signals
from salesnav.models import Touchpoint, User, migrate
from salesnav.models import session as db

# How reps write each objection (planted set); the classifier must read each back as exactly that one.
WORDS = {
    "价格偏高": ("对价格不满意", "嫌贵", "希望再降价", "觉得性价比一般"),
    "预算受限": ("今年预算已冻结", "等待预算批复", "经费紧张"),
    "倾向竞品或原供应商": ("倾向于继续使用原供应商", "在看竞品", "别家也在报"),
    "售后与维修顾虑": ("抱怨上次维修响应慢", "担心售后", "保修期太短"),
    "交付周期顾虑": ("对交付周期有顾虑", "担心到货太慢", "装机排不开"),
    "内部决策未定": ("需要内部再讨论", "要等领导拍板", "院办还要开会"),
    "资料与参数不足": ("要求补充报价明细", "要看参数", "让我们先发资料"),
    "采购时机未到": ("决定延后采购", "说明年再看", "暂不考虑"),
}
ANSWERS = {name: (f"针对{name}：发送对应方案", f"针对{name}：约专家答疑") for name in NAMES}


def score(signals: Sequence[ObjectionSignal], visits: list[int], *, min_similar: int = 5) -> tuple[float, float, int]:
    """(brief hit rate, baseline hit rate, visits scored) over the visits' touchpoint ids."""
    by_visit: dict[int, list[ObjectionSignal]] = defaultdict(list)
    for s in signals:
        by_visit[s.touchpoint_id].append(s)
    ordered = sorted(signals, key=lambda s: s.occurred_at)
    hits = base_hits = scored = 0
    for tp_id in visits:
        heard = by_visit[tp_id]
        first = heard[0]
        history = [s for s in ordered if s.occurred_at < first.occurred_at]
        if not history:
            continue
        own = {s.objection for s in heard}
        predicted = predict(
            history,
            product_line=first.product_line,
            grade=first.grade,
            stage_id=first.stage_id,
            min_similar=min_similar,
        )
        hits += bool(own & {o.objection for o in predicted.objections})
        base_hits += bool(own & set(company_top(history)))
        scored += 1
    return hits / max(scored, 1), base_hits / max(scored, 1), scored


def planted(seed: int = 20261206) -> tuple[list[ObjectionSignal], list[int]]:
    rnd = random.Random(seed)
    for name, phrases in WORDS.items():
        for phrase in phrases:
            assert objections_in(phrase) == [name], (phrase, objections_in(phrase))
    lines, grades, stages = ("CT球管", "DR设备", "超声", "监护仪", "输注泵"), ("三甲", "三乙", "二甲"), range(1, 6)
    profile = {}
    for line in lines:
        for grade in grades:
            for stage in stages:
                weights = [rnd.uniform(0.5, 1.5) for _ in NAMES]
                for k, boost in zip(rnd.sample(range(len(NAMES)), 2), (9.0, 6.0), strict=True):
                    weights[k] += boost
                profile[(line, grade, stage)] = weights
    start = datetime(2026, 1, 1, tzinfo=UTC)
    signals: list[ObjectionSignal] = []
    tp_id = 0
    for _ in range(3000):
        line, grade, won = rnd.choice(lines), rnd.choice(grades), rnd.random() < 0.3
        opened = start + timedelta(days=rnd.uniform(0, 330))
        for n in range(rnd.randint(1, 4)):
            stage = min(5, 1 + n + rnd.randint(0, 1))
            at = opened + timedelta(days=7 * n + rnd.uniform(0, 6))
            tp_id += 1
            picked = set(rnd.choices(NAMES, profile[(line, grade, stage)], k=1 if rnd.random() < 0.8 else 2))
            summary = "，".join(rnd.choice(WORDS[name]) for name in sorted(picked))
            for name in objections_in(summary):
                signals.append(
                    ObjectionSignal(at, name, line, grade, stage, won, rnd.choice(ANSWERS[name]), touchpoint_id=tp_id)
                )
    cut = max(s.occurred_at for s in signals) - timedelta(days=90)
    visits = sorted({s.touchpoint_id for s in signals if s.occurred_at >= cut})
    return signals, visits


def demo_company(url: str, visits_wanted: int) -> tuple[tuple[float, float, int], list[float], list[float], int, float]:
    register_adapters()
    migrate.upgrade(url)
    db.configure(url)
    with tempfile.TemporaryDirectory() as files:
        demo.seed(attachments_root=Path(files))
    now = clock.now()
    with db.transaction() as session:
        signals = [s for s in objection_signals(session, now - timedelta(days=3650)) if s.product_line]
        rnd = random.Random(7)
        ids = sorted({s.touchpoint_id for s in signals})
        visits = sorted(rnd.sample(ids, min(visits_wanted, len(ids))))
        rates = score(signals, visits)
        due = session.execute(
            select(Touchpoint.id, Touchpoint.rep_id, Touchpoint.customer_id, Touchpoint.opportunity_id)
            .where(Touchpoint.deleted_at.is_(None), Touchpoint.next_action.is_not(None))
            .order_by(Touchpoint.occurred_at.desc())
            .limit(60)
        ).all()
        t0 = time.perf_counter()
        history = recent_signals(session, now)
        load_ms = (time.perf_counter() - t0) * 1000
        brief_ms, diagnosis_ms = [], []
        for tp_id, rep_id, customer_id, opp_id in due:
            visit = DueVisit("touchpoint", tp_id, rep_id, customer_id, opp_id, now + timedelta(hours=1), "拜访")
            t0 = time.perf_counter()
            build_brief(session, visit, now, history)
            brief_ms.append((time.perf_counter() - t0) * 1000)
            rep = session.get(User, rep_id)
            assert rep is not None
            t0 = time.perf_counter()
            diagnose(session, rep, customer_id, channel="bench")
            diagnosis_ms.append((time.perf_counter() - t0) * 1000)
        session.rollback()
    return rates, brief_ms, diagnosis_ms, len(signals), load_ms


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--visits", type=int, default=800)
    args = parser.parse_args()

    signals, visits = planted()
    brief, base, n = score(signals, visits)
    print(f"planted synthetic set: {len(signals)} objections, {n} visits scored")
    print(f"  brief (similar deals)      hit rate {brief * 100:5.1f} %")
    print(f"  baseline (company top 3)   hit rate {base * 100:5.1f} %")

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench_brief.sqlite3"
        if url.startswith("postgresql"):
            engine = db.make_engine(url)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        (brief, base, n), brief_ms, diagnosis_ms, heard, load_ms = demo_company(url, args.visits)
    print(f"demo company: {heard} objections heard, {n} visits scored")
    print(f"  brief (similar deals)      hit rate {brief * 100:5.1f} %")
    print(f"  baseline (company top 3)   hit rate {base * 100:5.1f} %")
    verdict = "beats" if brief > base + 0.02 else ("matches" if brief >= base - 0.02 else "trails")
    print(
        f"  the brief {verdict} the baseline on the demo company: its objections are drawn from one vocabulary for "
        "every product line, grade and stage, so similar deals know nothing the company does not"
    )
    print(f"the sender's one read of the year's objections (once per run, for all its briefs): {load_ms:.0f} ms")
    print(
        f"brief build, {len(brief_ms)} visits: median {statistics.median(brief_ms):.1f} ms, p95 {p95(brief_ms):.1f} ms"
    )
    print(
        f"客户诊断 of the same customers (baseline): median {statistics.median(diagnosis_ms):.1f} ms, "
        f"p95 {p95(diagnosis_ms):.1f} ms"
    )


if __name__ == "__main__":
    main()
