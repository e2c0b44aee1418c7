"""credit waivers: a director's lifting of a credit freeze, kept on the deal with the amount it covers

A lifted freeze lets the deal go on at the amount the director saw without asking finance again; at another
amount the credit check runs afresh (salesnav/handlers/approvals.py, docs/credit-check.md).

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "credit_waivers",
        sa.Column("opportunity_id", BigId, nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("waived_by_id", BigId, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("frozen_reason", sa.Text(), nullable=True),
        sa.Column("waived_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", BigId, nullable=False),
        sa.Column("created_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"], name=op.f("fk_credit_waivers_opportunity_id_opportunities")
        ),
        sa.ForeignKeyConstraint(["waived_by_id"], ["users.id"], name=op.f("fk_credit_waivers_waived_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_waivers")),
    )
    with op.batch_alter_table("credit_waivers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_waivers_opportunity_id"), ["opportunity_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credit_waivers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_waivers_opportunity_id"))
    op.drop_table("credit_waivers")
