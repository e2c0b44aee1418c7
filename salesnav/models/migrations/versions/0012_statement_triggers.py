"""statement triggers: touchpoints.contact_roles and stage_transitions.from_stage_entered_at kept per statement

Migrations 0009 and 0010 keep those columns with PostgreSQL triggers FOR EACH ROW: a bulk insert of 12,500
touchpoint participants (an Excel import) ran the refresh 12,500 times, each with a plan cached for other
table sizes. On PostgreSQL the insert, delete (and, for touchpoint_contacts, update) triggers become FOR EACH
STATEMENT with transition tables: one refresh per statement for all the touchpoints (or deals) it touched,
planned for that statement's rows (EXECUTE: one touchpoint from the bot and 12,500 from an import each get a
plan of their own). The values are exactly 0009's and 0010's (the same role bits; a stay is the previous
history row's time in (occurred_at, id) order, as 0010's backfill computes it). A row already holding the
right value is not rewritten: a writer that knows the participants writes contact_roles up front
(handlers/touchpoints.py), and the refresh then finds nothing to change.

Left FOR EACH ROW, because PostgreSQL allows no transition tables on a trigger limited to some columns, and
such statements touch a row or two: contacts_decision_role (UPDATE OF decision_role, 0009) and the
stage_transitions UPDATE OF opportunity_id, occurred_at (0010's function, which handles that case).
SQLite keeps 0009's and 0010's triggers: it has only row triggers, and they run in-process.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def refresh_roles(touched: str) -> str:
    """A dynamic-SQL string (quotes doubled) setting contact_roles of the touchpoints in `touched` to what
    0009's `roles_of` computes: 16 when any contact is present, plus a bit per decision role present."""
    return (
        "'UPDATE touchpoints t SET contact_roles = r.roles FROM ("
        "SELECT k.id, COALESCE(x.roles, 0) AS roles FROM (SELECT DISTINCT touchpoint_id AS id FROM "
        f"{touched}) k LEFT JOIN LATERAL (SELECT 16 + SUM(DISTINCT CASE c.decision_role WHEN ''influencer'' "
        "THEN 1 WHEN ''purchaser'' THEN 2 WHEN ''user'' THEN 4 WHEN ''veto'' THEN 8 ELSE 0 END) AS roles "
        "FROM touchpoint_contacts tc JOIN contacts c ON c.id = tc.contact_id WHERE tc.touchpoint_id = k.id) x ON true"
        ") r WHERE t.id = r.id AND t.contact_roles IS DISTINCT FROM r.roles'"
    )


PG_ROLES_FUNCTION = f"""
CREATE FUNCTION touchpoint_contacts_refresh_roles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE {refresh_roles("new_rows")};
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE {refresh_roles("old_rows")};
    ELSE
        EXECUTE {refresh_roles("(SELECT touchpoint_id FROM new_rows UNION SELECT touchpoint_id FROM old_rows) u")};
    END IF;
    RETURN NULL;
END $$
"""
PG_ROLES_TRIGGERS = [
    "CREATE TRIGGER touchpoint_contacts_roles_insert AFTER INSERT ON touchpoint_contacts "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION touchpoint_contacts_refresh_roles()",
    "CREATE TRIGGER touchpoint_contacts_roles_delete AFTER DELETE ON touchpoint_contacts "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION touchpoint_contacts_refresh_roles()",
    "CREATE TRIGGER touchpoint_contacts_roles_update AFTER UPDATE ON touchpoint_contacts "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION touchpoint_contacts_refresh_roles()",
]


def refresh_stays(touched: str) -> str:
    """A dynamic-SQL string: from_stage_entered_at of every history row of the deals in `touched`."""
    return (
        "'UPDATE stage_transitions t SET from_stage_entered_at = p.previous FROM ("
        "SELECT s.id, LAG(s.occurred_at) OVER (PARTITION BY s.opportunity_id ORDER BY s.occurred_at, s.id) "
        f"AS previous FROM stage_transitions s WHERE s.opportunity_id IN (SELECT opportunity_id FROM {touched})"
        ") p WHERE t.id = p.id AND t.from_stage_entered_at IS DISTINCT FROM p.previous'"
    )


# The refresh sets only from_stage_entered_at, so it fires no trigger of its own table.
PG_STAYS_FUNCTION = f"""
CREATE FUNCTION stage_transitions_refresh_entered_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE {refresh_stays("new_rows")};
    ELSE
        EXECUTE {refresh_stays("old_rows")};
    END IF;
    RETURN NULL;
END $$
"""
PG_STAYS_TRIGGERS = [
    "CREATE TRIGGER stage_transitions_entered_insert AFTER INSERT ON stage_transitions "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stage_transitions_refresh_entered_rows()",
    "CREATE TRIGGER stage_transitions_entered_delete AFTER DELETE ON stage_transitions "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stage_transitions_refresh_entered_rows()",
    "CREATE TRIGGER stage_transitions_entered_update AFTER UPDATE OF opportunity_id, occurred_at "
    "ON stage_transitions FOR EACH ROW EXECUTE FUNCTION stage_transitions_refresh_entered()",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER touchpoint_contacts_roles ON touchpoint_contacts")
    op.execute(PG_ROLES_FUNCTION)
    for statement in PG_ROLES_TRIGGERS:
        op.execute(statement)
    op.execute("DROP TRIGGER stage_transitions_entered ON stage_transitions")
    op.execute(PG_STAYS_FUNCTION)
    for statement in PG_STAYS_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in ("update", "delete", "insert"):
        op.execute(f"DROP TRIGGER stage_transitions_entered_{name} ON stage_transitions")
    op.execute("DROP FUNCTION stage_transitions_refresh_entered_rows()")
    op.execute(
        "CREATE TRIGGER stage_transitions_entered AFTER INSERT OR DELETE OR UPDATE OF opportunity_id, occurred_at "
        "ON stage_transitions FOR EACH ROW EXECUTE FUNCTION stage_transitions_refresh_entered()"
    )
    for name in ("update", "delete", "insert"):
        op.execute(f"DROP TRIGGER touchpoint_contacts_roles_{name} ON touchpoint_contacts")
    op.execute("DROP FUNCTION touchpoint_contacts_refresh_roles()")
    op.execute(
        "CREATE TRIGGER touchpoint_contacts_roles AFTER INSERT OR UPDATE OR DELETE ON touchpoint_contacts "
        "FOR EACH ROW EXECUTE FUNCTION touchpoints_refresh_contact_roles()"
    )
