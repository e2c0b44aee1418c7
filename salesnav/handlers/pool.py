"""The public pool (公海): neglected customers and those of reps who left go back to a pool after a warning;
reps claim from it within limits, managers assign from it. Every move is audited.

- Silence: a customer's last touchpoint (else the day it was filed) older than its grade's days
  (`pool.silent_days.<grade>`, `pool.silent_days.其他` for the rest) earns its owner a warning; the customer
  returns `pool.warning_days` later unless someone follows it up first. History an Excel import brought in
  (touchpoints dated long ago, a customer silent for months in the old sheet) is not the rep's silence: as
  the follow-up rule leaves imported deals alone after the import, a customer's pool clock counts from the
  import that wrote its latest history (its imported touchpoints' writing time), so an import warns nobody.
- Leaving: the customers of a member who is no longer active (org sync) are announced to that member's
  manager, who may hand them over meanwhile; the rest return after the same warning days.
- In the pool a customer (and its open deals) belongs to the system member `local:pool`: no rep's scope reaches
  it, and the pool list shows only what a rep needs to decide (name, kind, grade, region, why, since when).
- A claim: at most `pool.claims_per_day` a business day, none once the rep holds `pool.max_held` customers,
  the previous owner only after `pool.reclaim_cooldown_days`, and no more than `pool.claims_per_minute`
  (a moving window, in Redis when configured: a script clicking faster is refused). First come, first served:
  a guarded update, so two reps never claim the same stay.
- A manager (主管, 总监, 管理员) assigns a pool customer to a rep in their scope, outside the rep's limits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache

from limits import RateLimitItemPerMinute
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers import rule_settings
from salesnav.handlers.errors import DomainError, Forbidden, NotFound
from salesnav.handlers.records import audit, record_event
from salesnav.handlers.rules.texts import business_tz, local_time
from salesnav.handlers.scope import can_access_owner
from salesnav.models import (
    LOCAL_USERID_PREFIX,
    POOL_USERID,
    CaptureSource,
    Customer,
    Opportunity,
    OpportunityStatus,
    PoolEntry,
    PoolExit,
    PoolReason,
    PoolWarning,
    Role,
    Touchpoint,
    User,
    WarningState,
)
from salesnav.ports.notifications import TextToMember, notify
from salesnav.settings import current_settings

log = logging.getLogger(__name__)

GRADES = ("三甲", "三乙", "二甲")  # grades with a setting of their own; the rest read pool.silent_days.其他
OTHER_GRADE = "其他"
CLAIMERS = (Role.REP, Role.MANAGER)
ASSIGNERS = (Role.MANAGER, Role.DIRECTOR, Role.ADMIN)
ASSIGNERS_ONLY = "只有销售主管、总监和管理员可以分配公海客户"
ENTRY_NOT_FOUND = "公海中没有这个编号的客户（可能已被领取），请发送「公海」查看最新列表"


# --- the system member ------------------------------------------------------------------------------------


def pool_member(session: Session) -> User:
    """The member that owns the customers in the pool (made on first use; org sync leaves `local:` alone)."""
    assert POOL_USERID.startswith(LOCAL_USERID_PREFIX)
    member = session.scalars(select(User).where(User.wecom_userid == POOL_USERID)).first()
    if member is None:
        member = User(wecom_userid=POOL_USERID, name="公海", role=Role.STAFF, active=True)
        session.add(member)
        session.flush()
    return member


def silent_days(session: Session, grade: str | None) -> int:
    return rule_settings.pool(session).silent_days(grade if grade in GRADES else OTHER_GRADE)


# --- the scan: warnings, cancellations, returns -----------------------------------------------------------


@dataclass
class ScanResult:
    warned: int = 0
    cancelled: int = 0
    returned: int = 0


def _last_follow_ups(session: Session, customer_ids: list[int] | None = None) -> dict[int, datetime]:
    q = select(Touchpoint.customer_id, func.max(Touchpoint.occurred_at)).where(Touchpoint.deleted_at.is_(None))
    if customer_ids is not None:
        q = q.where(Touchpoint.customer_id.in_(customer_ids))
    return {cid: at for cid, at in session.execute(q.group_by(Touchpoint.customer_id)) if at is not None}


def _last_imported(session: Session) -> dict[int, datetime]:
    """Each customer's latest touchpoint brought in by an Excel import, at the moment the import wrote it."""
    q = select(Touchpoint.customer_id, func.max(Touchpoint.created_at)).where(
        Touchpoint.deleted_at.is_(None), Touchpoint.source == CaptureSource.EXCEL_IMPORT
    )
    return {cid: at for cid, at in session.execute(q.group_by(Touchpoint.customer_id)) if at is not None}


