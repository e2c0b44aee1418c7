"""客户健康度诊断: a customer's health colour and why, with 2–3 concrete next steps.

What is looked at (each a finding, each with a severity):
- emotion trend of the last touchpoints (积极 1.0 / 中性 0.6 / 抵触 0.2, the touchpoint-quality values);
- the decision chain: roles met in touchpoints of the last `dashboard.quality_lookback_days`, roles with a
  contact on file but not met, roles with no contact at all (no 否决者 contact yet is the classic gap);
- open deals stalled in their stage: days in the stage vs. the mean of similar closed deals (the stage
  deviation metric's baseline, salesnav/metrics/stage_baseline.py), stalled beyond STALL_FACTOR × that mean;
- open collaboration ticket parts on the customer's deals (overdue ones first);
- the on-time payment rate (the credit check's source: finance system or our receivables);
- each open deal's win probability (赢单概率, salesnav/handlers/win_probability.py) with its top reasons: the
  chat answer's 赢单概率 block (the first MAX_WIN_DEALS deals) and each deal's `win` in the API;
- the customer journeys the customer is in and at which step (salesnav/handlers/journeys/stats.py), a step past
  its deadline said as such: the chat answer's 客户旅程 block and `journeys` in the API.
The colour is the worse of the stored health (the red-light rule's) and what the findings say.
Each use is recorded as a DomainEvent "health.diagnosis_requested" (the 诊断使用次数 metric counts it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.finance import FinanceUnavailable, payment_history
from salesnav.handlers import rule_settings
from salesnav.handlers.checklists import missing_items
from salesnav.handlers.journeys.stats import CustomerJourney, customer_journeys, describe_customer_journey
from salesnav.handlers.records import record_event
from salesnav.handlers.scope import customer_for
from salesnav.handlers.win_probability import WinProbability, win_probabilities
from salesnav.handlers.win_probability import describe as describe_win
from salesnav.metrics.stage_baseline import similar_stage_baseline
from salesnav.models import (
    CollaborationTicket,
    Customer,
    DecisionRole,
    Emotion,
    EnrollmentState,
    Health,
    Opportunity,
    OpportunityStatus,
    PartStatus,
    Stage,
    StageOutcome,
    TicketPart,
    Touchpoint,
    User,
)
from salesnav.settings import current_settings

DIAGNOSIS_REQUESTED = "health.diagnosis_requested"
RECENT_TOUCHPOINTS = 5
EMOTION_VALUE = {Emotion.POSITIVE: 1.0, Emotion.NEUTRAL: 0.6, Emotion.RESISTANT: 0.2}
STALL_FACTOR = 1.5  # stalled: more than 1.5 × the days similar deals spent in the stage
QUIET_DAYS = 14  # no touchpoint for this long is a finding of its own
OK, WARN, BAD = "ok", "warn", "bad"
MAX_WIN_DEALS = 3
MAX_JOURNEYS_SAID = 3  # the chat answer names at most this many journeys the customer is in


@dataclass(frozen=True)
class Finding:
    area: str  # emotion, decision_chain, stage, collaboration, payment, activity
    severity: str  # ok, warn, bad
    text: str  # Chinese, one sentence


@dataclass(frozen=True)
class EmotionTrend:
    recent: list[str]  # labels, oldest first
    trend: str  # falling, rising, steady, none
    resistant: int


@dataclass(frozen=True)
class StalledDeal:
    opportunity_id: int
    title: str
    stage_name: str
    days_in_stage: float
    baseline_days: float | None
    similar: bool
    next_stage_name: str | None
    missing_items: list[str]
    win: WinProbability | None = None  # 赢单概率 (salesnav/handlers/win_probability.py)

    @property
    def stalled(self) -> bool:
        return self.baseline_days is not None and self.days_in_stage > STALL_FACTOR * self.baseline_days


@dataclass(frozen=True)
class OpenPart:
    part_id: int
    ticket_id: int
    department: str
    request: str
    due_at: datetime
    overdue: bool


@dataclass(frozen=True)
class Payment:
    on_time_rate: float | None
    receivables: int
    late: int
    minimum: float
    risk_points: list[str]
    unavailable: str | None = None  # why the rate could not be read


@dataclass(frozen=True)
class Diagnosis:
    customer_id: int
    customer_name: str
    stored_health: Health
    health: Health
    emotion: EmotionTrend
    roles_met: list[str]
    roles_not_met: list[str]  # a contact on file, never present in a recent touchpoint
    roles_missing: list[str]  # no contact on file at all
    deals: list[StalledDeal]
    open_parts: list[OpenPart]
    payment: Payment
    findings: list[Finding]
    next_steps: list[str] = field(default_factory=list)
    journeys: list[CustomerJourney] = field(default_factory=list)  # the customer journeys they are in


def diagnose(session: Session, actor: User, customer_id: int, *, channel: str = "api") -> Diagnosis:
    """The diagnosis of a customer in the actor's scope (a rep: their own); recorded as one use."""
    customer = customer_for(session, actor, customer_id)
    now = clock.now()
    emotion = _emotion(session, customer)
    met, not_met, missing = _decision_chain(session, customer, now)
    deals = _deals(session, customer, now)
    odds = win_probabilities(session, [d.opportunity_id for d in deals], now)
    deals = [dataclasses.replace(d, win=odds.get(d.opportunity_id)) for d in deals]
    parts = _open_parts(session, customer, now)
    payment = _payment(session, customer, now)
    last_touch = session.scalar(
        select(Touchpoint.occurred_at)
        .where(Touchpoint.customer_id == customer.id, Touchpoint.deleted_at.is_(None))
        .order_by(Touchpoint.occurred_at.desc())
        .limit(1)
    )
    findings = _findings(emotion, met, not_met, missing, deals, parts, payment, last_touch, now)
    health = _colour(customer.health, findings)
    diagnosis = Diagnosis(
        customer.id,
        customer.name,
        customer.health,
        health,
        emotion,
        met,
        not_met,
        missing,
        deals,
        parts,
        payment,
        findings,
    )
    steps = next_steps(session, customer, diagnosis, now)
    diagnosis = dataclasses.replace(diagnosis, next_steps=steps, journeys=customer_journeys(session, customer.id, now))
    record_event(
        session,
        DIAGNOSIS_REQUESTED,
        "customer",
        customer.id,
        actor,
        channel=channel,
        health=health.value,
        findings=[f.area for f in findings if f.severity != OK],
    )
    return diagnosis


