"""indexes that keep the dashboards' reads flat as history grows

Level 1 and the director's Level 2 read a window's worth of rows; on PostgreSQL these covering indexes let
them do so from the index alone, in key order, however many years the tables hold (at ten million
touchpoints the heap rows of one day are spread over thousands of pages that do not stay cached):

- metric_day_rep (day, rep_id) with every sum: a window's cells;
- touchpoints, live, by time with the next step (the effective test) and by customer and time with the roles
  present (a live day's decision-chain coverage): today's cells, computed from the records;
- opportunities, live and closed, by closing time with status, owner, customer and product line: the win rate
  and the stage baseline's year of closed deals;
- stage_transitions' stays by deal: those deals' stays.

And metric_first_touch: each customer's first live touchpoint, kept by the aggregates' refresh from the
touchpoint markers (they name the customer), so the lead funnel looks at the window's new customers only
instead of probing every customer touched in it for an earlier touch.

And metric_stage_day: the stage deviation's baseline (the stays of deals closed, per stage, product line and
grade) per local day of closing, kept by the same refresh. New triggers mark a closed deal's closing moment
(its owner, closed_at) when one of its stage changes is written, when its status, closing time, product line,
customer or retirement changes, and when its customer's grade changes.

SQLite gets the same indexes without the included columns.

Revision ID: 0025
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base

revision: str = "0025"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CELLS = [
    "touchpoints",
    "effective",
    "quality",
    "stage_changes",
    "compliant_changes",
    "parts_due",
    "parts_on_time",
    "parts_opened",
    "parts_answered",
]
STAYS = "from_stage_id IS NOT NULL AND from_stage_entered_at IS NOT NULL"
LIVE_CLOSED = "deleted_at IS NULL AND closed_at IS NOT NULL"


def _touchpoint_indexes(live_occurred: list[str], live_customer: list[str]) -> None:
    op.drop_index("ix_touchpoints_live_occurred", table_name="touchpoints")
    op.drop_index("ix_touchpoints_live_customer_occurred", table_name="touchpoints")
    where = {"postgresql_where": sa.text("deleted_at IS NULL"), "sqlite_where": sa.text("deleted_at IS NULL")}
    op.create_index(
        "ix_touchpoints_live_occurred", "touchpoints", ["occurred_at"], postgresql_include=live_occurred, **where
    )
    op.create_index(
        "ix_touchpoints_live_customer_occurred",
        "touchpoints",
        ["customer_id", "occurred_at"],
        postgresql_include=live_customer,
        **where,
    )


MARK = "INSERT INTO metric_changes (rep_id, at, customer_id) "
CLOSING = ("status", "closed_at", "product_line", "customer_id", "deleted_at", "owner_id")
PG_FUNCTIONS = [
    f"""
CREATE FUNCTION metric_changes_closed_deal_stays() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {MARK}SELECT o.owner_id, o.closed_at, NULL::bigint FROM new_rows r JOIN opportunities o ON o.id = r.opportunity_id
        WHERE o.closed_at IS NOT NULL;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        {MARK}SELECT o.owner_id, o.closed_at, NULL::bigint FROM old_rows r JOIN opportunities o ON o.id = r.opportunity_id
        WHERE o.closed_at IS NOT NULL;
    END IF;
    RETURN NULL;
END $$
""",
    f"""