def scan(session: Session, now: datetime | None = None) -> ScanResult:
    """One pass: cancel the warnings a follow-up answered, return the customers whose warning ran out, warn
    the owners of newly silent customers and the managers of those who left. Idempotent: a second pass at
    the same instant finds nothing to do."""
    now = now or clock.now()
    result = ScanResult()
    if not rule_settings.pool(session).enabled:
        return result
    pool = pool_member(session)
    pending = list(session.scalars(select(PoolWarning).where(PoolWarning.state == WarningState.PENDING)))
    follow_ups = _last_follow_ups(session, [w.customer_id for w in pending]) if pending else {}
    for warning in pending:
        customer = warning.customer
        last = follow_ups.get(customer.id)
        answered = last is not None and last > warning.warned_at
        moved = customer.owner_id != warning.owner_id or customer.deleted_at is not None
        back = warning.reason is PoolReason.OWNER_LEFT and warning.owner.active and warning.owner.deleted_at is None
        if (warning.reason is PoolReason.SILENT and answered) or moved or back:
            warning.state, warning.closed_at = WarningState.CANCELLED, now
            audit(session, None, "customer", customer.id, "pool.warning_cancelled", {"warning_id": warning.id}, {})
            result.cancelled += 1
        elif warning.return_at <= now:
            _return(session, pool, warning, now)
            result.returned += 1
    result.warned = _warn_new(session, pool, now)
    return result


def _warn_new(session: Session, pool: User, now: datetime) -> int:
    warning_days = rule_settings.pool(session).warning_days
    warned_ids = set(session.scalars(select(PoolWarning.customer_id).where(PoolWarning.state == WarningState.PENDING)))
    rows = session.execute(
        select(Customer, User)
        .join(User, User.id == Customer.owner_id)
        .where(Customer.deleted_at.is_(None), Customer.owner_id != pool.id)
        .order_by(Customer.id)
    ).all()
    candidates = [(c, owner) for c, owner in rows if c.id not in warned_ids]
    follow_ups = _last_follow_ups(session)
    imported = _last_imported(session)
    warned = 0
    for customer, owner in candidates:
        if owner.wecom_userid.startswith(LOCAL_USERID_PREFIX):
            continue
        left = not owner.active or owner.deleted_at is not None
        last = follow_ups.get(customer.id, customer.created_at)
        counted_from = max(last, imported.get(customer.id, last))  # imported history: from the import
        days = silent_days(session, customer.grade)
        if not left and counted_from >= now - timedelta(days=days):
            continue
        reason = PoolReason.OWNER_LEFT if left else PoolReason.SILENT
        warning = PoolWarning(
            customer_id=customer.id,
            owner_id=owner.id,
            reason=reason,
            warned_at=now,
            return_at=now + timedelta(days=warning_days),
            last_follow_up_at=last,
        )
        session.add(warning)
        session.flush()
        audit(
            session,
            None,
            "customer",
            customer.id,
            "pool.warned",
            {"owner_id": owner.id},
            {"reason": reason.value, "return_at": warning.return_at.isoformat()},
        )
        _tell_warning(session, warning, customer, owner, days, now)
        warned += 1
    return warned


