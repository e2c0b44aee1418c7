"""job run leases: a run is held by a live process, and a run whose process died is taken over

- job_runs.lease_expires_at: the worker running the job renews it every few seconds (a heartbeat); once it
  lies in the past the process is gone, and the recovery sweep (salesnav/jobs/recovery.py) queues the job
  again. Runs started before this revision have none and fall back to their start time.
- job_runs.queue: the queue the job was sent to, so the sweep queues it again on the same one.
- status "queued" (no schema change): the job was committed but could not be handed to the queue (Redis was
  down); the sweep hands it over once the queue answers.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import salesnav.models.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("queue", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", salesnav.models.base.UTCDateTime(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_job_runs_status"), ["status"])


def downgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_index(batch.f("ix_job_runs_status"))
        batch.drop_column("lease_expires_at")
        batch.drop_column("queue")
