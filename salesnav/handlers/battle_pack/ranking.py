"""The 3 most important todos of the day, from three sources:

- open tasks (待办) assigned to the rep, including those the follow-up rule created;
- next actions of the rep's touchpoints due soon (or recently overdue) that no later touchpoint with
  the same customer has superseded;
- open opportunities past the follow-up threshold (no touchpoint for `follow_up.overdue_hours`) that
  have no open task yet.

Score (higher first) = amount × stage probability × urgency × customer health, where
- amount: the expected amount of the todo's opportunity in units of 10,000 CNY (万元), at least 1;
  a todo with no opportunity takes the rep's largest open deal with that customer, else 1;
- win probability: that opportunity's learned win probability (赢单概率, salesnav/handlers/win_probability.py)
  when a model is in use, else its stage's table probability (初步接触 10 % … 合同审批 90 %); at least 0.1;
- urgency: overdue 3, due within 24 h 2, within 72 h 1.5, later 1, no deadline 0.8;
- customer health: red 1.5, yellow 1.2, green 1 — a customer going cold needs the rep first.
Ties go to the earlier deadline. One todo per opportunity for overdue follow-ups (a task wins).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from salesnav.handlers.battle_pack.snapshot import DealRow, NextActionRow, Snapshot, StageRow, TaskRow
from salesnav.handlers.deal_words import deal_name, name_once
from salesnav.handlers.follow_up_policy import FollowUpPolicy
from salesnav.models import Health

TOP = 3
MIN_AMOUNT_WAN = 1.0
MIN_PROBABILITY = 0.1
HEALTH_WEIGHT = {Health.RED: 1.5, Health.YELLOW: 1.2, Health.GREEN: 1.0}
NO_DEADLINE_URGENCY = 0.8


class TodoSource(str, Enum):
    TASK = "task"
    NEXT_ACTION = "next_action"
    FOLLOW_UP = "follow_up"


@dataclass(frozen=True)
class Todo:
    source: TodoSource
    source_id: int  # task, touchpoint or opportunity id
    who: str  # 「李总(华山医院设备科)」, a customer name, or "" for a task about no customer
    action: str
    deadline: datetime | None
    score: float
    amount_wan: float
    probability: float
    urgency: float
    health: float
    opportunity_id: int | None = None
    customer_id: int | None = None

    def is_overdue(self, now: datetime) -> bool:
        return self.deadline is not None and self.deadline < now


def urgency(deadline: datetime | None, now: datetime) -> float:
    if deadline is None:
        return NO_DEADLINE_URGENCY
    left = deadline - now
    if left < timedelta(0):
        return 3.0
    if left <= timedelta(hours=24):
        return 2.0
    if left <= timedelta(hours=72):
        return 1.5
    return 1.0


def score(
    amount_fen: int | None,
    probability_percent: int | None,
    deadline: datetime | None,
    health: Health | None,
    now: datetime,
) -> tuple[float, float, float, float, float]:
    """(score, amount 万元, probability, urgency, health weight) — each factor as documented above."""
    amount = max((amount_fen or 0) / 1_000_000, MIN_AMOUNT_WAN)
    probability = max((probability_percent or 0) / 100, MIN_PROBABILITY)
    u = urgency(deadline, now)
    h = HEALTH_WEIGHT.get(health, 1.0) if health is not None else 1.0
    return amount * probability * u * h, amount, probability, u, h


def rank_todos(snap: Snapshot, rep_id: int, top: int | None = TOP) -> list[Todo]:
    """The rep's due work, most important first: the first `top` (3) are the pack's todos; all of it (top=None)
    is 我的待办 — one list, so the chat, the pack and the rep's page never disagree."""
    now = snap.now
    deals = {d.id: d for d in snap.deals.get(rep_id, [])}
    odds = _Odds(snap.stages, snap.win)
    todos = [_from_task(t, deals, odds, now) for t in snap.tasks.get(rep_id, [])]
    todos += [_from_next_action(a, deals, odds, now) for a in snap.next_actions.get(rep_id, [])]
    tasked = {t.opportunity_id for t in todos if t.source is TodoSource.TASK and t.opportunity_id}
    policy = snap.settings.follow_up
    for deal in deals.values():
        if deal.id not in tasked and policy.is_overdue(deal.last_follow_up_at, now):
            todos.append(_from_silent_deal(deal, odds, now, policy))
    far = now + timedelta(days=3650)
    todos.sort(key=lambda t: (-t.score, t.deadline or far, t.source.value, t.source_id))
    return todos if top is None else todos[:top]