# --- the parts ----------------------------------------------------------------------------------------


def _emotion(session: Session, customer: Customer) -> EmotionTrend:
    latest = list(
        session.scalars(
            select(Touchpoint.emotion)
            .where(Touchpoint.customer_id == customer.id, Touchpoint.deleted_at.is_(None))
            .order_by(Touchpoint.occurred_at.desc(), Touchpoint.id.desc())
            .limit(RECENT_TOUCHPOINTS)
        )
    )[::-1]
    values = [EMOTION_VALUE[e] for e in latest]
    if len(values) < 2:
        trend = "none"
    elif values[-1] < values[-2] or (values[-1] < values[0] and values[-1] <= values[-2]):
        trend = "falling"
    elif values[-1] > values[-2] or values[-1] > values[0]:
        trend = "rising"
    else:
        trend = "steady"
    return EmotionTrend([e.label for e in latest], trend, sum(1 for e in latest if e is Emotion.RESISTANT))


def _decision_chain(session: Session, customer: Customer, now: datetime) -> tuple[list[str], list[str], list[str]]:
    lookback = timedelta(days=rule_settings.dashboard(session).quality_lookback_days)
    touchpoints = session.scalars(
        select(Touchpoint).where(
            Touchpoint.customer_id == customer.id,
            Touchpoint.deleted_at.is_(None),
            Touchpoint.occurred_at >= now - lookback,
        )
    )
    met = {role for tp in touchpoints for role in tp.decision_roles}
    on_file = {c.decision_role.value for c in customer.contacts if c.decision_role and not c.deleted_at}
    roles = list(DecisionRole)
    return (
        [r.label for r in roles if r.value in met],
        [r.label for r in roles if r.value in on_file - met],
        [r.label for r in roles if r.value not in on_file | met],
    )


