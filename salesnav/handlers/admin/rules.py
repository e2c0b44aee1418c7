"""The automation rules as the admin page shows them: switches and thresholds, a preview of what
each rule would fire on today's data under proposed values, and saving them.

The preview sends nothing and saves nothing: it writes the proposed values into a session of its
own, asks each rule what it would do now (the time rules' own `find`, the same query the scan
runs; for the event rules, the same conditions over today's data), and rolls that session back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from salesnav.finance import FinanceUnavailable, payment_history
from salesnav.handlers import rule_settings
from salesnav.handlers.admin.guard import require_admin
from salesnav.handlers.rules import collaboration_overdue, engine, follow_up_overdue, registry
from salesnav.handlers.rules.texts import how_long, yuan
from salesnav.handlers.stages import CONTRACT_APPROVAL
from salesnav.models import (
    Alert,
    Customer,
    Emotion,
    Opportunity,
    OpportunityStatus,
    RuleSetting,
    Stage,
    TicketPart,
    Touchpoint,
    User,
)
from salesnav.models import session as db
from salesnav.settings import current_settings

SHOWN = 20  # examples listed per rule; the count covers all


@dataclass
class RulePreview:
    code: str
    name: str
    enabled: bool
    now_count: int  # under the values in force
    new_count: int  # under the proposed values
    examples: list[str] = field(default_factory=list)
    note: str = ""


def rule_keys() -> dict[str, list[str]]:
    """Each rule's switch and settings, in the order the page shows them."""
    return {rule.code: [rule.switch, *rule.settings] for rule in registry.all_rules()}


def all_keys() -> list[str]:
    return [key for keys in rule_keys().values() for key in keys]


def preview(changes: dict[str, Any], now: datetime) -> list[RulePreview]:
    """What every rule would fire on right now, before and after `changes` (already validated)."""
    current = _findings(now, {})
    proposed = _findings(now, changes)
    out = []
    for rule in registry.all_rules():
        enabled, examples, count, note = proposed[rule.code]
        out.append(RulePreview(rule.code, rule.name, enabled, current[rule.code][2], count, examples, note))
    return out


def _findings(now: datetime, changes: dict[str, Any]) -> dict[str, tuple[bool, list[str], int, str]]:
    session = db.new_session()
    try:
        for key, value in changes.items():
            row = session.scalars(select(RuleSetting).where(RuleSetting.key == key)).first()
            if row is None:
                session.add(RuleSetting(key=key, value=value))
            else:
                row.value = value
        session.flush()  # rule_settings.get reads the rows: the rules see the proposed values
        found: dict[str, Any] = {}
        for rule in registry.all_rules():
            if not rule.enabled(session):
                found[rule.code] = (False, [], 0, "规则已关闭，不会触发")
                continue
            examples, count, note = PREVIEWS[rule.code](session, now)
            found[rule.code] = (True, examples, count, note)
        return found
    finally:
        session.rollback()  # nothing of the preview is ever kept
        session.close()


def _follow_up(session: Session, now: datetime) -> tuple[list[str], int, str]:

    matches = follow_up_overdue.find(session, now)
    fire = [m for m in matches if m.action == "fire"]
    escalate = [m for m in matches if m.action == "escalate"]
    examples = []
    for match in fire[:SHOWN]:
        opp = session.get(Opportunity, match.subject_id)
        if opp is not None:
            examples.append(
                f"提醒 {opp.owner.name}：{opp.customer.name}·{opp.title}（{opp.stage.name}）"
                f"已 {how_long(now - opp.last_follow_up_at)} 未跟进"
            )
    for match in escalate[: max(SHOWN - len(examples), 0)]:
        alert = session.get(Alert, match.subject_id)
        if alert is not None:
            examples.append(f"升级给销售总监：{alert.title}")
    return examples, len(fire) + len(escalate), f"新预警 {len(fire)} 条，升级 {len(escalate)} 条"


