"""contracts and instalment plans (回款): a won deal's contract, its instalments as receivables

- contracts: one per won deal — amount, signing date, contract number, who entered it.
- receivables.contract_id / instalment_no: the instalment a receivable is (NULL for a receivable entered or
  imported on its own); one receivable per instalment number of a contract.

Revision ID: 0019
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base

revision: str = "0019"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("opportunity_id", BigId, nullable=False),
        sa.Column("customer_id", BigId, nullable=False),
        sa.Column("contract_no", sa.String(length=64), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("entered_by_id", BigId, nullable=False),
        sa.Column("id", BigId, nullable=False),
        sa.Column("created_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"], name=op.f("fk_contracts_opportunity_id_opportunities")
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_contracts_customer_id_customers")),
        sa.ForeignKeyConstraint(["entered_by_id"], ["users.id"], name=op.f("fk_contracts_entered_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("opportunity_id", name=op.f("uq_contracts_opportunity_id")),
    )
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contracts_customer_id"), ["customer_id"], unique=False)
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contract_id", BigId, nullable=True))
        batch_op.add_column(sa.Column("instalment_no", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_receivables_contract_id_contracts"), "contracts", ["contract_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_receivables_contract_id"), ["contract_id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_receivables_contract_id"), ["contract_id", "instalment_no"])


def downgrade() -> None:
    with op.batch_alter_table("receivables", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_receivables_contract_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_receivables_contract_id"))
        batch_op.drop_constraint(batch_op.f("fk_receivables_contract_id_contracts"), type_="foreignkey")
        batch_op.drop_column("instalment_no")
        batch_op.drop_column("contract_id")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contracts_customer_id"))
    op.drop_table("contracts")
