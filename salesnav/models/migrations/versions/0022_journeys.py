"""customer journeys (issue 20): journeys, journey_enrollments, journey_step_runs, journey_message_counts

- journeys: an admin-built journey, its definition as JSON (salesnav/handlers/journeys/definition.py).
- journey_enrollments: one customer's way through a journey; one active per (journey, customer), one per entry event.
- journey_step_runs: one step of one enrollment, unique per (enrollment, step key); wake_at (partial index) is when
  the runner next acts on it, so the clock's advance reads only what is due.
- journey_message_counts: journey messages per contact (or customer) and business day, the frequency cap's counter.

Installs the ready journey of the article's example (inactive) in a fresh company; salesnav/handlers/journeys/
examples.py holds the same definition (a migration may not import the use cases, so it is copied here as it was).

Revision ID: 0022
Revises: 0020
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import salesnav.models.base

READY_TEMPLATE = "whitepaper_three_departments"
READY_NAME = "白皮书下载后三部门联动"
READY_DESCRIPTION = "医院设备科主任下载《AI影像辅助诊断白皮书》后：销售当天发送同级医院案例，市场部 48 小时内预约区域技术顾问线上演示，交付部准备现有设备兼容性报告；客户 24 小时内是否阅读案例决定下一步。赢单即结束。"
READY_DEFINITION = json.loads(
    '{"trigger": {"kind": "material.downloaded", "filter": {"contact_title": "设备科", "material_title": "AI影像辅助诊断白皮书", "payload": {}}}, "steps": [{"key": "send_case", "title": "销售当天发送同级医院案例", "owner": {"type": "rep"}, "action": {"type": "card", "text": "{客户}的{联系人}刚下载了《AI影像辅助诊断白皮书》。请今天把同级医院的案例发给对方，完成后在待办里点完成。", "sla_hours": 8.0, "escalate_after_hours": 16.0}}, {"key": "book_demo", "title": "市场部预约区域技术顾问线上演示", "owner": {"type": "department", "value": "marketing"}, "action": {"type": "task", "text": "为{客户}（{联系人}）预约区域技术顾问做一次线上演示，{截止}前确认时间并告知{销售}。", "sla_hours": 48.0, "escalate_after_hours": 24.0}}, {"key": "compat_report", "title": "交付部准备设备兼容性报告", "owner": {"type": "department", "value": "delivery"}, "action": {"type": "ticket_part", "text": "为{客户}现有影像设备准备一份兼容性报告（AI影像辅助诊断方案），{截止}前上传。", "sla_hours": 72.0, "escalate_after_hours": 24.0}}, {"key": "case_read", "title": "客户 24 小时内是否阅读案例", "condition": {"event": "material.read", "within_hours": 24.0, "then": "book_visit", "else": "nudge"}}, {"key": "book_visit", "title": "趁热约设备科主任面谈", "owner": {"type": "rep"}, "action": {"type": "task", "text": "{联系人}已阅读案例，请在{截止}前约一次面谈，推进到方案演示。", "sla_hours": 48.0, "escalate_after_hours": 24.0}, "next": "end"}, {"key": "nudge", "title": "客户未读案例，换个方式跟进", "owner": {"type": "rep"}, "action": {"type": "message", "text": "{联系人}一天内还没有阅读案例，建议今天电话跟进一次。", "escalate_after_hours": 24.0}}], "exit": {"events": ["opportunity.won"]}, "reentry_days": 90, "quiet_hours": {"start": "21:00:00", "end": "08:00:00"}, "frequency_cap": {"per_contact_per_day": 3}}'
)

revision: str = "0022"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journey_message_counts",
        sa.Column("audience", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_message_counts")),
        sa.UniqueConstraint("audience", "day", name=op.f("uq_journey_message_counts_audience")),
    )
    op.create_table(
        "journeys",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("trigger_kind", sa.String(length=60), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=60), nullable=True),
        sa.Column("created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("activated_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_journeys_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
        sa.UniqueConstraint("template", name=op.f("uq_journeys_template")),
    )
    with op.batch_alter_table("journeys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journeys_active"), ["active"], unique=False)
        batch_op.create_index(batch_op.f("ix_journeys_trigger_kind"), ["trigger_kind"], unique=False)

    op.create_table(
        "journey_enrollments",
        sa.Column("journey_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("journey_version", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("entry_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("entered_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "active",
                "completed",
                "exited",
                name="enrollmentstate",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("current_step", sa.String(length=40), nullable=True),
        sa.Column("flow_ended_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exited_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exit_reason", sa.String(length=200), nullable=True),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_journey_enrollments_contact_id_contacts")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_journey_enrollments_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"], ["journeys.id"], name=op.f("fk_journey_enrollments_journey_id_journeys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_enrollments")),
        sa.UniqueConstraint("journey_id", "entry_event_id", name=op.f("uq_journey_enrollments_journey_id")),
    )
    with op.batch_alter_table("journey_enrollments", schema=None) as batch_op:
        batch_op.create_index("ix_journey_enrollments_customer_state", ["customer_id", "state"], unique=False)
        batch_op.create_index(
            "ix_journey_enrollments_journey_customer_entered", ["journey_id", "customer_id", "entered_at"], unique=False
        )
        batch_op.create_index("ix_journey_enrollments_journey_state", ["journey_id", "state"], unique=False)
        batch_op.create_index(
            "uq_journey_enrollments_one_active",
            ["journey_id", "customer_id"],
            unique=True,
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )

    op.create_table(
        "journey_step_runs",
        sa.Column("enrollment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("journey_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("step_key", sa.String(length=40), nullable=False),
        sa.Column("step_kind", sa.String(length=20), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "held",
                "waiting",
                "open",
                "done",
                "cancelled",
                "failed",
                name="steprunstate",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("due_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("wake_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sla_due_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "hold_reason",
            sa.Enum(
                "quiet_hours", "frequency_cap", name="holdreason", native_enum=False, create_constraint=True, length=32
            ),
            nullable=True,
        ),
        sa.Column("held_count", sa.Integer(), nullable=False),
        sa.Column("waiting_for", sa.String(length=60), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("owner_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("ticket_part_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["journey_enrollments.id"],
            name=op.f("fk_journey_step_runs_enrollment_id_journey_enrollments"),
        ),
        sa.ForeignKeyConstraint(["journey_id"], ["journeys.id"], name=op.f("fk_journey_step_runs_journey_id_journeys")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_journey_step_runs_owner_id_users")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_journey_step_runs_task_id_tasks")),
        sa.ForeignKeyConstraint(
            ["ticket_part_id"], ["ticket_parts.id"], name=op.f("fk_journey_step_runs_ticket_part_id_ticket_parts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_step_runs")),
        sa.UniqueConstraint("enrollment_id", "step_key", name=op.f("uq_journey_step_runs_enrollment_id")),
    )
    with op.batch_alter_table("journey_step_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journey_step_runs_journey_step_state", ["journey_id", "step_key", "state"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_journey_step_runs_task_id"), ["task_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_journey_step_runs_ticket_part_id"), ["ticket_part_id"], unique=False)
        batch_op.create_index(
            "ix_journey_step_runs_wake_at",
            ["wake_at"],
            unique=False,
            sqlite_where=sa.text("wake_at IS NOT NULL"),
            postgresql_where=sa.text("wake_at IS NOT NULL"),
        )

    _install_ready_journey()


def _install_ready_journey() -> None:
    journeys = sa.table(
        "journeys",
        sa.column("name", sa.String),
        sa.column("description", sa.Text),
        sa.column("definition", sa.JSON),
        sa.column("trigger_kind", sa.String),
        sa.column("active", sa.Boolean),
        sa.column("version", sa.Integer),
        sa.column("template", sa.String),
        sa.column("created_at", salesnav.models.base.UTCDateTime(timezone=True)),
        sa.column("updated_at", salesnav.models.base.UTCDateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        journeys,
        [
            {
                "name": READY_NAME,
                "description": READY_DESCRIPTION,
                "definition": READY_DEFINITION,
                "trigger_kind": READY_DEFINITION["trigger"]["kind"],
                "active": False,
                "version": 1,
                "template": READY_TEMPLATE,
                "created_at": now,
                "updated_at": now,
            }
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("journey_step_runs", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_journey_step_runs_wake_at",
            sqlite_where=sa.text("wake_at IS NOT NULL"),
            postgresql_where=sa.text("wake_at IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_journey_step_runs_ticket_part_id"))
        batch_op.drop_index(batch_op.f("ix_journey_step_runs_task_id"))
        batch_op.drop_index("ix_journey_step_runs_journey_step_state")

    op.drop_table("journey_step_runs")
    with op.batch_alter_table("journey_enrollments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_journey_enrollments_one_active",
            sqlite_where=sa.text("state = 'active'"),
            postgresql_where=sa.text("state = 'active'"),
        )
        batch_op.drop_index("ix_journey_enrollments_journey_state")
        batch_op.drop_index("ix_journey_enrollments_journey_customer_entered")
        batch_op.drop_index("ix_journey_enrollments_customer_state")

    op.drop_table("journey_enrollments")
    with op.batch_alter_table("journeys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journeys_trigger_kind"))
        batch_op.drop_index(batch_op.f("ix_journeys_active"))

    op.drop_table("journeys")
    op.drop_table("journey_message_counts")
