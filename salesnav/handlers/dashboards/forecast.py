"""Level 1's weighted pipeline forecast (赢单预测): the won amount to expect this month and next, and how far
off the same forecast was on the past months.

- A deal's expected close: now + what is left of the usual stay in its stage + the usual stays of the open
  stages after it (the mean stays of closed deals, salesnav/handlers/win_probability.py's norms); a deal past
  its usual time is expected this month.
- Weighted: Σ expected amount × win probability (the learned model when one is in use, else the stage table)
  over the open deals expected to close in the month.
- Error on past months: for each of the PAST_MONTHS months before this one, the forecast made at the month's
  first moment with only what was known then — deals open then, in the stage they were in, their features as
  of then, and (when a model is in use) the same recipe refitted on the deals closed before then — against the
  amount actually won in that month. MAE = mean |forecast − actual| / actual over the months with a won amount;
  the stage table's forecast is scored the same way beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from salesnav.handlers import dashboard_snapshots
from salesnav.handlers.dashboard_snapshots import Snapshot
from salesnav.handlers.win_probability import (
    MIN_CLOSED,
    MIN_EACH,
    MODEL,
    STAGE_TABLE,
    DealHistory,
    Evidence,
    Example,
    StageInfo,
    closed_counts,
    features,
    fit,
    load_deals,
    model_in_use,
    norms_of,
    predict,
    stage_norms,
    stages,
    training_examples,
)
from salesnav.models import OpportunityStatus

PAST_MONTHS = 6
SNAPSHOT_KEY = "forecast:pipeline"


@dataclass(frozen=True)
class MonthForecast:
    month: str  # 2026-12
    label: str  # 本月 / 下月
    deals: int
    pipeline_fen: int  # Σ expected amount of the deals expected to close in the month
    weighted_fen: int  # Σ amount × win probability


@dataclass(frozen=True)
class PastMonth:
    month: str
    forecast_fen: int
    stage_table_fen: int  # the stage table's forecast, for comparison
    actual_fen: int  # won in the month
    error: float | None  # |forecast − actual| / actual; None when nothing was won
    stage_table_error: float | None


@dataclass(frozen=True)
class PipelineForecast:
    as_of: datetime
    source: str  # model / stage_table
    version: str | None
    months: list[MonthForecast]
    past: list[PastMonth]
    mae: float | None
    mae_stage_table: float | None

    json_properties = ("note",)

    @property
    def note(self) -> str:
        basis = f"赢单概率模型 {self.version}" if self.source == MODEL else "阶段赢率表"
        return f"按{basis}加权；预计成交月按各阶段常规停留天数推算"


def _month_start(moment: datetime, tz: ZoneInfo, shift: int = 0) -> datetime:
    local = moment.astimezone(tz)
    index = local.year * 12 + local.month - 1 + shift
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=tz)


def _label(start: datetime) -> str:
    return f"{start.year}-{start.month:02d}"


def state_at(deal: DealHistory, moment: datetime) -> tuple[int, datetime] | None:
    """The stage the deal was in at `moment` and since when; None if it had not started or had closed."""
    if not deal.stays or deal.stays[0][1] > moment or (deal.closed_at is not None and deal.closed_at <= moment):
        return None
    for stage, entered, left in deal.stays:
        if entered <= moment and (left is None or moment < left):
            return stage, entered
    return None


def expected_close(
    stage_id: int, entered: datetime, moment: datetime, norms: dict[int, float], info: dict[int, StageInfo]
) -> datetime:
    here = info[stage_id]
    default = norms.get(0, 30.0)
    left = max(norms.get(stage_id, default) - (moment - entered).total_seconds() / 86400, 0.0)
    later = sum(norms.get(s.id, default) for s in info.values() if s.open and s.position > here.position)
    return moment + timedelta(days=left + later)


def _forecast(
    deals: list[DealHistory],
    evidence: Evidence,
    info: dict[int, StageInfo],
    norms: dict[int, float],
    params: dict[str, Any] | None,
    moment: datetime,
    start: datetime,
    end: datetime,
) -> tuple[int, int, int, int]:
    """(deals, pipeline, weighted by the model or table, weighted by the table) for closes in [start, end)."""
    count = pipeline = weighted = table = 0
    for deal in deals:
        state = state_at(deal, moment)
        if state is None or state[0] not in info or not info[state[0]].open:
            continue
        stage = info[state[0]]
        close = max(expected_close(stage.id, state[1], moment, norms, info), moment)
        if not start <= close < end:
            continue
        p = stage.probability
        if params is not None:
            numeric, category, facts = features(deal, stage, state[1], moment, evidence, norms)
            p = predict(params, Example(deal.id, stage.id, moment, None, None, numeric, category, facts))
        count += 1
        pipeline += deal.amount_fen
        weighted += round(deal.amount_fen * p)
        table += round(deal.amount_fen * stage.probability)
    return count, pipeline, weighted, table


def _error(forecast: int, actual: int) -> float | None:
    return abs(forecast - actual) / actual if actual else None


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return round(sum(kept) / len(kept), 4) if kept else None


def pipeline_forecast(
    session: Session, now: datetime, tz: ZoneInfo, past_months: int = PAST_MONTHS
) -> PipelineForecast:
    info = stages(session)
    model = model_in_use(session)
    deals, evidence = load_deals(session)
    closed = [d for d in deals if d.status is not OpportunityStatus.OPEN and d.closed_at is not None]
    params = model.params if model is not None else None
    norms = norms_of(params) if params is not None else stage_norms(closed, info)
    months = []
    for shift, label in ((0, "本月"), (1, "下月")):
        start, end = _month_start(now, tz, shift), _month_start(now, tz, shift + 1)
        # This month: whatever is expected before its end, a deal past its usual time included.
        count, pipeline, weighted, _ = _forecast(
            deals, evidence, info, norms, params, now, now if shift == 0 else start, end
        )
        months.append(MonthForecast(_label(start), label, count, pipeline, weighted))
    past = []
    for shift in range(-past_months, 0):
        start, end = _month_start(now, tz, shift), _month_start(now, tz, shift + 1)
        known = [d for d in closed if d.closed_at is not None and d.closed_at < start]
        then_norms = stage_norms(known, info)
        then_params = None
        n, won, lost = closed_counts(known)
        if model is not None and n >= MIN_CLOSED and won >= MIN_EACH and lost >= MIN_EACH:
            examples = training_examples(known, evidence, info, then_norms)
            if len({e.won for e in examples}) == 2:
                then_params = fit(examples, then_norms)
        _, _, weighted, table = _forecast(deals, evidence, info, then_norms, then_params, start, start, end)
        actual = sum(
            d.amount_fen
            for d in closed
            if d.status is OpportunityStatus.WON and d.closed_at is not None and start <= d.closed_at < end
        )
        past.append(PastMonth(_label(start), weighted, table, actual, _error(weighted, actual), _error(table, actual)))
    return PipelineForecast(
        now,
        MODEL if model is not None else STAGE_TABLE,
        model.version if model is not None else None,
        months,
        past,
        _mean([p.error for p in past]),
        _mean([p.stage_table_error for p in past]),
    )


def forecast_snapshot(
    session: Session, now: datetime, tz: ZoneInfo, *, max_age: timedelta
) -> Snapshot[PipelineForecast]:
    """The forecast as kept (it reads every deal's history: minutes-old figures are what Level 1 shows)."""
    return dashboard_snapshots.cached(
        session, SNAPSHOT_KEY, PipelineForecast, lambda at: pipeline_forecast(session, at, tz), now, max_age
    )
