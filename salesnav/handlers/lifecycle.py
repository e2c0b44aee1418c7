"""Lifecycle stages computed from the data (issue 20): 新客户试用期, 老客户续费前3个月, 流失预警.

- 新客户试用期 (trial): within `lifecycle.trial_days` days of the customer's first won deal.
- 老客户续费前 (renewal): from `lifecycle.renewal_months` months before the end of the customer's latest-ending
  contract until that end (a contract without `ends_on` ends `lifecycle.contract_term_months` after signing).
  A renewed customer — a newer contract ending later — is out of the window again.
- 流失预警 (churn_risk): a customer who has bought (a won deal) with no touchpoint for `lifecycle.churn_silent_days`
  days (counted from the first won deal when there was none since), or whose health is red (a switch).

A customer is in at most one stage; when several apply the most urgent wins: 流失预警, then 续费, then 试用期.
`stages` computes them for given customers (or all) from four grouped queries; the job
(salesnav/jobs/customer_tags.py) stores them on the customer and records lifecycle.entered / lifecycle.left
customer events for the journeys; the admin page previews them under proposed settings with the same function.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.customer_events import record_customer_event
from salesnav.models import (
    Contract,
    Customer,
    Health,
    LifecycleStage,
    Opportunity,
    OpportunityStatus,
    Touchpoint,
)
from salesnav.models.setting_areas import Lifecycle
from salesnav.settings import current_settings

PRIORITY = (LifecycleStage.CHURN_RISK, LifecycleStage.RENEWAL, LifecycleStage.TRIAL)
CHUNK = 1000
ENTERED, LEFT = "lifecycle.entered", "lifecycle.left"


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), the month's last day when it has fewer days."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Facts:
    """What a customer's stage is computed from."""

    first_won_at: datetime | None
    last_touch_at: datetime | None
    contract_end: date | None  # the latest-ending contract's last day
    health: Health


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), current_settings().business_tz)


def stage_of(facts: Facts, settings: Lifecycle, now: datetime) -> tuple[LifecycleStage, datetime] | None:
    """The customer's stage at `now` and since when, or None."""
    if not settings.enabled:
        return None
    found: dict[LifecycleStage, datetime] = {}
    today = now.astimezone(current_settings().business_tz).date()
    if facts.first_won_at is not None:
        if now < facts.first_won_at + timedelta(days=settings.trial_days):
            found[LifecycleStage.TRIAL] = facts.first_won_at
        quiet_since = max(filter(None, (facts.last_touch_at, facts.first_won_at)))
        silent_at = quiet_since + timedelta(days=settings.churn_silent_days)
        if now >= silent_at:
            found[LifecycleStage.CHURN_RISK] = silent_at
        elif settings.churn_on_red_health and facts.health is Health.RED:
            found[LifecycleStage.CHURN_RISK] = now
    if facts.contract_end is not None:
        opens = add_months(facts.contract_end, -settings.renewal_months)
        if opens <= today <= facts.contract_end:
            found[LifecycleStage.RENEWAL] = _start_of(opens)
    for stage in PRIORITY:
        if stage in found:
            return stage, found[stage]
    return None


def facts(session: Session, settings: Lifecycle, among: Iterable[int] | None = None) -> dict[int, Facts]:
    """Each live customer's facts (only those of `among` when given), in four grouped queries per chunk."""
    if among is None:
        chunks: list[list[int] | None] = [None]
    else:
        ids = sorted(set(among))
        chunks = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]
    out: dict[int, Facts] = {}
    for chunk in chunks:
        out.update(_facts(session, settings, chunk))
    return out


def _among(query: Any, column: Any, ids: list[int] | None) -> Any:
    return query if ids is None else query.where(column.in_(ids))


def _facts(session: Session, settings: Lifecycle, ids: list[int] | None) -> dict[int, Facts]:
    customers = session.execute(
        _among(select(Customer.id, Customer.health).where(Customer.deleted_at.is_(None)), Customer.id, ids)
    ).all()
    first_won = (
        select(Opportunity.customer_id, func.min(Opportunity.closed_at))
        .where(
            Opportunity.status == OpportunityStatus.WON,
            Opportunity.deleted_at.is_(None),
            Opportunity.closed_at.is_not(None),
        )
        .group_by(Opportunity.customer_id)
    )
    won: dict[int, datetime] = {cid: at for cid, at in session.execute(_among(first_won, Opportunity.customer_id, ids))}
    last_touch = (
        select(Touchpoint.customer_id, func.max(Touchpoint.occurred_at))
        .where(Touchpoint.deleted_at.is_(None))
        .group_by(Touchpoint.customer_id)
    )
    touched: dict[int, datetime] = {
        cid: at for cid, at in session.execute(_among(last_touch, Touchpoint.customer_id, ids))
    }
    ends: dict[int, date] = {}
    contracts = select(Contract.customer_id, Contract.signed_on, Contract.ends_on)
    for customer_id, signed_on, ends_on in session.execute(_among(contracts, Contract.customer_id, ids)):
        end = ends_on or add_months(signed_on, settings.contract_term_months) - timedelta(days=1)
        if customer_id not in ends or end > ends[customer_id]:
            ends[customer_id] = end
    return {cid: Facts(won.get(cid), touched.get(cid), ends.get(cid), health) for cid, health in customers}