def _collaboration(session: Session, now: datetime) -> tuple[list[str], int, str]:

    fire = [m for m in collaboration_overdue.find(session, now) if m.action == "fire"]
    examples = []
    for match in fire[:SHOWN]:
        part = session.get(TicketPart, match.subject_id)
        if part is not None:
            examples.append(
                f"效能预警简报给{part.department.name}：「{part.request}」已超时 {how_long(now - part.due_at)}"
            )
    return examples, len(fire), "响应时限只对新开的协同任务生效；截止前提醒的时间对尚未提醒的任务立即生效"


def _health(session: Session, now: datetime) -> tuple[list[str], int, str]:
    health_settings = rule_settings.health(session)
    needed = health_settings.resistant_signals
    days = health_settings.window_days
    signals = func.count(Touchpoint.id)
    rows = session.execute(
        select(Customer.id, Customer.name, signals)
        .join(Touchpoint, Touchpoint.customer_id == Customer.id)
        .where(
            Touchpoint.emotion == Emotion.RESISTANT,
            Touchpoint.deleted_at.is_(None),
            Touchpoint.occurred_at > now - timedelta(days=days),
            Touchpoint.occurred_at <= now,
            Customer.deleted_at.is_(None),
        )
        .group_by(Customer.id, Customer.name)
        .having(signals >= needed)
        .order_by(signals.desc(), Customer.id)
    ).all()
    open_red = set(
        session.scalars(select(Alert.subject_id).where(Alert.rule == "health_red", Alert.state.in_(engine.OPEN_STATES)))
    )
    new = [(cid, name, n) for cid, name, n in rows if cid not in open_red]
    examples = [f"{name}：近 {days} 天 {n} 次抵触 → 转红灯并推送 PDF" for _, name, n in new[:SHOWN]]
    return examples, len(new), f"已在红灯中的客户 {len(rows) - len(new)} 个；下一条抵触触点时触发"


def _credit(session: Session, now: datetime) -> tuple[list[str], int, str]:

    credit_settings = rule_settings.credit(session)
    threshold = credit_settings.amount_threshold_fen
    minimum = credit_settings.min_on_time_rate
    months = credit_settings.window_months
    approval = session.scalars(select(Stage).where(Stage.code == CONTRACT_APPROVAL)).first()
    if approval is None:
        return [], 0, "没有合同审批阶段"
    deals = list(
        session.scalars(
            select(Opportunity)
            .join(Stage, Stage.id == Opportunity.stage_id)
            .where(
                Opportunity.status == OpportunityStatus.OPEN,
                Opportunity.deleted_at.is_(None),
                Opportunity.expected_amount_fen > threshold,
                Stage.position < approval.position,
            )
            .order_by(Opportunity.expected_amount_fen.desc())
            .limit(200)
        )
    )
    if current_settings().finance_api_url:
        examples = [
            f"{o.customer.name}·{o.title}（{yuan(o.expected_amount_fen)}）进入合同审批时将查询财务系统"
            for o in deals[:SHOWN]
        ]
        return examples, len(deals), "已配置财务系统：预览不调用财务系统，只列出将被校验的大单"
    frozen = []
    for opp in deals:
        try:
            history = payment_history(session, opp.customer, as_of=now, months=months, api_url="", timeout=1)
        except FinanceUnavailable:
            continue
        if history.on_time_rate is not None and history.on_time_rate < minimum:
            frozen.append(
                f"{opp.customer.name}·{opp.title}（{yuan(opp.expected_amount_fen)}）按时回款率 "
                f"{history.on_time_rate:.0%} → 进入合同审批时冻结"
            )
    return frozen[:SHOWN], len(frozen), f"将被校验的大单 {len(deals)} 个（进入合同审批时校验）"


PREVIEWS = {
    "follow_up_overdue": _follow_up,
    "collaboration_overdue": _collaboration,
    "health_red": _health,
    "credit_check": _credit,
}


def save(session: Session, actor: User, values: dict[str, Any]) -> dict[str, Any]:
    """Store the settings that changed (already validated by `read_form`); each change is audited."""
    require_admin(actor)
    changed = {}
    for key, value in values.items():
        if rule_settings.get(session, key) != value:
            changed[key] = rule_settings.update(session, actor, key, value)
    return changed
