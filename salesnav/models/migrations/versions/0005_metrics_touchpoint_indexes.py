"""metrics touchpoint indexes: touchpoints by time, and by rep then time

The dashboard metrics count a window's touchpoints for the whole company (a range on occurred_at) or for a
team or one rep (rep_id, then the range), over a table that keeps every touchpoint forever.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 13:30:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.create_index("ix_touchpoints_occurred", ["occurred_at"], unique=False)
        batch_op.create_index("ix_touchpoints_rep_occurred", ["rep_id", "occurred_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_touchpoints_rep_occurred")
        batch_op.drop_index("ix_touchpoints_occurred")
