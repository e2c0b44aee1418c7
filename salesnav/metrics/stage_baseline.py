"""How long similar deals stayed in a stage: the baseline the stage-deviation metric uses, for one deal.

Same definition as `stage_advancement_deviation` (salesnav/metrics/pipeline.py): opportunities closed
(won or lost) in the `history_days` before `as_of`, same product line and customer grade, falling back to
all of them when the stage has no such history; the stays come from the same history query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav.metrics.pipeline import CLOSED, DAY, _stays
from salesnav.models import Opportunity


@dataclass(frozen=True)
class StageBaseline:
    mean_days: float | None  # None: no closed deal has been through this stage in the history window
    deals: int  # how many stays the mean is over
    similar: bool  # True: same product line and grade; False: the fallback over all closed deals


def similar_stage_baseline(
    session: Session, *, stage_id: int, product_line: str, grade: str | None, as_of: datetime, history_days: int
) -> StageBaseline:
    history = _stays(
        Opportunity.status.in_(CLOSED),
        Opportunity.closed_at >= as_of - timedelta(days=history_days),
        Opportunity.closed_at < as_of,
        Opportunity.deleted_at.is_(None),
    ).subquery()
    in_stage = [history.c.stage_id == stage_id]
    same = [history.c.product_line == product_line, history.c.grade.is_not_distinct_from(grade)]
    for conditions, similar in ((in_stage + same, True), (in_stage, False)):
        mean, count = session.execute(select(func.avg(history.c.seconds), func.count()).where(*conditions)).one()
        if count:
            return StageBaseline(float(mean) / DAY, int(count), similar)
    return StageBaseline(None, 0, False)
