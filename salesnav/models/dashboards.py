"""Dashboard snapshots: a page's figures as computed at one moment, kept so the page opens at once.

The Level 1 figures read most of a year of touchpoints (the 90-day decision-chain lookback, eight trend
weeks): recomputing them on every open costs most of a second at a million touchpoints. A snapshot is
refreshed by the clock ahead of its expiry and dropped when a bulk write (an Excel import, its undo, a
change of the index weights) makes it wrong; salesnav/handlers/dashboard_snapshots.py says when each happens.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from salesnav.models.base import Base


class DashboardSnapshot(Base):
    __tablename__ = "dashboard_snapshots"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # e.g. "executive:30"
    as_of: Mapped[datetime]  # the moment the figures describe (and were computed at)
    compute_ms: Mapped[int]  # what computing them cost: what a page would have waited
    figures: Mapped[dict[str, Any]]