CREATE FUNCTION metric_changes_closing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {MARK}SELECT x.owner_id, x.closed_at, NULL::bigint FROM new_rows n JOIN old_rows o ON o.id = n.id
    CROSS JOIN LATERAL (VALUES (n.owner_id, n.closed_at), (o.owner_id, o.closed_at)) x(owner_id, closed_at)
    WHERE x.closed_at IS NOT NULL AND ({" OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in CLOSING)});
    RETURN NULL;
END $$
""",
    f"""
CREATE FUNCTION metric_changes_customer_grade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {MARK}SELECT d.owner_id, d.closed_at, NULL::bigint FROM new_rows n JOIN old_rows c ON c.id = n.id
    JOIN opportunities d ON d.customer_id = n.id
    WHERE n.grade IS DISTINCT FROM c.grade AND d.closed_at IS NOT NULL;
    RETURN NULL;
END $$
""",
]
PG_TRIGGERS = {
    **{
        f"metric_changes_closed_deal_stays_{op_name.lower()}": f"AFTER {op_name} ON stage_transitions "
        f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION metric_changes_closed_deal_stays()"
        for op_name, refs in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        )
    },
    "metric_changes_closing": "AFTER UPDATE ON opportunities REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION metric_changes_closing()",
    "metric_changes_customer_grade": "AFTER UPDATE ON customers REFERENCING NEW TABLE AS new_rows "
    "OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION metric_changes_customer_grade()",
}
PG_TRIGGER_TABLES = {
    "metric_changes_closed_deal_stays_insert": "stage_transitions",
    "metric_changes_closed_deal_stays_update": "stage_transitions",
    "metric_changes_closed_deal_stays_delete": "stage_transitions",
    "metric_changes_closing": "opportunities",
    "metric_changes_customer_grade": "customers",
}


def _sqlite_closed_deal(row: str) -> str:
    return f"{MARK}SELECT owner_id, closed_at, NULL FROM opportunities WHERE id = {row}.opportunity_id AND closed_at IS NOT NULL;"


SQLITE_TRIGGERS = {
    "metric_changes_closed_deal_stays_insert": f"AFTER INSERT ON stage_transitions BEGIN {_sqlite_closed_deal('NEW')} END",
    "metric_changes_closed_deal_stays_update": "AFTER UPDATE ON stage_transitions BEGIN "
    f"{_sqlite_closed_deal('NEW')} {_sqlite_closed_deal('OLD')} END",
    "metric_changes_closed_deal_stays_delete": f"AFTER DELETE ON stage_transitions BEGIN {_sqlite_closed_deal('OLD')} END",
    "metric_changes_closing": "AFTER UPDATE ON opportunities WHEN "
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in CLOSING)
    + f" BEGIN {MARK}SELECT NEW.owner_id, NEW.closed_at, NULL WHERE NEW.closed_at IS NOT NULL; "
    f"{MARK}SELECT OLD.owner_id, OLD.closed_at, NULL WHERE OLD.closed_at IS NOT NULL; END",
    "metric_changes_customer_grade": "AFTER UPDATE ON customers WHEN NEW.grade IS NOT OLD.grade BEGIN "
    f"{MARK}SELECT owner_id, closed_at, NULL FROM opportunities WHERE customer_id = NEW.id AND closed_at IS NOT NULL; END",
}


def upgrade() -> None:
    op.create_table(
        "metric_stage_day",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stage_id", sa.BigInteger(), nullable=False),
        sa.Column("product_line", sa.String(length=100), nullable=False),
        sa.Column("grade", sa.String(length=20), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("stays", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_stage_day")),
    )
    op.create_index(op.f("ix_metric_stage_day_day"), "metric_stage_day", ["day"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_FUNCTIONS:
            op.execute(statement)
        for name, body in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    op.create_table(
        "metric_first_touch",
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("first_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_metric_first_touch")),
    )
    op.create_index(op.f("ix_metric_first_touch_first_at"), "metric_first_touch", ["first_at"])
    op.create_index("ix_metric_day_rep_cells", "metric_day_rep", ["day", "rep_id"], postgresql_include=CELLS)
    op.create_index(
        "ix_opportunities_live_closed",
        "opportunities",
        ["closed_at"],
        postgresql_include=["status", "owner_id", "customer_id", "product_line"],
        postgresql_where=sa.text(LIVE_CLOSED),
        sqlite_where=sa.text(LIVE_CLOSED),
    )
    op.create_index(
        "ix_stage_transitions_deal_stays",
        "stage_transitions",
        ["opportunity_id"],
        postgresql_include=["from_stage_id", "occurred_at", "from_stage_entered_at"],
        postgresql_where=sa.text(STAYS),
        sqlite_where=sa.text(STAYS),
    )
    if op.get_bind().dialect.name == "postgresql":
        _touchpoint_indexes(
            ["customer_id", "rep_id", "emotion", "contact_roles", "next_action_due", "next_action"],
            ["emotion", "id", "contact_roles"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, table in PG_TRIGGER_TABLES.items():
            op.execute(f"DROP TRIGGER {name} ON {table}")
        for function in ("metric_changes_closed_deal_stays", "metric_changes_closing", "metric_changes_customer_grade"):
            op.execute(f"DROP FUNCTION {function}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index(op.f("ix_metric_stage_day_day"), table_name="metric_stage_day")
    op.drop_table("metric_stage_day")
    if op.get_bind().dialect.name == "postgresql":
        _touchpoint_indexes(["customer_id", "rep_id", "emotion", "contact_roles"], ["emotion", "id"])
    op.drop_index("ix_stage_transitions_deal_stays", table_name="stage_transitions")
    op.drop_index("ix_opportunities_live_closed", table_name="opportunities")
    op.drop_index("ix_metric_day_rep_cells", table_name="metric_day_rep")
    op.drop_index(op.f("ix_metric_first_touch_first_at"), table_name="metric_first_touch")
    op.drop_table("metric_first_touch")
