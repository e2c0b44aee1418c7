"""The retrain job: hourly, trains in the 03:00 hour of business time (or at once while no version exists),
one version per history however often it fires; the clock schedules it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from salesnav import clock
from salesnav.demo.win_history import write_history
from salesnav.jobs import win_probability as job
from salesnav.jobs.clock import PERIODIC
from salesnav.models import WinModel
from salesnav.models import session as db
from tests import factories as f

# 03:10 and 10:10 in Shanghai (UTC+8)
AT_THREE = datetime(2026, 3, 2, 19, 10, tzinfo=UTC)
AT_TEN = datetime(2026, 3, 3, 2, 10, tzinfo=UTC)


@pytest.fixture
def history(database, frozen_clock):
    frozen_clock.set(datetime(2026, 3, 2, 19, 0, tzinfo=UTC))
    with db.transaction() as session:
        rep = f.org(session).rep
        write_history(session, rep, deals=200, now=clock.now())


def _versions() -> list[tuple[str, bool]]:
    with db.transaction() as session:
        return [(m.version, m.in_use) for m in session.scalars(select(WinModel).order_by(WinModel.id))]


def test_the_first_version_is_trained_at_any_hour_then_only_at_three(history, frozen_clock):
    frozen_clock.set(AT_TEN)
    said = job.retrain(AT_TEN.isoformat())
    assert said.startswith("赢单概率模型 20260303-") and "已启用" in said
    assert len(_versions()) == 1

    frozen_clock.set(AT_TEN.replace(hour=5))
    assert job.retrain() is None  # 13:10 business time, a version exists: not the hour


def test_at_three_it_retrains_once_per_history(history, frozen_clock):
    frozen_clock.set(AT_THREE)
    job.retrain(AT_THREE.isoformat())
    again = job.retrain(AT_THREE.isoformat())
    assert "版本已存在" in again
    [(version, in_use)] = _versions()
    assert version.startswith("20260303-") and in_use


def test_too_little_history_trains_nothing(database, frozen_clock):
    with db.transaction() as session:
        write_history(session, f.org(session).rep, deals=10, now=clock.now(), span_days=200)
    said = job.retrain(AT_THREE.isoformat())
    assert "继续使用阶段赢率表" in said
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(WinModel)) == 0


def test_the_clock_fires_it_hourly():
    [periodic] = [p for p in PERIODIC if p.id == "win_probability.retrain"]
    assert periodic.job is job.retrain and periodic.slot_seconds == 3600