def _deals(session: Session, customer: Customer, now: datetime) -> list[StalledDeal]:
    history_days = rule_settings.dashboard(session).deviation_history_days
    stages = list(
        session.scalars(
            select(Stage).where(Stage.outcome == StageOutcome.OPEN, Stage.deleted_at.is_(None)).order_by(Stage.position)
        )
    )
    out = []
    for opp in session.scalars(
        select(Opportunity)
        .where(
            Opportunity.customer_id == customer.id,
            Opportunity.status == OpportunityStatus.OPEN,
            Opportunity.deleted_at.is_(None),
        )
        .order_by(Opportunity.id)
    ):
        baseline = similar_stage_baseline(
            session,
            stage_id=opp.stage_id,
            product_line=opp.product_line,
            grade=customer.grade,
            as_of=now,
            history_days=history_days,
        )
        following = next((s for s in stages if s.position > opp.stage.position), None)
        missing = missing_items(session, [opp.id], following)[opp.id] if following else []
        out.append(
            StalledDeal(
                opp.id,
                opp.title,
                opp.stage.name,
                (now - opp.stage_entered_at).total_seconds() / 86400,
                baseline.mean_days,
                baseline.similar,
                following.name if following else None,
                missing,
            )
        )
    return out


def _open_parts(session: Session, customer: Customer, now: datetime) -> list[OpenPart]:
    parts = session.scalars(
        select(TicketPart)
        .join(CollaborationTicket, CollaborationTicket.id == TicketPart.ticket_id)
        .join(Opportunity, Opportunity.id == CollaborationTicket.opportunity_id)
        .where(Opportunity.customer_id == customer.id, TicketPart.status != PartStatus.CLOSED)
        .order_by(TicketPart.due_at, TicketPart.id)
    )
    return [OpenPart(p.id, p.ticket_id, p.department.name, p.request, p.due_at, p.due_at < now) for p in parts]


def _payment(session: Session, customer: Customer, now: datetime) -> Payment:

    minimum = rule_settings.credit(session).min_on_time_rate
    try:
        history = payment_history(
            session,
            customer,
            as_of=now,
            months=rule_settings.credit(session).window_months,
            api_url=current_settings().finance_api_url,
            timeout=rule_settings.credit(session).finance_timeout_seconds,
        )
    except FinanceUnavailable as exc:
        return Payment(None, 0, 0, minimum, [], unavailable=exc.reason)
    return Payment(history.on_time_rate, history.receivables, len(history.late), minimum, history.risk_points())


# --- findings, colour, next steps ----------------------------------------------------------------------


