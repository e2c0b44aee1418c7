"""metric aggregates: Level 1's sums per local day × rep, kept current through change markers

metric_day_rep holds the sums the Level 1 metrics divide, per business day and rep (salesnav/models/
metric_aggregates.py). Triggers write a metric_changes row, in the writer's own transaction, for every write
that can move a cell: a touchpoint, a stage change or a ticket part inserted, edited or retired, a deal
reassigned or retired. The clock's refresh (salesnav/metrics/aggregates.py, every 30 s) recomputes the marked
cells from the records and deletes the markers; markers are never merged, so a change committed while a
refresh runs is folded in by the next one. The cells are built by that refresh too (or at once by
`salesnav metrics rebuild`): until then the pages compute from the records, as before.

PostgreSQL: statement triggers with transition tables (one insert per statement, an import included);
an UPDATE marks only rows whose counted columns changed. SQLite: row triggers.

Revision ID: 0027
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base

revision: str = "0027"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARK = "INSERT INTO metric_changes (rep_id, at, customer_id) "
TOUCHPOINT_COLUMNS = (
    "rep_id",
    "occurred_at",
    "customer_id",
    "deleted_at",
    "emotion",
    "contact_roles",
    "next_action",
    "next_action_due",
)
PART_COLUMNS = ("ticket_id", "due_at", "closed_at", "first_valid_response_at", "created_at")


def _changed(columns: Sequence[str], new: str = "n", old: str = "o") -> str:
    return " OR ".join(f"{new}.{c} IS DISTINCT FROM {old}.{c}" for c in columns)


def _parts_of(rows: str) -> str:
    """Markers for ticket parts in `rows` (alias p): their due day and their opening day, for the deal's owner."""
    return (
        f"{MARK}SELECT o.owner_id, x.at, NULL::bigint FROM {rows} p "
        "JOIN collaboration_tickets t ON t.id = p.ticket_id JOIN opportunities o ON o.id = t.opportunity_id "
        "CROSS JOIN LATERAL (VALUES (p.due_at), (p.created_at)) x(at)"
    )


def _deal_records(deals: str) -> str:
    """Markers for every stage change and ticket part of the deals in `deals` (columns id, owner_id)."""
    return (
        f"{MARK}SELECT d.owner_id, s.occurred_at, NULL::bigint FROM {deals} d JOIN stage_transitions s "
        "ON s.opportunity_id = d.id "
        "UNION ALL SELECT d.owner_id, p.due_at, NULL::bigint FROM "
        f"{deals} d JOIN collaboration_tickets t ON t.opportunity_id = d.id JOIN ticket_parts p ON p.ticket_id = t.id "
        "UNION ALL SELECT d.owner_id, p.created_at, NULL::bigint FROM "
        f"{deals} d JOIN collaboration_tickets t ON t.opportunity_id = d.id JOIN ticket_parts p ON p.ticket_id = t.id"
    )


PG_FUNCTIONS = [
    f"""
CREATE FUNCTION metric_changes_touchpoints() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {MARK}SELECT rep_id, occurred_at, customer_id FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        {MARK}SELECT rep_id, occurred_at, customer_id FROM old_rows;
    ELSE
        {MARK}SELECT x.rep_id, x.occurred_at, x.customer_id FROM new_rows n JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL (VALUES (n.rep_id, n.occurred_at, n.customer_id), (o.rep_id, o.occurred_at, o.customer_id))
            x(rep_id, occurred_at, customer_id)
        WHERE {_changed(TOUCHPOINT_COLUMNS)};
    END IF;
    RETURN NULL;
END $$
""",
    f"""
CREATE FUNCTION metric_changes_stage_transitions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {MARK}SELECT o.owner_id, r.occurred_at, NULL::bigint FROM new_rows r JOIN opportunities o ON o.id = r.opportunity_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        {MARK}SELECT o.owner_id, r.occurred_at, NULL::bigint FROM old_rows r JOIN opportunities o ON o.id = r.opportunity_id;
    END IF;
    RETURN NULL;
END $$
""",
    f"""
CREATE FUNCTION metric_changes_ticket_parts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_parts_of("new_rows")};
    ELSIF TG_OP = 'DELETE' THEN
        {_parts_of("old_rows")};
    ELSE
        {_parts_of(f"(SELECT n.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {_changed(PART_COLUMNS)})")};
        {_parts_of(f"(SELECT o.* FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {_changed(PART_COLUMNS)})")};
    END IF;
    RETURN NULL;
END $$
""",
    f"""
CREATE FUNCTION metric_changes_opportunities() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {
        _deal_records(
            "(SELECT n.id, n.owner_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
            f"WHERE {_changed(('owner_id', 'deleted_at'))} "
            "UNION ALL SELECT o.id, o.owner_id FROM new_rows n JOIN old_rows o ON o.id = n.id "
            f"WHERE {_changed(('owner_id', 'deleted_at'))})"
        )
    };
    RETURN NULL;
END $$
""",
]
PG_TRIGGERS = [
    *(
        f"CREATE TRIGGER metric_changes_{table}_{op_name.lower()} AFTER {op_name} ON {table} "
        f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION metric_changes_{table}()"
        for table in ("touchpoints", "stage_transitions", "ticket_parts")
        for op_name, refs in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        )
    ),
    "CREATE TRIGGER metric_changes_opportunities_update AFTER UPDATE ON opportunities "
    "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION metric_changes_opportunities()",
]


