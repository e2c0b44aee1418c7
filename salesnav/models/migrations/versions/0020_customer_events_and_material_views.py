"""customer events and material views (issue 20: behaviour events)

- customer_events: one timeline of what a customer did or what happened to them (a 雷达 link opened or read,
  a touchpoint, a stage move, a payment, an outside system's webhook, ...); unique dedupe_key = idempotent.
- material_views: one opening of a tracked material link, its reading time and whether the rep was told.

Revision ID: 0020
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base

revision: str = "0020"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_events",
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("occurred_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_customer_events_contact_id_contacts")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_events_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_customer_events_dedupe_key")),
    )
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.create_index("ix_customer_events_customer_occurred", ["customer_id", "occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_events_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "material_views",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("material_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("rep_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("opened_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_seconds", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("downloaded_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("read_reported_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_material_views_contact_id_contacts")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_material_views_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["material_id"], ["materials.id"], name=op.f("fk_material_views_material_id_materials")
        ),
        sa.ForeignKeyConstraint(["rep_id"], ["users.id"], name=op.f("fk_material_views_rep_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_material_views")),
        sa.UniqueConstraint("nonce", name=op.f("uq_material_views_nonce")),
    )
    with op.batch_alter_table("material_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_material_views_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_material_views_token_digest"), ["token_digest"], unique=False)
        batch_op.create_index("ix_material_views_unreported", ["read_reported_at", "last_seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("material_views", schema=None) as batch_op:
        batch_op.drop_index("ix_material_views_unreported")
        batch_op.drop_index(batch_op.f("ix_material_views_token_digest"))
        batch_op.drop_index(batch_op.f("ix_material_views_customer_id"))

    op.drop_table("material_views")
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_events_occurred_at"))
        batch_op.drop_index("ix_customer_events_customer_occurred")

    op.drop_table("customer_events")
