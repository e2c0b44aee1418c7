"""qr scenes: what a scanned mini-program QR code opens, until when

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qr_scenes",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("expo", sa.String(length=100), nullable=True),
        sa.Column("created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("expires_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_qr_scenes_created_by_id_users")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_qr_scenes_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qr_scenes")),
    )


def downgrade() -> None:
    op.drop_table("qr_scenes")
