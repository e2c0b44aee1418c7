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

SQLite gets the same indexes without the included columns.

Revision ID: 0025
Revises: 0027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0027"
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


def upgrade() -> None:
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
        _touchpoint_indexes(["customer_id", "rep_id", "emotion", "contact_roles"], ["emotion", "id"])
    op.drop_index("ix_stage_transitions_deal_stays", table_name="stage_transitions")
    op.drop_index("ix_opportunities_live_closed", table_name="opportunities")
    op.drop_index("ix_metric_day_rep_cells", table_name="metric_day_rep")
