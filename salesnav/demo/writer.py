"""Writing a finished plan with a handful of bulk INSERTs, in foreign-key order.

Explicit ids make the bulk insert possible and fast; they continue after whatever the tables already hold,
and PostgreSQL's sequences are moved past them afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from salesnav.models import (
    Attachment,
    ChecklistEvidence,
    CollaborationTicket,
    Contact,
    Customer,
    Department,
    EnablementRequest,
    IncentivePoints,
    Material,
    Opportunity,
    Payment,
    Receivable,
    StageTransition,
    TicketPart,
    Touchpoint,
    User,
    touchpoint_contacts,
)

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


# Insertion order respects foreign keys; circular ones (department heads, a touchpoint's opportunity) are
# inserted empty and filled in by `DemoPlan.updates` afterwards.
TABLES: tuple[tuple[str, Any], ...] = (
    ("departments", Department),
    ("users", User),
    ("attachments", Attachment),
    ("customers", Customer),
    ("contacts", Contact),
    ("touchpoints", Touchpoint),
    ("touchpoint_contacts", touchpoint_contacts),
    ("opportunities", Opportunity),
    ("stage_transitions", StageTransition),
    ("checklist_evidence", ChecklistEvidence),
    ("collaboration_tickets", CollaborationTicket),
    ("ticket_parts", TicketPart),
    ("enablement_requests", EnablementRequest),
    ("incentive_points", IncentivePoints),
    ("receivables", Receivable),
    ("payments", Payment),
    ("materials", Material),
)
UPDATES: dict[str, Any] = {"departments": Department, "touchpoints": Touchpoint}
ID_TABLES = [name for name, target in TABLES if target is not touchpoint_contacts]


def id_bases(session: Session) -> dict[str, int]:
    bases = {}
    for name, target in TABLES:
        if target is not touchpoint_contacts:
            bases[name] = session.scalar(select(func.coalesce(func.max(target.id), 0))) or 0
    return bases


def write(session: Session, plan: DemoPlan) -> None:
    plan.apply_health()
    session.flush()  # the stages, before the bulk statements that reference them
    for name, target in TABLES:
        rows = plan.rows.get(name)
        if not rows:
            continue
        statement = target.insert() if target is touchpoint_contacts else insert(target)
        for chunk in _chunks(rows, 5000):
            session.execute(statement, chunk)
    for name, model in UPDATES.items():
        if plan.updates.get(name):
            session.execute(update(model), plan.updates[name])
    _advance_sequences(session)


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _advance_sequences(session: Session) -> None:
    """Explicit ids bypass PostgreSQL's sequences: move them past the demo so later inserts do not collide."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY continues after the largest id by itself
    for name in ID_TABLES:
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 - fixed table names
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
            )
        )
