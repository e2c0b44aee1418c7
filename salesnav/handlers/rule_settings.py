"""Run-time thresholds (DESIGN.md §4), stored in the database; these are the defaults."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.models import RuleSetting

DEFAULTS: dict[str, Any] = {
    "follow_up.overdue_hours": 72,
    "follow_up.escalate_after_hours": 48,
    "collaboration.marketing_sla_hours": 24,
    "collaboration.delivery_sla_hours": 24,
    "collaboration.incentive_points": 10,
    "health.resistant_signals": 3,
    "health.window_days": 7,
    "credit.amount_threshold_fen": 500_000 * 100,
    "credit.min_on_time_rate": 0.85,
}


def get(session: Session, key: str) -> Any:
    if key not in DEFAULTS:
        raise KeyError(key)
    row = session.scalars(select(RuleSetting).where(RuleSetting.key == key)).first()
    return DEFAULTS[key] if row is None else row.value
