"""Win-probability models learned from the company's own closed deals (salesnav/handlers/win_probability.py).

One row per trained version: its parameters (a logistic regression's features, scaling and coefficients,
plain JSON so that scoring needs no machine-learning library), how it did on the newer closes it was not
trained on (metrics), and whether it is the one in use. A version that did worse than the stage table is
kept (so one can see why) but never used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from salesnav.models.base import Base, IdMixin


class WinModel(IdMixin, Base):
    __tablename__ = "win_models"

    version: Mapped[str] = mapped_column(String(40), unique=True)  # business date + digest of the training set
    trained_at: Mapped[datetime]
    params: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    in_use: Mapped[bool] = mapped_column(default=False, index=True)