def stages(
    session: Session, now: datetime, among: Iterable[int] | None = None, settings: Lifecycle | None = None
) -> dict[int, tuple[LifecycleStage, datetime]]:
    """The customers in a stage at `now` (of `among` when given), with since when."""
    settings = settings or rule_settings.lifecycle(session)
    out = {}
    for cid, f in facts(session, settings, among).items():
        stage = stage_of(f, settings, now)
        if stage is not None:
            out[cid] = stage
    return out


def customer_lifecycle(session: Session, customer_id: int) -> LifecycleStage | None:
    """The customer's stage as last computed by the job (None: in no stage)."""
    return session.scalar(select(Customer.lifecycle_stage).where(Customer.id == customer_id))


def customers_in_stage(session: Session, stage: LifecycleStage | str) -> list[int]:
    member = stage if isinstance(stage, LifecycleStage) else LifecycleStage(stage)
    return list(
        session.scalars(select(Customer.id).where(Customer.lifecycle_stage == member, Customer.deleted_at.is_(None)))
    )


def apply(session: Session, now: datetime, among: Iterable[int] | None = None) -> int:
    """Store each customer's stage (of `among`, or all); on a change record lifecycle.left for the old stage and
    lifecycle.entered for the new one. Returns the number of stages entered or left. Idempotent: a run that
    finds nothing changed writes nothing."""
    computed = stages(session, now, among)
    current = select(Customer.id, Customer.lifecycle_stage, Customer.lifecycle_since).where(
        Customer.deleted_at.is_(None)
    )
    rows: list[Any] = []
    if among is None:
        rows = list(session.execute(current))
    else:
        ids = sorted(set(among))
        for i in range(0, len(ids), CHUNK):
            rows.extend(session.execute(current.where(Customer.id.in_(ids[i : i + CHUNK]))))
    changes = 0
    for cid, old, _old_since in rows:
        new, since = computed.get(cid, (None, None))
        if new == old:
            continue
        if old is not None:
            _event(session, cid, LEFT, old, now)
            changes += 1
        if new is not None:
            _event(session, cid, ENTERED, new, now)
            changes += 1
        session.execute(
            update(Customer)
            .where(Customer.id == cid)
            # updated_at kept: a computed stage is no change of the customer's for the next incremental run
            .values(
                lifecycle_stage=new,
                lifecycle_since=since if new is not None else None,
                updated_at=Customer.updated_at,
            )
            .execution_options(synchronize_session=False)
        )
    return changes


def _event(session: Session, customer_id: int, kind: str, stage: LifecycleStage, now: datetime) -> None:
    # A change is found by comparing with the stored stage, written in the same transaction: a re-run finds none.
    # The key also keeps two runs at the same moment from recording one change twice.
    record_customer_event(
        session,
        customer_id=customer_id,
        kind=kind,
        occurred_at=now,
        payload={"stage": stage.value, "label": stage.label},
        dedupe_key=f"{kind}:{customer_id}:{stage.value}:{int(now.timestamp())}",
    )


@dataclass(frozen=True)
class StagePreview:
    stage: LifecycleStage
    count: int
    names: list[str]


def preview(session: Session, settings: Lifecycle, now: datetime, shown: int = 10) -> list[StagePreview]:
    """Which customers each stage would hold today under `settings` (not saved): a count and the first names."""
    held = stages(session, now, None, settings)
    ids = sorted(held)
    names: dict[int, str] = {}
    for i in range(0, len(ids), CHUNK):
        names.update(
            {
                cid: name
                for cid, name in session.execute(
                    select(Customer.id, Customer.name).where(Customer.id.in_(ids[i : i + CHUNK]))
                )
            }
        )
    out = []
    for stage in PRIORITY:
        in_stage = sorted((cid for cid, (s, _) in held.items() if s is stage), key=lambda c: names.get(c, ""))
        out.append(StagePreview(stage, len(in_stage), [names[c] for c in in_stage[:shown] if c in names]))
    return out
