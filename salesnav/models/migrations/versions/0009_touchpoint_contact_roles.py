"""touchpoint contact roles: the decision roles present on each touchpoint, kept by triggers, for the metrics

Touchpoint quality needs, per customer, the distinct decision roles among the contacts present in the last
90 days; joining touchpoint_contacts and contacts for that took about a second on a million touchpoints.
touchpoints.contact_roles holds the roles present as bits (influencer 1, purchaser 2, user 4, veto 8) plus 16
when any contact was present. Triggers on touchpoint_contacts (insert, update, delete) and on
contacts.decision_role keep it right whoever writes (handlers, import, seed); existing rows are filled here.
Two covering partial indexes let the company-wide figures read a window from the index alone (all live
touchpoints; the effective ones).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def roles_of(touchpoint_id: str) -> str:
    """SQL (PostgreSQL and SQLite): the contact_roles bits of the touchpoint whose id is `touchpoint_id`."""
    return (
        "COALESCE((SELECT 16 + SUM(DISTINCT CASE c.decision_role WHEN 'influencer' THEN 1 WHEN 'purchaser' THEN 2 "
        "WHEN 'user' THEN 4 WHEN 'veto' THEN 8 ELSE 0 END) FROM touchpoint_contacts tc "
        f"JOIN contacts c ON c.id = tc.contact_id WHERE tc.touchpoint_id = {touchpoint_id}), 0)"
    )


PG_FUNCTION = f"""
CREATE FUNCTION touchpoints_refresh_contact_roles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'contacts' THEN
        UPDATE touchpoints SET contact_roles = {roles_of("touchpoints.id")}
        WHERE id IN (SELECT touchpoint_id FROM touchpoint_contacts WHERE contact_id = NEW.id);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE touchpoints SET contact_roles = {roles_of("NEW.touchpoint_id")} WHERE id = NEW.touchpoint_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE touchpoints SET contact_roles = {roles_of("OLD.touchpoint_id")} WHERE id = OLD.touchpoint_id;
    END IF;
    RETURN NULL;
END $$
"""
PG_TRIGGERS = [
    "CREATE TRIGGER touchpoint_contacts_roles AFTER INSERT OR UPDATE OR DELETE ON touchpoint_contacts "
    "FOR EACH ROW EXECUTE FUNCTION touchpoints_refresh_contact_roles()",
    "CREATE TRIGGER contacts_decision_role AFTER UPDATE OF decision_role ON contacts "
    "FOR EACH ROW EXECUTE FUNCTION touchpoints_refresh_contact_roles()",
]
SQLITE_TRIGGERS = [
    "CREATE TRIGGER touchpoint_contacts_roles_insert AFTER INSERT ON touchpoint_contacts BEGIN "
    f"UPDATE touchpoints SET contact_roles = {roles_of('NEW.touchpoint_id')} WHERE id = NEW.touchpoint_id; END",
    "CREATE TRIGGER touchpoint_contacts_roles_delete AFTER DELETE ON touchpoint_contacts BEGIN "
    f"UPDATE touchpoints SET contact_roles = {roles_of('OLD.touchpoint_id')} WHERE id = OLD.touchpoint_id; END",
    "CREATE TRIGGER touchpoint_contacts_roles_update AFTER UPDATE ON touchpoint_contacts BEGIN "
    f"UPDATE touchpoints SET contact_roles = {roles_of('NEW.touchpoint_id')} WHERE id = NEW.touchpoint_id; "
    f"UPDATE touchpoints SET contact_roles = {roles_of('OLD.touchpoint_id')} WHERE id = OLD.touchpoint_id; END",
    "CREATE TRIGGER contacts_decision_role AFTER UPDATE OF decision_role ON contacts BEGIN "
    f"UPDATE touchpoints SET contact_roles = {roles_of('touchpoints.id')} "
    "WHERE id IN (SELECT touchpoint_id FROM touchpoint_contacts WHERE contact_id = NEW.id); END",
]
EFFECTIVE = "deleted_at IS NULL AND next_action IS NOT NULL AND trim(next_action) != '' AND next_action_due IS NOT NULL"
BACKFILL = (
    f"UPDATE touchpoints SET contact_roles = {roles_of('touchpoints.id')} "
    "WHERE id IN (SELECT touchpoint_id FROM touchpoint_contacts)"
)


def upgrade() -> None:
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_roles", sa.SmallInteger(), server_default=sa.text("0"), nullable=False))
    op.execute(BACKFILL)
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_touchpoints_live_occurred",
            ["occurred_at"],
            unique=False,
            postgresql_include=["customer_id", "rep_id", "emotion", "contact_roles"],
            postgresql_where=sa.text("deleted_at IS NULL"),
            sqlite_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "ix_touchpoints_effective_occurred",
            ["occurred_at"],
            unique=False,
            postgresql_include=["rep_id", "contact_roles"],
            postgresql_where=sa.text(EFFECTIVE),
            sqlite_where=sa.text(EFFECTIVE),
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER contacts_decision_role ON contacts")
        op.execute("DROP TRIGGER touchpoint_contacts_roles ON touchpoint_contacts")
        op.execute("DROP FUNCTION touchpoints_refresh_contact_roles()")
    else:
        for name in (
            "contacts_decision_role",
            "touchpoint_contacts_roles_update",
            "touchpoint_contacts_roles_delete",
            "touchpoint_contacts_roles_insert",
        ):
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("touchpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_touchpoints_effective_occurred")
        batch_op.drop_index("ix_touchpoints_live_occurred")
        batch_op.drop_column("contact_roles")
