"""rule scan indexes: open alerts by rule and age, alerts by subject, open ticket parts by due time

The time rules scan every few seconds; these indexes keep each scan proportional to what
matches (open alerts, parts still open past their SLA), not to the history kept forever.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 12:40:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_state_rule_raised", ["state", "rule", "raised_at"], unique=False)
        batch_op.create_index("ix_alerts_subject", ["subject_type", "subject_id"], unique=False)
    with op.batch_alter_table("ticket_parts", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_parts_status_due", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket_parts", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_parts_status_due")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_subject")
        batch_op.drop_index("ix_alerts_state_rule_raised")
