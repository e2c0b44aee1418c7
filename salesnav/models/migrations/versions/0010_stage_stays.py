"""stage stays: when each transition's from-stage was entered, kept by triggers; indexes for the dashboards

The stage metrics (advancement deviation, funnel dwell) need, for every stage change, the time spent in the
stage it left: since the previous history row of the opportunity (by occurred_at, then id). A LAG over the
whole history took most of a second on 100,000 opportunities; stage_transitions.from_stage_entered_at holds
that previous row's occurred_at (NULL on the first row), so a stay is one row's difference. Triggers on
stage_transitions (insert, delete, and an update of opportunity_id or occurred_at) recompute it for the
opportunity's few rows, so every writer (handlers, import, seed) keeps it right; existing rows are filled here.

The lead funnel asks, per customer touched in a window, whether a live touchpoint came before it: a partial
(customer_id, occurred_at) index on the live touchpoints answers that from the index alone, and (with the
emotion and id included) gives the battle map each customer's latest readings. A second one, by opportunity,
gives the battle map each deal's follow-up times.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def previous_of(row: str) -> str:
    """SQL (PostgreSQL and SQLite): the occurred_at of the history row before `row` of the same opportunity."""
    return (
        f"(SELECT p.occurred_at FROM stage_transitions p WHERE p.opportunity_id = {row}.opportunity_id "
        f"AND (p.occurred_at < {row}.occurred_at OR (p.occurred_at = {row}.occurred_at AND p.id < {row}.id)) "
        "ORDER BY p.occurred_at DESC, p.id DESC LIMIT 1)"
    )


def refresh(opportunity_id: str) -> str:
    return (
        f"UPDATE stage_transitions SET from_stage_entered_at = {previous_of('stage_transitions')} "
        f"WHERE opportunity_id = {opportunity_id}"
    )


PG_FUNCTION = f"""
CREATE FUNCTION stage_transitions_refresh_entered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {refresh("NEW.opportunity_id")};
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.opportunity_id <> NEW.opportunity_id) THEN
        {refresh("OLD.opportunity_id")};
    END IF;
    RETURN NULL;
END $$
"""
# The trigger's own UPDATE sets only from_stage_entered_at, so it does not fire the trigger again.
PG_TRIGGER = (
    "CREATE TRIGGER stage_transitions_entered AFTER INSERT OR DELETE OR UPDATE OF opportunity_id, occurred_at "
    "ON stage_transitions FOR EACH ROW EXECUTE FUNCTION stage_transitions_refresh_entered()"
)
SQLITE_TRIGGERS = [
    "CREATE TRIGGER stage_transitions_entered_insert AFTER INSERT ON stage_transitions BEGIN "
    f"{refresh('NEW.opportunity_id')}; END",
    "CREATE TRIGGER stage_transitions_entered_delete AFTER DELETE ON stage_transitions BEGIN "
    f"{refresh('OLD.opportunity_id')}; END",
    "CREATE TRIGGER stage_transitions_entered_update AFTER UPDATE OF opportunity_id, occurred_at "
    f"ON stage_transitions BEGIN {refresh('NEW.opportunity_id')}; {refresh('OLD.opportunity_id')}; END",
]
# The backfill (also run by bench/dashboards.py after its bulk load with triggers off).
BACKFILL = {
    "postgresql": (
        "UPDATE stage_transitions t SET from_stage_entered_at = p.previous FROM ("
        "SELECT id, LAG(occurred_at) OVER (PARTITION BY opportunity_id ORDER BY occurred_at, id) AS previous "
        "FROM stage_transitions) p WHERE p.id = t.id AND p.previous IS NOT NULL"
    ),
    "sqlite": f"UPDATE stage_transitions SET from_stage_entered_at = {previous_of('stage_transitions')}",
}
STAYS_WHERE = "from_stage_id IS NOT NULL AND from_stage_entered_at IS NOT NULL"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("stage_transitions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("from_stage_entered_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute(BACKFILL[dialect])
    with op.batch_alter_table("stage_transitions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stage_transitions_stays",
            ["occurred_at"],
            unique=False,
            postgresql_include=["opportunity_id", "from_stage_id", "from_stage_entered_at"],
            postgresql_where=sa.text(STAYS_WHERE),
            sqlite_where=sa.text(STAYS_WHERE),
        )
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_touchpoints_live_customer_occurred",
            ["customer_id", "occurred_at"],
            unique=False,
            postgresql_include=["emotion", "id"],
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "ix_touchpoints_live_opportunity_occurred",
            ["opportunity_id", "occurred_at"],
            unique=False,
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER stage_transitions_entered ON stage_transitions")
        op.execute("DROP FUNCTION stage_transitions_refresh_entered()")
    else:
        for name in ("update", "delete", "insert"):
            op.execute(f"DROP TRIGGER stage_transitions_entered_{name}")
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_touchpoints_live_opportunity_occurred")
        batch_op.drop_index("ix_touchpoints_live_customer_occurred")
    with op.batch_alter_table("stage_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_transitions_stays")
        batch_op.drop_column("from_stage_entered_at")
