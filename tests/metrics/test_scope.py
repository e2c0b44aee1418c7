"""Windows are half-open UTC ranges built from business dates; scopes resolve to the reps whose records count."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from salesnav.metrics import Scope, ScopeKind, Window, visits_per_rep_month
from salesnav.models import Role
from tests import factories as f
from tests.metrics.builders import touchpoint, utc


def test_week_of_is_monday_to_monday_in_business_time_stored_as_utc():
    week = Window.week_of(date(2026, 3, 4), "Asia/Shanghai")  # a Wednesday
    # Monday 2 March 00:00 in Shanghai (UTC+8) is Sunday 1 March 16:00 UTC.
    assert week.start == datetime(2026, 3, 1, 16, tzinfo=UTC)
    assert week.end == datetime(2026, 3, 8, 16, tzinfo=UTC)
    assert week.days == 7


def test_month_of_and_last_days():
    february = Window.month_of(date(2026, 2, 14), "Asia/Shanghai")
    assert (february.start, february.end) == (
        datetime(2026, 1, 31, 16, tzinfo=UTC),
        datetime(2026, 2, 28, 16, tzinfo=UTC),
    )
    assert february.days == 28
    last = Window.last_days(30, utc(3, 2, 1, 30))
    assert (last.start, last.end, last.days) == (utc(1, 31, 1, 30), utc(3, 2, 1, 30), 30)


def test_naive_or_reversed_windows_are_refused():
    with pytest.raises(ValueError, match="aware"):
        Window(datetime(2026, 3, 1), utc(3, 2))
    with pytest.raises(ValueError, match="before"):
        Window(utc(3, 2), utc(3, 1))


def test_window_includes_its_start_and_excludes_its_end(session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    window = Window(utc(2, 1), utc(3, 3))  # 30 days
    touchpoint(session, org.rep, cust, utc(1, 31, 23, 59, 59))  # one second before: the previous window
    touchpoint(session, org.rep, cust, utc(2, 1))  # exactly at the start: in
    touchpoint(session, org.rep, cust, utc(3, 3))  # exactly at the end: the next window
    assert visits_per_rep_month(session, window, Scope.rep(org.rep)).numerator == 1


def test_company_is_every_active_rep_and_nobody_else(session, frozen_clock):
    org = f.org(session)
    left = f.user(session, "rep09", Role.REP, org.sales, org.manager)
    left.active = False
    retired = f.user(session, "rep10", Role.REP, org.sales, org.manager)
    retired.deleted_at = frozen_clock.now()
    session.flush()
    company = Scope.company(session)
    assert company.kind is ScopeKind.COMPANY
    assert company.rep_ids == {org.rep.id, org.other_rep.id, org.outsider_rep.id}  # no managers, no leavers


def test_team_is_the_managers_reps_including_those_of_a_sub_manager(session, frozen_clock):
    org = f.org(session)
    sub_manager = f.user(session, "mgr03", Role.MANAGER, org.sales, org.manager)
    sub_rep = f.user(session, "rep11", Role.REP, org.sales, sub_manager)
    assert Scope.team(session, org.manager).rep_ids == {org.rep.id, org.other_rep.id, sub_rep.id}
    assert Scope.team(session, org.other_manager).rep_ids == {org.outsider_rep.id}
    assert Scope.team(session, org.marketer).rep_ids == set()  # nobody reports to them


def test_rep_scope_is_that_one_rep(session, frozen_clock):
    org = f.org(session)
    assert Scope.rep(org.rep).rep_ids == {org.rep.id} and Scope.rep(org.rep).rep_count == 1
