"""Level 2 for a director (团队总览): every sales team side by side for one business week, so the director sees
which team needs attention and opens its battle map (battle_map.py) from there.

Each team is a manager's active reps, directly or through a sub-manager (the scope rule, `Scope.team`). Its
figures are the Level 1 parts for the team over the week so far — touchpoints, effective touchpoints per rep
per week, touchpoint quality, process compliance, collaboration penetration — read from the maintained
aggregates (salesnav/metrics/aggregates.py) per rep and added up per team, with the same functions that divide
them on Level 1; and the team's deals as they stand now: open deals, their expected amount and those the
follow-up policy finds silent (超时未动). A few set-based queries for all teams, however many there are: the
people, the week's sums per rep, the open deals per rep. While the aggregates are not built (a fresh install
before the clock's first refresh) the figures come from the records, team by team.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.follow_up_policy import open_deals_by_owner
from salesnav.metrics import Ratio, Scope, ScopeKind, Window, aggregates
from salesnav.metrics.activity import (
    effective_touchpoints_per_rep_week,
    touchpoint_quality,
    visits_per_rep_month,
)
from salesnav.metrics.aggregates import Sums
from salesnav.metrics.collaboration import collaboration_penetration
from salesnav.metrics.pipeline import process_compliance
from salesnav.models import Role, User


@dataclass(frozen=True)
class TeamFigures:
    manager_id: int
    manager_name: str
    reps: int
    touchpoints: int
    effective_per_rep_week: Ratio
    quality: Ratio
    compliance: Ratio
    penetration: Ratio
    open_deals: int
    open_amount_fen: int
    silent_deals: int  # open deals the follow-up policy finds overdue now (超时未动)


@dataclass(frozen=True)
class TeamsOverview:
    week_start: datetime
    week_end: datetime
    counted_until: datetime  # the week's end, or now while the week is the current one
    teams: list[TeamFigures]


def teams_overview(session: Session, day: date, now: datetime, tz: ZoneInfo) -> TeamsOverview:
    """Every active manager's team (ordered as the Level 2 page's team selector) for the business week
    containing `day`, counted up to `now` when the week is the current one."""
    week = Window.week_of(day, tz)
    until = Window(week.start, max(week.start, min(week.end, now)))
    users = session.execute(
        select(User.id, User.name, User.role, User.manager_id, User.active, User.deleted_at, User.wecom_userid)
    ).all()
    reports: dict[int, list[int]] = defaultdict(list)
    for u in users:
        if u.manager_id is not None:
            reports[u.manager_id].append(u.id)
    active_reps = {u.id for u in users if u.role is Role.REP and u.active and u.deleted_at is None}
    managers = sorted(
        (u for u in users if u.role is Role.MANAGER and u.active and u.deleted_at is None),
        key=lambda u: u.wecom_userid,
    )
    teams = {m.id: frozenset(_members(m.id, reports) & active_reps) for m in managers}
    everyone = frozenset().union(*teams.values()) if teams else frozenset()

    per_rep = aggregates.sums_by_rep(session, until, Scope(ScopeKind.TEAM, everyone), tz) if everyone else {}
    deals = _open_deals(session, everyone, now)
    out = []
    for m in managers:
        reps = teams[m.id]
        scope = Scope(ScopeKind.TEAM, reps)
        if per_rep is None:
            parts = _from_records(session, until, scope)
        else:
            sums = sum((per_rep.get(r, Sums()) for r in reps), Sums())
            parts = (
                int(sums.touchpoints),
                aggregates.effective_per_rep_week(sums, until, scope),
                aggregates.quality(sums),
                aggregates.compliance(sums),
                aggregates.penetration(sums),
            )
        counted = [deals.get(r, (0, 0, 0)) for r in reps]
        out.append(
            TeamFigures(
                m.id,
                m.name,
                len(reps),
                *parts,
                open_deals=sum(c[0] for c in counted),
                open_amount_fen=sum(c[1] for c in counted),
                silent_deals=sum(c[2] for c in counted),
            )
        )
    return TeamsOverview(week.start, week.end, until.end, out)


def _members(manager_id: int, reports: dict[int, list[int]]) -> set[int]:
    """The manager and everyone reporting to them, directly or through a sub-manager (`team_ids`)."""
    ids, frontier = {manager_id}, [manager_id]
    while frontier:
        frontier = [uid for m in frontier for uid in reports.get(m, []) if uid not in ids]
        ids.update(frontier)
    return ids


def _open_deals(session: Session, reps: frozenset[int], now: datetime) -> dict[int, tuple[int, int, int]]:
    """Per owner: open deals, their expected amount, and those silent past the follow-up policy's limit."""
    return open_deals_by_owner(session, Scope(ScopeKind.TEAM, reps), now) if reps else {}


def _from_records(session: Session, window: Window, scope: Scope) -> tuple[int, Ratio, Ratio, Ratio, Ratio]:
    visits = visits_per_rep_month(session, window, scope)
    return (
        int(visits.numerator),
        effective_touchpoints_per_rep_week(session, window, scope),
        touchpoint_quality(session, window, scope),
        process_compliance(session, window, scope),
        collaboration_penetration(session, window, scope),
    )
