"""win models: win-probability models learned from the company's closed deals (salesnav/models/win_models.py)

Revision ID: 0017
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base

revision: str = "0017"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "win_models",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("trained_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("in_use", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_win_models")),
        sa.UniqueConstraint("version", name=op.f("uq_win_models_version")),
    )
    op.create_index(op.f("ix_win_models_in_use"), "win_models", ["in_use"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_win_models_in_use"), table_name="win_models")
    op.drop_table("win_models")
