"""domain events by kind and time; one touchpoint index fewer

Every read of domain events names their kind, and those by time name it too (the diagnosis count, a rep's
evidence, the daily report, an account's failed logins): one index on (kind, occurred_at) serves them all,
where two indexes (kind; occurred_at) were kept up on every write. touchpoints(rep_id) is the first column of
touchpoints(rep_id, occurred_at), which serves the same reads. An Excel import writes some 37,500 events and
12,500 touchpoints for 10,000 rows: two index insertions fewer for each.

Revision ID: 0028
Revises: 0026
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_domain_events_kind_occurred", "domain_events", ["kind", "occurred_at"])
    op.drop_index("ix_domain_events_kind", table_name="domain_events")
    op.drop_index("ix_domain_events_occurred_at", table_name="domain_events")
    op.drop_index("ix_touchpoints_rep_id", table_name="touchpoints")


def downgrade() -> None:
    op.create_index("ix_touchpoints_rep_id", "touchpoints", ["rep_id"])
    op.create_index("ix_domain_events_occurred_at", "domain_events", ["occurred_at"])
    op.create_index("ix_domain_events_kind", "domain_events", ["kind"])
    op.drop_index("ix_domain_events_kind_occurred", table_name="domain_events")
