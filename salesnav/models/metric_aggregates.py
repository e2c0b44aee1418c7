"""The Level 1 figures' maintained aggregates: sums per local day × rep, and the changes not yet folded in.

`MetricDayRep` holds, for each business day (local date in the deployment's time zone) and rep, the sums
the metrics divide (salesnav/metrics/aggregates.py): touchpoints, effective ones, quality points, stage
changes and compliant ones, ticket parts due and closed in time, parts opened and answered in time. A
team's or the company's figures add up its reps' rows; a window adds up its days. The cells are computed by
the metrics' own definitions (salesnav/metrics/activity.py, pipeline.py, collaboration.py) over one day.

`MetricChange` rows are written by database triggers (migration 0027) with every write that can move a
cell — a touchpoint, a stage change or a ticket part inserted, edited or retired, a deal reassigned or
retired — in the writer's own transaction; the clock's refresh folds them in and deletes them.
`MetricAggregateState` says with which settings the cells were built and when they were last brought up
to date (what a page shows as 数据截至).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from salesnav.models.base import Base, BigId

CELL_COLUMNS = (
    "touchpoints",
    "effective",
    "quality",
    "stage_changes",
    "compliant_changes",
    "parts_due",
    "parts_on_time",
    "parts_opened",
    "parts_answered",
)


class MetricDayRep(Base):
    __tablename__ = "metric_day_rep"
    # A window's cells from the index alone on PostgreSQL (migration 0025): a few hundred index pages in day
    # order for any window, however many years of cells the table holds and wherever their rows were written.
    __table_args__ = (Index("ix_metric_day_rep_cells", "day", "rep_id", postgresql_include=list(CELL_COLUMNS)),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rep_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    touchpoints: Mapped[int] = mapped_column(Integer, default=0)
    effective: Mapped[int] = mapped_column(Integer, default=0)
    quality: Mapped[float] = mapped_column(Float, default=0.0)  # Σ emotion value × decision roles covered (0..4)
    stage_changes: Mapped[int] = mapped_column(Integer, default=0)
    compliant_changes: Mapped[int] = mapped_column(Integer, default=0)
    parts_due: Mapped[int] = mapped_column(Integer, default=0)
    parts_on_time: Mapped[int] = mapped_column(Integer, default=0)
    parts_opened: Mapped[int] = mapped_column(Integer, default=0)
    parts_answered: Mapped[int] = mapped_column(Integer, default=0)  # first valid response within the hours


class MetricChange(Base):
    __tablename__ = "metric_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rep_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]  # the record's moment: its day's cell of this rep is to be recomputed
    customer_id: Mapped[int | None] = mapped_column(BigInteger)  # a touchpoint's: its later quality too


class MetricAggregateState(Base):
    __tablename__ = "metric_aggregate_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # one row, id 1
    built_with: Mapped[str] = mapped_column(String(200))  # time zone and settings the cells were computed with
    rebuilt_at: Mapped[datetime]
    refreshed_at: Mapped[datetime]  # every change committed before this is in the cells


class MetricFirstTouch(Base):
    """Each customer's first live touchpoint (the lead funnel's "first touched in the window"), kept by the same
    refresh from the touchpoint markers, which name the customer (migration 0025)."""

    __tablename__ = "metric_first_touch"

    customer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    first_at: Mapped[datetime] = mapped_column(index=True)


class MetricStageDay(Base):
    """The stage deviation's baseline per local day of closing: the stays of the deals closed (won or lost) that
    day per (stage, product line, customer grade) — total seconds and count (salesnav/metrics/pipeline.py,
    `baseline_cells`). A window's baseline adds up its year of days instead of reading a year of deals' stays.
    Kept by the same refresh: triggers (migration 0025) mark a closed deal's closing day whenever its stays,
    status, closing time, product line or customer's grade change."""

    __tablename__ = "metric_stage_day"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    stage_id: Mapped[int] = mapped_column(BigInteger)
    product_line: Mapped[str] = mapped_column(String(100))
    grade: Mapped[str | None] = mapped_column(String(20))
    seconds: Mapped[float] = mapped_column(Float)
    stays: Mapped[int] = mapped_column(Integer)
