"""Level 1 figures served live from the maintained aggregates: the same as computed from the records, today
counted at once, a back-dated change at the clock's next refresh (every 30 s), new settings at once; the
pipeline forecast still kept as a snapshot the clock refreshes."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from salesnav import clock
from salesnav.handlers import dashboard_snapshots, rule_settings
from salesnav.handlers.dashboards.executive import executive_figures, executive_snapshot
from salesnav.handlers.dashboards.forecast import SNAPSHOT_KEY
from salesnav.jobs.dashboards import refresh_executive, refresh_metric_aggregates
from salesnav.metrics import aggregates
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


def test_the_page_gets_the_figures_computed_for_it_from_the_aggregates(session, org):  # type: ignore[no-untyped-def]
    from_records = executive_figures(session, clock.now(), TZ)  # the aggregates are not built yet
    assert refresh_metric_aggregates(clock.now().isoformat()) == 0  # the first run builds them
    session.rollback()
    served = executive_snapshot(session, clock.now(), TZ)

    assert served.figures == from_records
    assert served.figures.visits_per_rep_month.numerator == 1
    assert served.as_of == clock.now()


def test_today_counts_at_once_and_a_back_dated_change_after_the_next_refresh(session, org, frozen_clock):  # type: ignore[no-untyped-def]
    refresh_metric_aggregates(clock.now().isoformat())
    session.rollback()
    f.touchpoint(session, org.rep, org.hospital, clock.now() - timedelta(minutes=1), emotion="neutral")  # today
    assert executive_snapshot(session, clock.now(), TZ).figures.visits_per_rep_month.numerator == 2

    f.touchpoint(session, org.rep, org.hospital, clock.now() - timedelta(days=3))  # an entry about 3 days ago
    session.commit()
    behind = executive_snapshot(session, clock.now(), TZ)
    assert behind.figures.visits_per_rep_month.numerator == 2  # not folded in yet: as_of says until when

    frozen_clock.advance(timedelta(seconds=30))  # the clock's next run
    assert refresh_metric_aggregates(clock.now().isoformat()) >= 1
    session.rollback()
    current = executive_snapshot(session, clock.now(), TZ)
    assert current.figures.visits_per_rep_month.numerator == 3
    assert current.as_of == clock.now() and behind.as_of == clock.now() - timedelta(seconds=30)
    assert refresh_metric_aggregates(clock.now().isoformat()) == 0  # again at once: nothing to fold in


def test_each_window_is_its_own(session, org):  # type: ignore[no-untyped-def]
    week = executive_snapshot(session, clock.now(), TZ, 7)
    quarter = executive_snapshot(session, clock.now(), TZ, 90)

    assert (week.figures.window_days, quarter.figures.window_days) == (7, 90)
    assert quarter.figures.window_start < week.figures.window_start < week.figures.window_end == clock.now()


def test_new_index_weights_apply_at_once(session, org):  # type: ignore[no-untyped-def]
    refresh_metric_aggregates(clock.now().isoformat())
    session.rollback()
    before = executive_snapshot(session, clock.now(), TZ)
    rule_settings.update(
        session, org.admin, "dashboard.health_weights", {"quality": 1.0, "compliance": 0.0, "penetration": 0.0}
    )

    after = executive_snapshot(session, clock.now(), TZ)
    assert before.figures.health.weights["quality"] == 0.4
    assert after.figures.health.weights["quality"] == 1.0


def test_a_new_lookback_is_computed_from_the_records_until_the_aggregates_are_rebuilt(session, org, frozen_clock):  # type: ignore[no-untyped-def]
    refresh_metric_aggregates(clock.now().isoformat())
    session.rollback()
    rule_settings.update(session, org.admin, "dashboard.quality_lookback_days", 30)
    session.commit()
    before_rebuild = executive_snapshot(session, clock.now(), TZ).figures
    frozen_clock.advance(timedelta(seconds=30))
    refresh_metric_aggregates(clock.now().isoformat())  # built with the old lookback: rebuilt
    session.rollback()
    assert aggregates.ready(session, TZ) is not None
    assert executive_snapshot(session, clock.now(), TZ).figures.health == before_rebuild.health


def test_drop_by_prefix_leaves_other_snapshots(session, org):  # type: ignore[no-untyped-def]
    dashboard_snapshots.refresh(session, "forecast:x", lambda at: org.hospital.id, clock.now())
    dashboard_snapshots.refresh(session, "other:1", lambda at: org.hospital.id, clock.now())

    dashboard_snapshots.drop(session, "forecast:")
    assert [s.key for s in session.query(DashboardSnapshot)] == ["other:1"]


def test_the_clock_job_keeps_the_pipeline_forecast_fresh(session, org, frozen_clock):  # type: ignore[no-untyped-def]
    assert refresh_executive(clock.now().isoformat())
    assert not refresh_executive(clock.now().isoformat())  # the same minute again: nothing to do
    session.rollback()
    kept = session.get(DashboardSnapshot, SNAPSHOT_KEY)
    assert kept is not None and kept.as_of == clock.now() and len(kept.figures["past"]) == 6
