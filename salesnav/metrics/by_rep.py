"""The same metrics, per rep: the counts behind each ratio grouped by rep in one statement each, so a team's
report (or five hundred of them) sums its reps' counts instead of asking again per team.

Each count uses the definition the scope-wide metric uses (`Touchpoint.is_effective`, `is_complete_record`, the
stage moves `process_compliance` counts, the deals `win_rate` counts), and `TeamFigures` divides the sums exactly
as those metrics divide theirs: a team's figures equal
`effective_touchpoints_per_rep_week(session, window, Scope.team(…))` and the others
(tests/metrics/test_by_rep.py holds them to it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from salesnav.metrics.activity import _touchpoints_in, is_complete_record
from salesnav.metrics.pipeline import CLOSED, _transitions_left_in
from salesnav.metrics.results import Ratio
from salesnav.metrics.scope import Scope, Window
from salesnav.models import Opportunity, OpportunityStatus, StageTransition, Touchpoint


@dataclass
class RepCounts:
    """One rep's counts over a window (all zero for a rep with nothing in it)."""

    touchpoints: int = 0
    effective: int = 0
    complete: int = 0
    stage_moves: int = 0
    compliant_moves: int = 0
    closed: int = 0
    won: int = 0
    won_amount_fen: int = 0

    def add(self, other: RepCounts) -> None:
        # Spelt out: a team report sums thousands of these (fields() per call costs more than the sums).
        self.touchpoints += other.touchpoints
        self.effective += other.effective
        self.complete += other.complete
        self.stage_moves += other.stage_moves
        self.compliant_moves += other.compliant_moves
        self.closed += other.closed
        self.won += other.won
        self.won_amount_fen += other.won_amount_fen


def counts_by_rep(session: Session, window: Window, scope: Scope) -> dict[int, RepCounts]:
    """Each rep in `scope` with their counts over `window`: three statements, whatever the number of reps."""
    out: dict[int, RepCounts] = {}

    def of(rep_id: int) -> RepCounts:
        return out.setdefault(rep_id, RepCounts())

    for rep_id, total, effective, complete in session.execute(
        select(
            Touchpoint.rep_id,
            func.count(),
            func.count(case((Touchpoint.is_effective, 1))),
            func.count(case((is_complete_record(), 1))),
        )
        .where(*_touchpoints_in(window, scope))
        .group_by(Touchpoint.rep_id)
    ):
        counts = of(rep_id)
        counts.touchpoints, counts.effective, counts.complete = total, effective, complete

    compliant = and_(StageTransition.checklist_complete.is_(True), StageTransition.override_reason.is_(None))
    for owner_id, moves, ok in session.execute(
        select(Opportunity.owner_id, func.count(), func.count(case((compliant, 1))))
        .select_from(StageTransition)
        .join(Opportunity, Opportunity.id == StageTransition.opportunity_id)
        .where(*_transitions_left_in(window, scope))
        .group_by(Opportunity.owner_id)
    ):
        counts = of(owner_id)
        counts.stage_moves, counts.compliant_moves = moves, ok

    won = Opportunity.status == OpportunityStatus.WON
    for owner_id, closed, won_count, won_fen in session.execute(
        select(
            Opportunity.owner_id,
            func.count(),
            func.count(case((won, 1))),
            func.coalesce(func.sum(case((won, Opportunity.expected_amount_fen), else_=0)), 0),
        )
        .where(
            Opportunity.status.in_(CLOSED),
            window.contains(Opportunity.closed_at),
            scope.covers(Opportunity.owner_id),
            Opportunity.deleted_at.is_(None),
        )
        .group_by(Opportunity.owner_id)
    ):
        counts = of(owner_id)
        counts.closed, counts.won, counts.won_amount_fen = closed, won_count, int(won_fen)
    return out


@dataclass(frozen=True)
class TeamFigures:
    """A set of reps' figures over a window, from their summed counts, divided as the metrics divide."""

    reps: int
    days: float
    totals: RepCounts

    @classmethod
    def of(cls, window: Window, rep_ids: Iterable[int], counts: Mapping[int, RepCounts]) -> TeamFigures:
        ids = set(rep_ids)
        totals = RepCounts()
        for rep_id in ids:
            if rep_id in counts:
                totals.add(counts[rep_id])
        return cls(len(ids), window.days, totals)

    @property
    def effective_per_rep_week(self) -> Ratio:
        """= metrics.effective_touchpoints_per_rep_week"""
        return Ratio.of(self.totals.effective, self.reps * self.days / 7)

    @property
    def visits_per_rep_month(self) -> Ratio:
        """= metrics.visits_per_rep_month"""
        return Ratio.of(self.totals.touchpoints, self.reps * self.days / 30)

    @property
    def record_completeness(self) -> Ratio:
        """= metrics.record_completeness"""
        return Ratio.of(self.totals.complete, self.totals.touchpoints)

    @property
    def process_compliance(self) -> Ratio:
        """= metrics.process_compliance"""
        return Ratio.of(self.totals.compliant_moves, self.totals.stage_moves)

    @property
    def win_rate(self) -> Ratio:
        """= metrics.win_rate"""
        return Ratio.of(self.totals.won, self.totals.closed)