def _tell_warning(
    session: Session, warning: PoolWarning, customer: Customer, owner: User, days: int, now: datetime
) -> None:
    when = local_time(warning.return_at)
    if warning.reason is PoolReason.SILENT:
        silent = (now - (warning.last_follow_up_at or now)).days
        text = (
            f"【公海预警】客户「{customer.name}」已 {silent} 天未跟进（{customer.grade or OTHER_GRADE}客户超过 "
            f"{days} 天未跟进退回公海），将于 {when} 退回公海。在此之前记录一次跟进即可保留。"
        )
        notify(session, TextToMember(owner.wecom_userid, text, key=f"pool-warning:{warning.id}"))
        return
    manager = owner.manager
    if manager is None or not manager.active or manager.deleted_at is not None:
        return  # nobody to tell: the return itself is audited
    text = (
        f"【公海预警】{owner.name}已离职，其客户「{customer.name}」将于 {when} 退回公海。"
        f"如需交给团队中的销售，请在此之前发送「公海」后分配，或在管理后台移交。"
    )
    notify(session, TextToMember(manager.wecom_userid, text, key=f"pool-warning:{warning.id}"))


def _return(session: Session, pool: User, warning: PoolWarning, now: datetime) -> PoolEntry:
    customer = warning.customer
    entry = PoolEntry(
        customer_id=customer.id,
        previous_owner_id=customer.owner_id,
        reason=warning.reason,
        warning_id=warning.id,
        entered_at=now,
    )
    session.add(entry)
    warning.state, warning.closed_at = WarningState.RETURNED, now
    _move(session, None, customer, pool.id, "pool.returned", {"reason": warning.reason.value})
    session.flush()
    record_event(session, "customer.returned_to_pool", "customer", customer.id, None, entry_id=entry.id)
    owner = warning.owner
    if owner.active and owner.deleted_at is None:
        text = f"客户「{customer.name}」因{warning.reason.label}已退回公海。"
        notify(session, TextToMember(owner.wecom_userid, text, key=f"pool-returned:{entry.id}"))
    return entry


def _move(
    session: Session, actor: User | None, customer: Customer, new_owner_id: int, action: str, extra: dict[str, str]
) -> None:
    """The customer and its open deals change hands, each change in the audit trail."""
    audit(
        session,
        actor,
        "customer",
        customer.id,
        action,
        {"owner_id": customer.owner_id},
        {"owner_id": new_owner_id, **extra},
    )
    customer.owner_id = new_owner_id
    deals = session.scalars(
        select(Opportunity).where(
            Opportunity.customer_id == customer.id,
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.deleted_at.is_(None),
        )
    )
    for deal in deals:
        audit(session, actor, "opportunity", deal.id, action, {"owner_id": deal.owner_id}, {"owner_id": new_owner_id})
        deal.owner_id = new_owner_id


# --- the list ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoolItem:
    entry_id: int
    customer_id: int
    name: str
    kind: str
    grade: str | None
    region: str | None
    reason: str
    entered_at: datetime
    days_in_pool: int
    open_deals: int
    # For the asking member: whether a claim would be refused by the cool-down, and until when.
    cooldown_until: datetime | None


def list_pool(session: Session, actor: User, *, limit: int = 50, query: str | None = None) -> list[PoolItem]:
    """The customers in the pool, newest first. Everyone in sales sees the same list."""
    now = clock.now()
    q = (
        select(PoolEntry, Customer)
        .join(Customer, Customer.id == PoolEntry.customer_id)
        .where(PoolEntry.left_at.is_(None), Customer.deleted_at.is_(None))
    )
    if query and query.strip():
        q = q.where(Customer.name.contains(query.strip()))
    rows = session.execute(q.order_by(PoolEntry.entered_at.desc(), PoolEntry.id.desc()).limit(limit)).all()
    deals = dict(
        session.execute(
            select(Opportunity.customer_id, func.count())
            .where(
                Opportunity.customer_id.in_([c.id for _, c in rows]),
                Opportunity.status == OpportunityStatus.OPEN,
                Opportunity.deleted_at.is_(None),
            )
            .group_by(Opportunity.customer_id)
        ).all()
    )
    cooldown = timedelta(days=rule_settings.pool(session).reclaim_cooldown_days)
    out = []
    for entry, customer in rows:
        until = entry.entered_at + cooldown
        out.append(
            PoolItem(
                entry.id,
                customer.id,
                customer.name,
                customer.kind.label,
                customer.grade,
                customer.region,
                entry.reason.label,
                entry.entered_at,
                (now - entry.entered_at).days,
                int(deals.get(customer.id, 0)),
                until if entry.previous_owner_id == actor.id and until > now else None,
            )
        )
    return out


