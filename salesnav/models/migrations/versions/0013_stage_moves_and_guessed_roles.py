"""stage move drafts and guessed contact roles

capture_drafts.kind gains "stage_move" (its CHECK constraint lists the allowed kinds): a deal moved in chat
collects its checklist items over several messages. contacts.decision_role_guessed marks a role inferred from a
title heard in a note (a new contact named in the chat), not set by a person.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ("touchpoint", "opportunity")
NEW = (*OLD, "stage_move")


def _kind(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="draftkind", native_enum=False, create_constraint=True, length=32)


def _retype(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_capture_drafts_draftkind"), "capture_drafts", type_="check")
        allowed = ", ".join(f"'{value}'" for value in new)
        op.create_check_constraint(op.f("ck_capture_drafts_draftkind"), "capture_drafts", f"kind IN ({allowed})")
        return
    with op.batch_alter_table("capture_drafts", recreate="always") as batch_op:
        batch_op.alter_column("kind", existing_type=_kind(old), type_=_kind(new), existing_nullable=False)


def upgrade() -> None:
    _retype(OLD, NEW)
    # A plain ADD COLUMN on both dialects: recreating contacts would drop its decision-role trigger (0009).
    op.add_column(
        "contacts", sa.Column("decision_role_guessed", sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("contacts", "decision_role_guessed")
    op.execute("UPDATE capture_drafts SET step = 'done' WHERE kind = 'stage_move'")
    _retype(NEW, OLD)