def _findings(
    emotion: EmotionTrend,
    met: list[str],
    not_met: list[str],
    missing: list[str],
    deals: list[StalledDeal],
    parts: list[OpenPart],
    payment: Payment,
    last_touch: datetime | None,
    now: datetime,
) -> list[Finding]:
    out: list[Finding] = []
    if not emotion.recent:
        out.append(Finding("emotion", WARN, "还没有任何触点记录，无法判断客户情绪"))
    else:
        chain = " → ".join(emotion.recent)
        if emotion.resistant >= 2 or (emotion.trend == "falling" and emotion.recent[-1] == Emotion.RESISTANT.label):
            severity = BAD
        elif emotion.trend == "falling" or emotion.resistant:
            severity = WARN
        else:
            severity = OK
        # Steady says at which level: four 抵触 in a row are not 「平稳」.
        steady = {Emotion.RESISTANT.label: "持续低迷", Emotion.POSITIVE.label: "保持积极"}.get(
            emotion.recent[-1], "平稳"
        )
        word = {"falling": "走低", "rising": "好转", "steady": steady}.get(emotion.trend)
        extra = f"，其中 {emotion.resistant} 次抵触" if emotion.resistant else ""
        text = (
            f"最近 {len(emotion.recent)} 次触点情绪{word}（{chain}）{extra}"
            if word
            else f"只有 1 次触点记录（{chain}），还看不出情绪趋势"
        )
        out.append(Finding("emotion", severity, text))
    if last_touch is not None and now - last_touch > timedelta(days=QUIET_DAYS):
        out.append(Finding("activity", WARN, f"已 {(now - last_touch).days} 天没有联系该客户"))
    gaps = []
    if missing:
        gaps.append(f"没有{'、'.join(missing)}联系人")
    if not_met:
        gaps.append(f"{'、'.join(not_met)}有联系人但近期未接触")
    covered = f"已覆盖 {len(met)}/4 个角色（{'、'.join(met) or '无'}）"
    veto_gap = DecisionRole.VETO.label in missing or DecisionRole.VETO.label in not_met
    severity = BAD if veto_gap or len(met) <= 1 else (WARN if gaps else OK)
    out.append(Finding("decision_chain", severity, f"决策链{covered}" + (f"；{'；'.join(gaps)}" if gaps else "")))
    for deal in deals:
        if deal.baseline_days is None:
            out.append(
                Finding(
                    "stage",
                    OK,
                    f"商机「{deal.title}」在「{deal.stage_name}」{deal.days_in_stage:.0f} 天（无同类历史可比）",
                )
            )
            continue
        basis = "同类商机" if deal.similar else "全部已结商机"
        text = (
            f"商机「{deal.title}」在「{deal.stage_name}」已 {deal.days_in_stage:.0f} 天，"
            f"{basis}平均 {deal.baseline_days:.0f} 天"
        )
        out.append(Finding("stage", BAD if deal.stalled else OK, text + ("，明显停滞" if deal.stalled else "")))
    for part in parts:
        state = "已超时" if part.overdue else "处理中"
        out.append(
            Finding("collaboration", WARN if part.overdue else OK, f"{part.department}「{part.request}」{state}")
        )
    if payment.unavailable:
        out.append(Finding("payment", WARN, f"回款率暂时查不到：{payment.unavailable}"))
    elif payment.on_time_rate is None:
        out.append(Finding("payment", OK, "近 12 个月没有到期应收，暂无回款率"))
    else:
        low = payment.on_time_rate < payment.minimum
        out.append(
            Finding(
                "payment",
                BAD if low else OK,
                f"按时回款率 {payment.on_time_rate:.0%}（{payment.receivables} 笔应收中 {payment.late} 笔逾期）"
                + (f"，低于 {payment.minimum:.0%}" if low else ""),
            )
        )
    return out


_RANK = {Health.GREEN: 0, Health.YELLOW: 1, Health.RED: 2}


def _colour(stored: Health, findings: list[Finding]) -> Health:
    bad = sum(1 for f in findings if f.severity == BAD)
    warn = sum(1 for f in findings if f.severity == WARN)
    found = Health.RED if bad >= 2 else (Health.YELLOW if bad or warn >= 2 else Health.GREEN)
    return max(stored, found, key=_RANK.__getitem__)


