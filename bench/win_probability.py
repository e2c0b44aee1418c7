"""Benchmark: the learned win probability against the stage table, on a time split, on two histories.

    .venv/bin/python bench/win_probability.py [--synthetic-deals 1500] [--json bench/out/win_probability.json]

Each history goes into its own fresh SQLite database (a temporary folder), with the clock frozen at
2026-03-02 09:30 Shanghai so that every run prints the same figures:

1. the demo company (salesnav/demo/seed.py, seed 20261127): its own closed deals, whose fate the seed draws
   at a flat 40 % independently of anything the rep records;
2. a larger synthetic history (salesnav/demo/win_history.py) whose true drivers are known: decision-chain
   coverage, the customer's mood, touchpoint rhythm, late collaboration answers, grade and amount.

On each, the same run scores the learned model and the stage table on the same held-out examples: the recipe
(salesnav/handlers/win_probability.py `evaluate`) is fitted on the older 75 % of closes and scored on the
newest 25 % — Brier score (lower is better), AUC (higher is better) and a calibration table. The synthetic
history also shows the Brier score of the true probabilities (the best any model could do). Then `retrain`
says whether the safeguard would put the version in use, and Level 1's pipeline forecast is backtested on the
past six months (mean absolute error of the won amount per month, the model's against the stage table's).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from salesnav import clock
from salesnav.demo.seed import DEFAULT_SEED, seed_into
from salesnav.demo.win_history import TRUE_DRIVERS, write_history
from salesnav.handlers import win_probability as wp
from salesnav.handlers.dashboards.forecast import pipeline_forecast
from salesnav.models import Opportunity, OpportunityStatus, Role, User, migrate
from salesnav.models import session as db

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
# The features behind the synthetic drivers: chain (roles +), emotion (mood +), rhythm (+), tickets_late (−),
# amount (−); stay and stage carry how far and how fast a deal got.
DRIVER_FEATURES = ("chain", "emotion", "rhythm", "tickets_late", "amount", "stay", "stage")


def _fresh(folder: Path, name: str) -> None:
    url = f"sqlite:///{folder / name}.sqlite3"
    migrate.upgrade(url)
    db.configure(url)


def _judge(label: str) -> dict[str, Any]:
    started = time.perf_counter()
    with db.transaction() as session:
        deals, evidence = wp.load_deals(session, Opportunity.status != OpportunityStatus.OPEN)
        info = wp.stages(session)
        closed, won, lost = wp.closed_counts(deals)
        figures = wp.evaluate(deals, evidence, info)
        tick = time.perf_counter()
        training = wp.retrain(session, NOW, "20260302")
        figures["retrain_seconds"] = round(time.perf_counter() - tick, 2)
        if training.model is not None:
            params = training.model.params
            figures["coefficients"] = dict(zip(params["features"], params["coef"], strict=True))
        open_ids = list(session.scalars(select(Opportunity.id).where(Opportunity.status == OpportunityStatus.OPEN)))
        tick = time.perf_counter()
        scored = wp.win_probabilities(session, open_ids, NOW)
        figures["scoring"] = {"open_deals": len(scored), "seconds": round(time.perf_counter() - tick, 2)}
        tick = time.perf_counter()
        forecast = pipeline_forecast(session, NOW, TZ)
        figures["forecast_seconds"] = round(time.perf_counter() - tick, 2)
    return {
        "history": label,
        "closed_deals": closed,
        "won": won,
        "lost": lost,
        **figures,
        "retrain": training.describe(),
        "in_use": bool(training.model and training.model.in_use),
        "forecast_source": forecast.source,
        "forecast_mae": forecast.mae,
        "forecast_mae_stage_table": forecast.mae_stage_table,
        "forecast_past": [vars(p) for p in forecast.past],
        "seconds": round(time.perf_counter() - started, 1),
    }


def demo(folder: Path) -> dict[str, Any]:
    _fresh(folder, "demo")
    with db.transaction() as session:
        seed_into(session, DEFAULT_SEED, attachments_root=folder / "attachments")
    return _judge("演示公司")


def synthetic(folder: Path, deals: int) -> dict[str, Any]:
    _fresh(folder, "synthetic")
    with db.transaction() as session:
        rep = User(wecom_userid="rep01", name="样本销售", role=Role.REP)
        session.add(rep)
        session.flush()
        history = write_history(session, rep, deals=deals, now=NOW, seed=11, span_days=720)
    result = _judge(f"合成历史（{deals} 个商机）")
    result["open_deals"] = history.open
    return result


def _print(result: dict[str, Any]) -> None:
    print(
        f"\n== {result['history']}: {result['closed_deals']} closed deals ({result['won']} won, {result['lost']} lost)"
    )
    if not result.get("evaluated"):
        print("   not evaluated:", result)
        return
    print(
        f"   time split: train {result['train_deals']} older closes ({result['train_examples']} examples), "
        f"test {result['test_deals']} newer closes ({result['test_examples']} examples) from {result['test_from'][:10]}"
    )
    print(f"   {'':14}{'Brier':>8}{'AUC':>8}")
    print(f"   {'stage table':14}{result['brier_stage_table']:>8.3f}{result['auc_stage_table'] or 0:>8.3f}")
    print(f"   {'learned model':14}{result['brier']:>8.3f}{result['auc'] or 0:>8.3f}")
    print("   calibration (test examples):  band   n  model-predicted  observed | stage-table n  predicted  observed")
    for mine, table in zip(result["calibration"], result["calibration_stage_table"], strict=True):
        print(
            f"   {mine['band']:>28} {mine['count']:>4} {mine['predicted'] or 0:>16.2f} {mine['observed'] or 0:>9.2f}"
            f" | {table['count']:>13} {table['predicted'] or 0:>10.2f} {table['observed'] or 0:>9.2f}"
        )
    print("  ", result["retrain"])
    coef = result.get("coefficients", {})
    shown = [f"{name} {coef[name]:+.2f}" for name in DRIVER_FEATURES if name in coef]
    print("   learned coefficients (standardised features):", ", ".join(shown))
    mae, base = result["forecast_mae"], result["forecast_mae_stage_table"]
    print(
        f"   pipeline forecast, past 6 months ({result['forecast_source']}): MAE "
        f"{'—' if mae is None else f'{mae:.0%}'} (stage table {'—' if base is None else f'{base:.0%}'})"
    )
    scoring = result["scoring"]
    print(
        f"   costs: retrain {result['retrain_seconds']} s; scoring all {scoring['open_deals']} open deals "
        f"{scoring['seconds']} s; forecast with its backtest {result['forecast_seconds']} s (SQLite)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--synthetic-deals", type=int, default=1500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    previous = clock.use(clock.FrozenClock(NOW))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = [demo(Path(tmp)), synthetic(Path(tmp), args.synthetic_deals)]
    finally:
        clock.use(previous)
    print("true drivers of the synthetic history:", vars(TRUE_DRIVERS))
    for result in results:
        _print(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
