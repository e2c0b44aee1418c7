"""What the plan knows about a customer, a touchpoint and a deal before they become rows.

Cross-references are kept as objects while planning (a deal points at the touchpoints its stage changes were
made from) and turned into ids only when the rows are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from salesnav.models import CustomerKind, Emotion, OpportunityStatus


@dataclass
class PlannedCustomer:
    id: int
    name: str
    kind: CustomerKind
    grade: str | None
    region: str
    owner_id: int
    contacts: list[tuple[int, str, str]] = field(default_factory=list)  # id, display name, title
    roled: list[tuple[int, str, str]] = field(default_factory=list)  # the contacts with a decision-chain role
    roleless: list[tuple[int, str, str]] = field(default_factory=list)  # and those without
    deals: list[PlannedDeal] = field(default_factory=list)
    touches: list[PlannedTouchpoint] = field(default_factory=list)
    established: bool = False  # known before the six months (else a new lead during them)
    converted: bool = False  # a new lead that got an opportunity
    first_touch: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    punctuality: float = 1.0
    lateness: float = 0.0  # accumulated share of late instalments not yet "spent"


@dataclass
class PlannedTouchpoint:
    id: int
    cust: PlannedCustomer
    occurred_at: datetime
    kind: str = "routine"  # first / lead / stage / follow_up / routine
    deal: PlannedDeal | None = None  # the opportunity it is linked to
    record: str = "complete"  # complete / effective (but incomplete) / ineffective
    emotion: Emotion = Emotion.NEUTRAL


@dataclass
class PlannedDeal:
    id: int
    cust: PlannedCustomer
    product: str
    amount_yuan: int
    path: list[str]  # stage codes entered, creation first
    status: OpportunityStatus
    times: list[datetime]  # when each stage of `path` was entered (planned: the stage touchpoints' times)
    stale: bool = False  # open and not followed up for more than 72 h
    from_first_touch: bool = False  # created from the lead's very first touchpoint
    # the touchpoint each stage change was made from
    stage_touches: list[PlannedTouchpoint] = field(default_factory=list)
    transition_times: list[datetime] = field(default_factory=list)


class IdCounter:
    """Explicit ids, continuing after whatever the tables already hold."""

    def __init__(self, bases: dict[str, int]) -> None:
        self._next = dict(bases)

    def __call__(self, table: str) -> int:
        self._next[table] = self._next.get(table, 0) + 1
        return self._next[table]
