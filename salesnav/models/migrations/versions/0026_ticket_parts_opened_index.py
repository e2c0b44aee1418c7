"""ticket parts by opening time

First-response compliance counts the parts opened in a window (and Level 1 counts today's live); without
an index on created_at that read scanned every part ever opened, so its cost grew with the history.

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_parts_created_at", "ticket_parts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_parts_created_at", table_name="ticket_parts")