def _said_once(who: str, action: str) -> tuple[str, str]:
    """Who and what, the customer named once: an action that names its customer needs no 「X需在…前」 before it."""
    action = name_once(action, who)
    return ("", action) if who and who in action else (who, action)


def _best_deal(deals: dict[int, DealRow], opportunity_id: int | None, customer_id: int | None) -> DealRow | None:
    if opportunity_id in deals:
        return deals[opportunity_id]
    same_customer = [d for d in deals.values() if customer_id is not None and d.customer_id == customer_id]
    return max(same_customer, key=lambda d: (d.amount_fen, -d.id), default=None)


@dataclass(frozen=True)
class _Odds:
    stages: dict[int, StageRow]
    win: dict[int, int]  # learned, per open deal

    def of(self, opportunity_id: int | None, stage_id: int | None) -> int | None:
        """The deal's learned win probability (percent), else its stage's table probability."""
        if opportunity_id is not None and opportunity_id in self.win:
            return self.win[opportunity_id]
        stage = self.stages.get(stage_id) if stage_id is not None else None
        return stage.win_probability if stage else None


def _from_task(task: TaskRow, deals: dict[int, DealRow], odds: _Odds, now: datetime) -> Todo:
    deal = _best_deal(deals, task.opportunity_id, task.customer_id)
    amount = deal.amount_fen if deal else task.amount_fen
    stage_id = deal.stage_id if deal else task.stage_id
    probability = odds.of(deal.id if deal else task.opportunity_id, stage_id)
    value = score(amount, probability, task.due_at, task.customer_health, now)
    who, action = _said_once(task.customer_name or "", task.title)
    return Todo(
        TodoSource.TASK,
        task.id,
        who,
        action,
        task.due_at,
        *value,
        opportunity_id=task.opportunity_id,
        customer_id=task.customer_id,
    )


def _from_next_action(action: NextActionRow, deals: dict[int, DealRow], odds: _Odds, now: datetime) -> Todo:
    deal = _best_deal(deals, action.opportunity_id, action.customer_id)
    value = score(
        deal.amount_fen if deal else None,
        odds.of(deal.id, deal.stage_id) if deal else None,
        action.due_at,
        action.customer_health,
        now,
    )
    who = action.customer_name
    if action.contact_name:
        who = f"{action.contact_name}({action.customer_name}{action.contact_title or ''})"
    return Todo(
        TodoSource.NEXT_ACTION,
        action.touchpoint_id,
        who,
        action.action,
        action.due_at,
        *value,
        opportunity_id=deal.id if deal else None,
        customer_id=action.customer_id,
    )


def _from_silent_deal(deal: DealRow, odds: _Odds, now: datetime, policy: FollowUpPolicy) -> Todo:
    deadline = policy.overdue_at(deal.last_follow_up_at)
    value = score(deal.amount_fen, odds.of(deal.id, deal.stage_id), deadline, deal.customer_health, now)
    days = (now - deal.last_follow_up_at).days
    action = f"跟进商机「{deal_name(deal.customer_name, deal.title)}」并记录触点（已 {days} 天未跟进）"
    return Todo(
        TodoSource.FOLLOW_UP,
        deal.id,
        deal.customer_name,
        action,
        deadline,
        *value,
        opportunity_id=deal.id,
        customer_id=deal.customer_id,
    )