# --- claims and assignments -------------------------------------------------------------------------------


@cache
def _limiter(storage_uri: str) -> tuple[Storage, MovingWindowRateLimiter]:
    storage = storage_from_string(storage_uri)
    assert isinstance(storage, Storage)  # a synchronous storage: the URI names no async scheme
    return storage, MovingWindowRateLimiter(storage)


def claim_rate_limiter() -> tuple[Storage, MovingWindowRateLimiter]:
    """The moving-window limiter of claims: in Redis (shared by every process) when configured."""
    url = current_settings().redis_url
    return _limiter(url or "memory://")


def _within_rate(session: Session, actor: User) -> bool:
    per_minute = rule_settings.pool(session).claims_per_minute
    _, limiter = claim_rate_limiter()
    try:
        return limiter.hit(RateLimitItemPerMinute(per_minute), "salesnav-pool-claim", str(actor.id))
    except Exception:  # Redis away: count in this process meanwhile rather than refuse every claim
        log.warning("pool claim rate counted in process: the shared store did not answer", exc_info=True)
        _, local = _limiter("memory://")
        return local.hit(RateLimitItemPerMinute(per_minute), "salesnav-pool-claim", str(actor.id))


def _open_entry(session: Session, entry_id: int) -> PoolEntry:
    entry = session.get(PoolEntry, entry_id)
    if entry is None or entry.left_at is not None or entry.customer.deleted_at is not None:
        raise NotFound(ENTRY_NOT_FOUND)
    return entry


def _business_day_start(now: datetime) -> datetime:
    tz = business_tz()
    return datetime.combine(now.astimezone(tz).date(), time(), tzinfo=tz)


@dataclass(frozen=True)
class ClaimQuota:
    claimed_today: int
    claims_per_day: int
    held: int
    max_held: int


def claim_quota(session: Session, actor: User, now: datetime | None = None) -> ClaimQuota:
    """How many claims `actor` made today (business day) and how many customers they hold, with the limits."""
    now = now or clock.now()
    settings = rule_settings.pool(session)
    today = session.scalar(
        select(func.count())
        .select_from(PoolEntry)
        .where(
            PoolEntry.left_by_id == actor.id,
            PoolEntry.left_how == PoolExit.CLAIMED,
            PoolEntry.left_at >= _business_day_start(now),
        )
    )
    held = session.scalar(
        select(func.count()).select_from(Customer).where(Customer.owner_id == actor.id, Customer.deleted_at.is_(None))
    )
    return ClaimQuota(
        int(today or 0),
        settings.claims_per_day,
        int(held or 0),
        settings.max_held,
    )


def assignable_reps(session: Session, actor: User) -> list[User]:
    """The active sales members `actor` may assign a pool customer to (none for a rep)."""
    if actor.role not in ASSIGNERS:
        return []
    members = session.scalars(
        select(User)
        .where(User.active.is_(True), User.deleted_at.is_(None), User.role.in_(CLAIMERS))
        .order_by(User.name, User.id)
    )
    return [m for m in members if can_access_owner(session, actor, m.id)]


