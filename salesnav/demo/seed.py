"""Deterministic demo data: the article's company (186 staff, 53 reps) and six months of its activity.

The whole demo is first *planned* in memory — plain row dicts with explicit ids, drawn from
`random.Random(seed)` — and then written with a handful of bulk INSERTs. Planning first keeps the
cross-references exact (a stage transition always points at a real touchpoint of the same customer)
and makes seeding fast enough for `make run` on a small machine.

This module is the entry point; the work is split by what it makes: `baseline` (the figures), `plan/` (one
module per step of the plan: org, customers, deals, touchpoints, touchpoint rows, opportunities, attachments,
collaboration, finance, materials), `writer` (the bulk INSERTs) and `summary` (the figures measured back).

Every time is anchored to `clock.now()` truncated to the (UTC) day. The last six months hold the full
activity; the HISTORY_DAYS before them hold only the older deals of the established accounts (their stage
changes and the touchpoints those were made from, as imported from the old CRM), because the stage
deviation metric compares a stay with similar deals closed in the 12 months before the window.

The article's baseline is built in on purpose and holds, measured with `salesnav.metrics`, over the whole six
months *and* over any 30-day window such as the Level 1 page's (shares are spread evenly in time order, see
`DemoPlan.spread`, rather than drawn once for the whole period):

- 人均月拜访量 28.6: every day of the six months is filled up to its share (weekends lighter).
- 有效触点数/销售/周 4.2: 63 % of touchpoints are effective (a next action with its due time and at least
  one customer-side contact present) — 28.6 a month is 6.7 a week, 63 % of which is 4.2.
- 触点记录完整率 31 %: a *complete record* (`salesnav.metrics.record_completeness`) is an effective
  touchpoint that also has a summary, an emotion the rep chose (not in `guessed_fields`), a known
  decision-chain role for every contact present, and — for a 面访 — at least one attachment. 31 % of the
  touchpoints are complete; the other effective ones miss exactly one of these.
- 商机阶段推进偏差率 ±38 %: each stay in a stage lasts the stage's mean × (1 ± u), u uniform around 0.38.
- 首次响应达标率 44 %: of the ticket parts opened, in time order.
- 线索转化率 11.3 %: the new leads' first touches are spaced evenly over the six months (about 55 a month);
  11.3 % of them, in time order, get an opportunity.
- 录入时长 6 min 14 s (median, per 30-day block), 过程合规率 70 %.
- Manager intervention rate: the demo raises no alerts (the rules raise them once running), so it has none.

Also on purpose: 7 open deals without follow-up for more than 72 h (the follow-up rule), poor payers behind
big deals near 合同审批 (the credit check), 12 % 抵触 signals (the health rule).
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.demo.baseline import HISTORY_DAYS, REPS, STAFF, STALE_OPEN_DEALS, WINDOW_DAYS
from salesnav.demo.journeys import seed_journeys
from salesnav.demo.plan import DemoPlan
from salesnav.demo.plan.attachments import default_attachments_root, write_attachment_files
from salesnav.demo.summary import SeedSummary
from salesnav.demo.writer import TABLES, id_bases, write
from salesnav.handlers.journeys.examples import install_ready_journeys
from salesnav.handlers.stages import ensure_default_stages
from salesnav.handlers.tags import adopt_stored_labels
from salesnav.models import User
from salesnav.models import session as db

__all__ = [
    "DEFAULT_SEED",
    "HISTORY_DAYS",
    "REPS",
    "STAFF",
    "STALE_OPEN_DEALS",
    "TABLES",
    "WINDOW_DAYS",
    "DemoPlan",
    "DemoSeedError",
    "SeedSummary",
    "seed",
    "seed_if_empty",
    "seed_into",
    "write_attachment_files",
]

log = logging.getLogger(__name__)

DEFAULT_SEED = 20261127


class DemoSeedError(RuntimeError):
    """The demo cannot be loaded into this database (e.g. its accounts already exist)."""


def seed(seed: int = DEFAULT_SEED, *, attachments_root: Path | None = None) -> SeedSummary:
    """Write the demo into the configured database (one transaction)."""
    with db.transaction() as session:
        return seed_into(session, seed, attachments_root=attachments_root)


def seed_if_empty(seed: int = DEFAULT_SEED, *, attachments_root: Path | None = None) -> SeedSummary | None:
    """Seed only a database without users (a fresh install); otherwise do nothing and return None."""
    with db.transaction() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
        return seed_into(session, seed, attachments_root=attachments_root)


def seed_into(session: Session, seed: int = DEFAULT_SEED, *, attachments_root: Path | None = None) -> SeedSummary:
    """Plan the demo and bulk-insert it through `session`; the caller commits.

    The visit photos' and notes' bytes go under `attachments_root` (default: the data folder's
    `attachments/`, where uploads live), stored by hash like any upload.
    """
    started = time.perf_counter()
    taken = session.scalars(select(User.wecom_userid).where(User.wecom_userid.in_(["dir01", "rep01", "admin"])))
    if clash := sorted(taken):
        raise DemoSeedError(f"数据库里已有演示账号（{'、'.join(clash)}），请使用空数据库载入演示数据")
    stages = ensure_default_stages(session)
    now = clock.now()
    day0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
    plan = DemoPlan(random.Random(seed), day0, now, stages, id_bases(session))
    plan.build()
    write(session, plan)
    adopt_stored_labels(session)  # the plan's labels become manual tags: customer_tags is the truth
    write_attachment_files(attachments_root or default_attachments_root())
    # The article's example journey, on, with the demo's same-grade case: a white paper downloaded by a 设备科
    # contact in the demo starts it (the migration installed it switched off; installing again gives it the case).
    install_ready_journeys(session)
    # Its history and two more journeys', played through the use cases on the demo's clock (demo/journeys.py).
    journeys = seed_journeys(session, random.Random(seed + 1), now)
    summary = plan.summary(seed)
    summary.journeys = len(journeys.journeys)
    summary.journey_enrollments = sum(sum(states.values()) for states in journeys.journeys.values())
    summary.elapsed_seconds = time.perf_counter() - started
    log.info(
        "demo seeded in %.1f s: %d touchpoints, %d opportunities",
        summary.elapsed_seconds,
        summary.touchpoints,
        summary.opportunities,
    )
    return summary
