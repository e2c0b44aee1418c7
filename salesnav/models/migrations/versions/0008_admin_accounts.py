"""admin accounts: bootstrap password sign-in for the admin page

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base


revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "admin_accounts",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_login_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_admin_accounts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_admin_accounts_username")),
    )
    op.create_index(op.f("ix_admin_accounts_user_id"), "admin_accounts", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_admin_accounts_user_id"), table_name="admin_accounts")
    op.drop_table("admin_accounts")
