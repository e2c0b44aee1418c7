"""ticket notices: who hears of a ticket part, enablement requests as marketing parts, materials and reminders

- departments.ticket_notice_user_ids: the members (besides the head) the admin names to receive the
  department's collaboration ticket cards and reminders.
- ticket_parts.enablement_request_id: a 市场赋能请求 is answered as a marketing part of its own on the same
  ticket, so the one-part-per-department unique key becomes a partial unique index over the parts that
  answer no enablement request (one per request: a unique key on the new column).
- ticket_parts.material_ids: materials chosen from the library as the answer (besides uploaded files).
- ticket_parts.reminded_at: the one reminder before the deadline went out (the reminder job's idempotency).

Enablement requests made before this revision keep no part (they were never notified nor answerable).

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_SHARE_PER_DEPARTMENT = "enablement_request_id IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ticket_notice_user_ids", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("ticket_parts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("material_ids", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(
            sa.Column("enablement_request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.add_column(sa.Column("reminded_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_ticket_parts_enablement_request_id_enablement_requests"),
            "enablement_requests",
            ["enablement_request_id"],
            ["id"],
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_ticket_parts_enablement_request_id"), ["enablement_request_id"]
        )
        batch_op.drop_constraint("uq_ticket_parts_ticket_id", type_="unique")
        batch_op.create_index(
            "uq_ticket_parts_department_share",
            ["ticket_id", "department_id"],
            unique=True,
            sqlite_where=sa.text(ONE_SHARE_PER_DEPARTMENT),
            postgresql_where=sa.text(ONE_SHARE_PER_DEPARTMENT),
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_parts", schema=None) as batch_op:
        batch_op.drop_index("uq_ticket_parts_department_share")
        batch_op.create_unique_constraint("uq_ticket_parts_ticket_id", ["ticket_id", "department_id"])
        batch_op.drop_constraint(batch_op.f("uq_ticket_parts_enablement_request_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_ticket_parts_enablement_request_id_enablement_requests"), type_="foreignkey"
        )
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("enablement_request_id")
        batch_op.drop_column("material_ids")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_column("ticket_notice_user_ids")
