"""Level 1 snapshots: the figures are kept exactly as computed, served while younger than
dashboard.refresh_minutes, recomputed after, dropped when the index weights change, and refreshed ahead of
their readers by the clock's job."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from salesnav import clock
from salesnav.handlers import dashboard_snapshots, rule_settings
from salesnav.handlers.dashboards.executive import executive_figures, executive_snapshot
from salesnav.handlers.dashboards.forecast import SNAPSHOT_KEY
from salesnav.jobs.dashboards import refresh_executive
from salesnav.models import DashboardSnapshot, DecisionRole
from tests import factories as f

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def org(session, frozen_clock):  # type: ignore[no-untyped-def]
    """rep01 met 仁济医院's user and purchaser yesterday (积极) with a next action; committed, so jobs see it."""
    org = f.org(session)
    hospital = f.customer(session, org.rep, name="仁济医院", roles=(DecisionRole.USER, DecisionRole.PURCHASER))
    contact_ids = [c.id for c in hospital.contacts]
    frozen_clock.advance(timedelta(days=-1))
    f.touchpoint(
        session,
        org.rep,
        hospital,
        emotion="positive",
        contact_ids=contact_ids,
        next_action="发送报价",
        next_action_due=clock.now() + timedelta(days=2),
    )
    frozen_clock.advance(timedelta(days=1))
    session.commit()
    org.hospital = hospital  # type: ignore[attr-defined]
    return org


def test_kept_figures_are_exactly_the_computed_ones(session, org):  # type: ignore[no-untyped-def]
    first = executive_snapshot(session, clock.now(), TZ)
    kept = executive_snapshot(session, clock.now(), TZ)

    assert first.computed_now and not kept.computed_now
    assert kept.figures == first.figures == executive_figures(session, clock.now(), TZ)
    assert kept.figures.visits_per_rep_month.numerator == 1
    assert kept.as_of == clock.now()


def test_served_while_young_then_recomputed(session, org, frozen_clock):  # type: ignore[no-untyped-def]
    executive_snapshot(session, clock.now(), TZ)
    f.touchpoint(session, org.rep, org.hospital, emotion="neutral")

    frozen_clock.advance(timedelta(minutes=10))  # dashboard.refresh_minutes: still young
    young = executive_snapshot(session, clock.now(), TZ)
    assert not young.computed_now
    assert young.figures.visits_per_rep_month.numerator == 1  # the new touchpoint is not in yet

    frozen_clock.advance(timedelta(seconds=1))
    old = executive_snapshot(session, clock.now(), TZ)
    assert old.computed_now
    assert old.figures.visits_per_rep_month.numerator == 2
    assert old.figures.window_end == clock.now()  # the page shows this as 统计窗口's end


def test_each_window_is_kept_apart(session, org):  # type: ignore[no-untyped-def]
    week = executive_snapshot(session, clock.now(), TZ, 7)
    quarter = executive_snapshot(session, clock.now(), TZ, 90)

    assert quarter.computed_now and (week.figures.window_days, quarter.figures.window_days) == (7, 90)
    assert executive_snapshot(session, clock.now(), TZ, 7).figures == week.figures


def test_a_snapshot_from_the_future_is_recomputed(session, org, frozen_clock):  # type: ignore[no-untyped-def]
    executive_snapshot(session, clock.now(), TZ)
    frozen_clock.advance(timedelta(minutes=-1))  # the clock was set back

    assert executive_snapshot(session, clock.now(), TZ).computed_now


def test_new_index_weights_drop_the_kept_figures(session, org):  # type: ignore[no-untyped-def]
    before = executive_snapshot(session, clock.now(), TZ)
    rule_settings.update(
        session, org.admin, "dashboard.health_weights", {"quality": 1.0, "compliance": 0.0, "penetration": 0.0}
    )

    after = executive_snapshot(session, clock.now(), TZ)
    assert after.computed_now
    assert before.figures.health.weights["quality"] == 0.4
    assert after.figures.health.weights["quality"] == 1.0


def test_drop_by_prefix_leaves_other_snapshots(session, org):  # type: ignore[no-untyped-def]
    executive_snapshot(session, clock.now(), TZ)
    dashboard_snapshots.refresh(session, "other:1", lambda at: org.hospital.id, clock.now())

    dashboard_snapshots.drop(session, "executive:")
    assert [s.key for s in session.query(DashboardSnapshot)] == ["other:1"]


def test_the_clock_job_refreshes_windows_past_half_their_life(session, org, frozen_clock):  # type: ignore[no-untyped-def]
    assert refresh_executive(clock.now().isoformat()) == [7, 30, 90]
    assert refresh_executive(clock.now().isoformat()) == []  # the same minute again: nothing to do

    frozen_clock.advance(timedelta(minutes=4, seconds=59))
    assert refresh_executive(clock.now().isoformat()) == []
    frozen_clock.advance(timedelta(seconds=2))  # past half of dashboard.refresh_minutes (10)
    assert refresh_executive(clock.now().isoformat()) == [7, 30, 90]

    session.rollback()
    served = executive_snapshot(session, clock.now() + timedelta(minutes=1), TZ)
    assert not served.computed_now  # a reader a minute later gets the refreshed figures at once


def test_the_clock_job_keeps_the_pipeline_forecast_fresh_too(session, org, frozen_clock):  # type: ignore[no-untyped-def]
    refresh_executive(clock.now().isoformat())
    session.rollback()
    kept = session.get(DashboardSnapshot, SNAPSHOT_KEY)
    assert kept is not None and kept.as_of == clock.now() and len(kept.figures["past"]) == 6
