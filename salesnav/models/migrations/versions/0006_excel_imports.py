"""excel imports: each Excel migration is a recorded batch (idempotent by file hash, undone as one)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 12:47:10.722833
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "excel_imports",
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "previewed",
                "queued",
                "running",
                "done",
                "failed",
                "undone",
                name="importstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("file_date", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("corrections", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("created_ids", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("started_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("undone_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_excel_imports_created_by_id_users")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_excel_imports_owner_id_users")),
        sa.ForeignKeyConstraint(["undone_by_id"], ["users.id"], name=op.f("fk_excel_imports_undone_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_excel_imports")),
    )
    with op.batch_alter_table("excel_imports", schema=None) as batch_op:
        batch_op.create_index("ix_excel_imports_owner_hash", ["owner_id", "file_sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("excel_imports", schema=None) as batch_op:
        batch_op.drop_index("ix_excel_imports_owner_hash")

    op.drop_table("excel_imports")