def claim(session: Session, actor: User, entry_id: int) -> PoolEntry:
    """A rep takes a customer from the pool, within the limits; the customer and its open deals become theirs."""
    now = clock.now()
    if actor.role not in CLAIMERS or not actor.active:
        raise Forbidden("只有销售和销售主管可以领取公海客户")
    if not _within_rate(session, actor):
        log.warning("pool claim throttled: member %s", actor.id)
        per_minute = rule_settings.pool(session).claims_per_minute
        raise DomainError(f"领取过于频繁（每分钟最多 {per_minute} 次），请稍后再试")
    entry = _open_entry(session, entry_id)
    cooldown_days = rule_settings.pool(session).reclaim_cooldown_days
    until = entry.entered_at + timedelta(days=cooldown_days)
    if entry.previous_owner_id == actor.id and now < until:
        raise DomainError(f"您是「{entry.customer.name}」的原负责人，{local_time(until)} 之后才能重新领取")
    quota = claim_quota(session, actor, now)
    if quota.claimed_today >= quota.claims_per_day:
        raise DomainError(
            f"今天已领取 {quota.claimed_today} 个公海客户，已达每日上限（{quota.claims_per_day} 个），明天再来"
        )
    if quota.held >= quota.max_held:
        raise DomainError(f"您已持有 {quota.held} 个客户，达到上限（{quota.max_held} 个），不能再领取")
    _take(session, actor, entry, actor, PoolExit.CLAIMED, now)
    return entry


def assign(session: Session, actor: User, entry_id: int, rep: User) -> PoolEntry:
    """A manager hands a pool customer to a rep in their scope (outside the rep's claim limits)."""
    now = clock.now()
    if actor.role not in ASSIGNERS:
        raise Forbidden(ASSIGNERS_ONLY)
    if rep.role not in CLAIMERS or not rep.active or rep.deleted_at is not None:
        raise DomainError(f"「{rep.name}」不是在职的销售，不能分配客户")
    if not can_access_owner(session, actor, rep.id):
        raise Forbidden(f"「{rep.name}」不在您的团队中，不能分配")
    entry = _open_entry(session, entry_id)
    _take(session, actor, entry, rep, PoolExit.ASSIGNED, now)
    if rep.id != actor.id:
        text = f"{actor.name}把公海客户「{entry.customer.name}」分配给了您，请尽快跟进。"
        notify(session, TextToMember(rep.wecom_userid, text, key=f"pool-assigned:{entry.id}"))
    return entry


def _take(session: Session, actor: User, entry: PoolEntry, new_owner: User, how: PoolExit, now: datetime) -> None:
    taken = session.execute(
        update(PoolEntry)
        .where(PoolEntry.id == entry.id, PoolEntry.left_at.is_(None))
        .values(left_at=now, left_how=how, left_by_id=actor.id, new_owner_id=new_owner.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
        raise NotFound(ENTRY_NOT_FOUND)
    session.refresh(entry)
    action = "pool.claimed" if how is PoolExit.CLAIMED else "pool.assigned"
    _move(session, actor, entry.customer, new_owner.id, action, {"entry_id": str(entry.id)})
    session.flush()
    record_event(session, f"customer.{action.split('.')[1]}_from_pool", "customer", entry.customer_id, actor)


def find_rep(session: Session, actor: User, name: str) -> User:
    """The active sales member called `name` whom `actor` may assign to (for 分配 N 给 X)."""
    if actor.role not in ASSIGNERS:
        raise Forbidden(ASSIGNERS_ONLY)
    name = (name or "").strip()
    if not name:
        raise DomainError("请写上要分配给谁，例如「分配 12 给李销售」")
    reps = list(
        session.scalars(
            select(User).where(
                User.name == name, User.active.is_(True), User.deleted_at.is_(None), User.role.in_(CLAIMERS)
            )
        )
    )
    mine = [r for r in reps if can_access_owner(session, actor, r.id)]
    if not mine:
        raise NotFound(f"您的团队中没有名为「{name}」的在职销售")
    if len(mine) > 1:
        raise DomainError(f"团队中有 {len(mine)} 位「{name}」，请在小程序的公海页选择")
    return mine[0]
