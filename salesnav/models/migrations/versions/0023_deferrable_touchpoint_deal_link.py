"""touchpoints.opportunity_id's foreign key deferrable (still checked at once unless a transaction defers it)

An Excel import opens thousands of deals from touchpoints it writes in the same transaction. The touchpoint
and its deal reference each other (opportunities.last_touchpoint_id, touchpoints.opportunity_id): with this
key deferred for the transaction (`bulk.defer_deal_links`), the touchpoint is written already linked to its
deal's id, taken up front, and the deal right after — instead of an UPDATE of every such touchpoint.
SQLite defers every foreign key of a transaction with PRAGMA defer_foreign_keys; its schema text says
DEFERRABLE too (so that the schema matches the models), edited in place the way SQLite documents for a
change to a foreign key that leaves the stored rows as they are (writable_schema, then a new schema version).

Revision ID: 0023
Revises: 0027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "fk_touchpoints_opportunity_id_opportunities"
SQLITE_PLAIN = f"CONSTRAINT {CONSTRAINT} FOREIGN KEY(opportunity_id) REFERENCES opportunities (id)"
SQLITE_DEFERRABLE = f"{SQLITE_PLAIN} DEFERRABLE INITIALLY IMMEDIATE"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE touchpoints ALTER CONSTRAINT {CONSTRAINT} DEFERRABLE INITIALLY IMMEDIATE")
    else:
        _sqlite_schema(SQLITE_PLAIN, SQLITE_DEFERRABLE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE touchpoints ALTER CONSTRAINT {CONSTRAINT} NOT DEFERRABLE")
    else:
        _sqlite_schema(SQLITE_DEFERRABLE, SQLITE_PLAIN)


def _sqlite_schema(old: str, new: str) -> None:
    bind = op.get_bind()
    sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'touchpoints'")).scalar()
    if sql is None or old not in sql or (new.startswith(old) and new in sql):
        raise RuntimeError(f"touchpoints: {CONSTRAINT} is not as this migration expects")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'touchpoints'"),
        {"sql": sql.replace(old, new)},
    )
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))
