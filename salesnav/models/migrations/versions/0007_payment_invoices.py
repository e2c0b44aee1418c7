"""payment invoices: a payment confirmed from an invoice photo keeps the invoice, who confirmed it, the photo

One payment per invoice number (unique), so confirming the same invoice twice never counts the money twice.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invoice_no", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("invoice_code", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("invoice_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("recorded_by_id", BigId, nullable=True))
        batch_op.add_column(sa.Column("attachment_id", BigId, nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_payments_invoice_no"), ["invoice_no"])
        batch_op.create_foreign_key(batch_op.f("fk_payments_recorded_by_id_users"), "users", ["recorded_by_id"], ["id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_payments_attachment_id_attachments"), "attachments", ["attachment_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_payments_attachment_id_attachments"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_payments_recorded_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_payments_invoice_no"), type_="unique")
        batch_op.drop_column("attachment_id")
        batch_op.drop_column("recorded_by_id")
        batch_op.drop_column("invoice_date")
        batch_op.drop_column("invoice_code")
        batch_op.drop_column("invoice_no")