def _sqlite_changed(columns: Sequence[str]) -> str:
    return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)


def _sqlite_part(row: str) -> str:
    return (
        f"{MARK}SELECT o.owner_id, {row}.due_at, NULL FROM collaboration_tickets t JOIN opportunities o "
        f"ON o.id = t.opportunity_id WHERE t.id = {row}.ticket_id; "
        f"{MARK}SELECT o.owner_id, {row}.created_at, NULL FROM collaboration_tickets t JOIN opportunities o "
        f"ON o.id = t.opportunity_id WHERE t.id = {row}.ticket_id;"
    )


def _sqlite_transition(row: str) -> str:
    return f"{MARK}SELECT owner_id, {row}.occurred_at, NULL FROM opportunities WHERE id = {row}.opportunity_id;"


def _sqlite_deal(row: str) -> str:
    return (
        f"{MARK}SELECT {row}.owner_id, occurred_at, NULL FROM stage_transitions WHERE opportunity_id = {row}.id; "
        f"{MARK}SELECT {row}.owner_id, p.due_at, NULL FROM collaboration_tickets t JOIN ticket_parts p "
        f"ON p.ticket_id = t.id WHERE t.opportunity_id = {row}.id; "
        f"{MARK}SELECT {row}.owner_id, p.created_at, NULL FROM collaboration_tickets t JOIN ticket_parts p "
        f"ON p.ticket_id = t.id WHERE t.opportunity_id = {row}.id;"
    )


SQLITE_TRIGGERS = {
    "metric_changes_touchpoints_insert": "AFTER INSERT ON touchpoints BEGIN "
    f"{MARK}VALUES (NEW.rep_id, NEW.occurred_at, NEW.customer_id); END",
    "metric_changes_touchpoints_update": f"AFTER UPDATE ON touchpoints WHEN {_sqlite_changed(TOUCHPOINT_COLUMNS)} "
    f"BEGIN {MARK}VALUES (NEW.rep_id, NEW.occurred_at, NEW.customer_id), "
    "(OLD.rep_id, OLD.occurred_at, OLD.customer_id); END",
    "metric_changes_touchpoints_delete": "AFTER DELETE ON touchpoints BEGIN "
    f"{MARK}VALUES (OLD.rep_id, OLD.occurred_at, OLD.customer_id); END",
    "metric_changes_stage_transitions_insert": f"AFTER INSERT ON stage_transitions BEGIN {_sqlite_transition('NEW')} END",
    "metric_changes_stage_transitions_update": "AFTER UPDATE ON stage_transitions BEGIN "
    f"{_sqlite_transition('NEW')} {_sqlite_transition('OLD')} END",
    "metric_changes_stage_transitions_delete": f"AFTER DELETE ON stage_transitions BEGIN {_sqlite_transition('OLD')} END",
    "metric_changes_ticket_parts_insert": f"AFTER INSERT ON ticket_parts BEGIN {_sqlite_part('NEW')} END",
    "metric_changes_ticket_parts_update": f"AFTER UPDATE ON ticket_parts WHEN {_sqlite_changed(PART_COLUMNS)} BEGIN "
    f"{_sqlite_part('NEW')} {_sqlite_part('OLD')} END",
    "metric_changes_ticket_parts_delete": f"AFTER DELETE ON ticket_parts BEGIN {_sqlite_part('OLD')} END",
    "metric_changes_opportunities_update": "AFTER UPDATE ON opportunities WHEN "
    f"{_sqlite_changed(('owner_id', 'deleted_at'))} BEGIN {_sqlite_deal('NEW')} {_sqlite_deal('OLD')} END",
}


def upgrade() -> None:
    op.create_table(
        "metric_day_rep",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rep_id", sa.BigInteger(), nullable=False),
        sa.Column("touchpoints", sa.Integer(), nullable=False),
        sa.Column("effective", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Float(), nullable=False),
        sa.Column("stage_changes", sa.Integer(), nullable=False),
        sa.Column("compliant_changes", sa.Integer(), nullable=False),
        sa.Column("parts_due", sa.Integer(), nullable=False),
        sa.Column("parts_on_time", sa.Integer(), nullable=False),
        sa.Column("parts_opened", sa.Integer(), nullable=False),
        sa.Column("parts_answered", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "rep_id", name=op.f("pk_metric_day_rep")),
    )
    op.create_table(
        "metric_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rep_id", sa.BigInteger(), nullable=False),
        sa.Column("at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_changes")),
    )
    op.create_table(
        "metric_aggregate_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("built_with", sa.String(length=200), nullable=False),
        sa.Column("rebuilt_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_aggregate_state")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in [*PG_FUNCTIONS, *PG_TRIGGERS]:
            op.execute(statement)
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER metric_changes_opportunities_update ON opportunities")
        for table in ("touchpoints", "stage_transitions", "ticket_parts"):
            for op_name in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER metric_changes_{table}_{op_name} ON {table}")
        for table in ("touchpoints", "stage_transitions", "ticket_parts", "opportunities"):
            op.execute(f"DROP FUNCTION metric_changes_{table}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("metric_aggregate_state")
    op.drop_table("metric_changes")
    op.drop_table("metric_day_rep")