def next_steps(session: Session, customer: Customer, diagnosis: Diagnosis, now: datetime) -> list[str]:
    """Two or three things to do next, the most urgent first, each concrete enough to act on today."""
    steps: list[str] = []
    if diagnosis.emotion.resistant or diagnosis.emotion.trend == "falling":
        last = session.scalars(
            select(Touchpoint)
            .where(
                Touchpoint.customer_id == customer.id,
                Touchpoint.deleted_at.is_(None),
                Touchpoint.emotion == Emotion.RESISTANT,
            )
            .order_by(Touchpoint.occurred_at.desc())
            .limit(1)
        ).first()
        who = "、".join(c.name for c in last.contacts) if last and last.contacts else "对接人"
        said = f"（上次记录：{last.summary[:30]}）" if last and last.summary else ""
        steps.append(f"本周安排一次面访，当面弄清{who}的顾虑{said}，并请主管一同参加")
    veto = DecisionRole.VETO.label
    if veto in diagnosis.roles_missing:
        steps.append("尽快找到否决者（如院办、设备科或分管院长）并建联，补录为「否决者」联系人")
    elif veto in diagnosis.roles_not_met:
        steps.append("约见否决者联系人，确认其对方案和预算的意见")
    elif diagnosis.roles_missing:
        steps.append(f"补齐决策链：找到并接触{'、'.join(diagnosis.roles_missing)}")
    for deal in diagnosis.deals:
        if deal.stalled and deal.next_stage_name:
            need = f"，先补齐检查清单：{'、'.join(deal.missing_items)}" if deal.missing_items else ""
            steps.append(f"推动商机「{deal.title}」进入「{deal.next_stage_name}」{need}")
    for part in diagnosis.open_parts:
        if part.overdue:
            steps.append(
                f"催办{part.department}「{part.request}」（协同单 #{part.ticket_id} 已超时），必要时请主管协调"
            )
            break
    payment = diagnosis.payment
    if payment.on_time_rate is not None and payment.on_time_rate < payment.minimum:
        first = f"：{payment.risk_points[0]}" if payment.risk_points else ""
        steps.append(f"与财务核对逾期回款{first}；大单进入合同审批前须先解决")
    if any(f.area == "activity" and f.severity != OK for f in diagnosis.findings):
        steps.append("今天就联系一次客户并记录触点，写明下一步和时间")
    fallback = [
        "保持每周至少一次有效触点：写清下一步行动和时间，并带上客户方参与人",
        "下次拜访带上同类医院的成功案例，争取推进到下一阶段",
    ]
    for step in fallback:
        if len(steps) >= 2:
            break
        steps.append(step)
    return steps[:3]


def describe(diagnosis: Diagnosis) -> str:
    """The chat answer: colour, why, next steps (Chinese, plain text under WeCom's 2,048 bytes)."""
    mark = {Health.GREEN: "🟢", Health.YELLOW: "🟡", Health.RED: "🔴"}[diagnosis.health]
    head = f"【客户健康度诊断】{diagnosis.customer_name}：{mark}{diagnosis.health.label}"
    if diagnosis.stored_health is not diagnosis.health:
        head += f"（系统记录为{diagnosis.stored_health.label}）"
    icon = {OK: "✓", WARN: "!", BAD: "✗"}
    order = {BAD: 0, WARN: 1, OK: 2}
    reasons = [f"{icon[f.severity]} {f.text}" for f in sorted(diagnosis.findings, key=lambda f: order[f.severity])]
    steps = [f"{i}. {step}" for i, step in enumerate(diagnosis.next_steps, 1)]
    odds = [describe_win(d.win, d.title) for d in diagnosis.deals if d.win is not None][:MAX_WIN_DEALS]
    win = ["赢单概率：", *odds] if odds else []
    active = [j for j in diagnosis.journeys if j.state is EnrollmentState.ACTIVE][:MAX_JOURNEYS_SAID]
    journeys = ["客户旅程：", *(describe_customer_journey(j) for j in active)] if active else []
    while True:
        text = "\n".join([head, "原因：", *reasons, *win, *journeys, "建议下一步：", *steps])
        if len(text.encode()) <= 2000 or len(reasons) <= 3:
            return text
        reasons.pop()  # the least severe reason goes first
