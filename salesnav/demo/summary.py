"""What a seeding loaded, with the article's figures computed back from the plan.

Kept apart from the planning steps: the figures are counted from the finished plan, after every step has run.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from salesnav.demo.baseline import REPS, WINDOW_DAYS
from salesnav.models import OpportunityStatus

if TYPE_CHECKING:
    from salesnav.demo.plan.demo_plan import DemoPlan


@dataclass
class SeedSummary:
    """What was loaded, and the article's figures measured back from the generated data."""

    seed: int
    window_start: datetime
    window_end: datetime
    users: int = 0
    reps: int = 0
    departments: int = 0
    customers: int = 0
    contacts: int = 0
    touchpoints: int = 0  # all of them, the older deals' history included
    touchpoints_six_months: int = 0
    opportunities: int = 0
    won: int = 0
    lost: int = 0
    stage_transitions: int = 0
    tickets: int = 0
    receivables: int = 0
    payments: int = 0
    materials: int = 0
    visits_per_rep_month: float = 0.0
    lead_conversion: float = 0.0
    effective_share: float = 0.0  # 有效触点 among the six months' touchpoints
    effective_per_rep_week: float = 0.0
    complete_share: float = 0.0  # 触点记录完整率 (see the docstring of `salesnav.demo.seed`)
    entry_median_seconds: float = 0.0
    first_response_rate: float = 0.0
    checklist_compliance: float = 0.0
    overdue_open_deals: int = 0
    late_payers: int = 0  # customers whose 12-month on-time payment rate is below 85 %
    journeys: int = 0  # journeys with a history (demo/journeys.py)
    journey_enrollments: int = 0
    elapsed_seconds: float = 0.0

    def describe(self) -> str:
        minutes, seconds = divmod(round(self.entry_median_seconds), 60)
        return "\n".join(
            [
                f"演示数据已载入：员工 {self.users} 人（销售 {self.reps} 人），部门 {self.departments} 个",
                f"客户 {self.customers} 家、联系人 {self.contacts} 位；触点 {self.touchpoints} 条（近六个月 "
                f"{self.touchpoints_six_months} 条）",
                f"商机 {self.opportunities} 个（赢单 {self.won}，输单 {self.lost}），协同单 {self.tickets} 张，"
                f"回款计划 {self.receivables} 笔，素材 {self.materials} 份",
                f"人均月拜访量 {self.visits_per_rep_month:.1f} 次，线索转化率 {self.lead_conversion:.1%}，"
                f"有效触点 {self.effective_per_rep_week:.1f} 个/销售/周，触点记录完整率 {self.complete_share:.0%}，"
                f"平均录入时长 {minutes} 分 {seconds} 秒",
                f"协同单24小时首次响应达标率 {self.first_response_rate:.0%}，"
                f"过程合规率 {self.checklist_compliance:.0%}，"
                f"超72小时未跟进商机 {self.overdue_open_deals} 个，付款准时率低于85%的客户 {self.late_payers} 家",
                f"客户旅程 {self.journeys} 条，累计进入 {self.journey_enrollments} 人次",
                f"（随机种子 {self.seed}，用时 {self.elapsed_seconds:.1f} 秒）",
            ]
        )


def measure(plan: DemoPlan, seed: int) -> SeedSummary:
    """The figures over the six months, computed from the planned rows (the tests measure them back with
    `salesnav.metrics` from the database)."""
    start, end = plan.window_start, plan.day0
    touches = [t for t in plan.rows["touchpoints"] if start <= t["occurred_at"] < end]
    records = {t.id: t.record for c in plan.custs for t in c.touches}
    effective = sum(1 for t in touches if records[t["id"]] != "ineffective")
    leads = [c for c in plan.custs if start <= c.touches[0].occurred_at < end]
    transitions = [t for t in plan.rows["stage_transitions"] if t["from_stage_id"] and start <= t["occurred_at"] < end]
    overdue_before = plan.now - timedelta(hours=72)
    return SeedSummary(
        seed=seed,
        window_start=plan.window_start,
        window_end=plan.day0,
        users=len(plan.rows["users"]),
        reps=len(plan.reps),
        departments=len(plan.rows["departments"]),
        customers=len(plan.custs),
        contacts=len(plan.rows["contacts"]),
        touchpoints=len(plan.rows["touchpoints"]),
        touchpoints_six_months=len(touches),
        opportunities=len(plan.deals),
        won=sum(1 for d in plan.deals if d.status is OpportunityStatus.WON),
        lost=sum(1 for d in plan.deals if d.status is OpportunityStatus.LOST),
        stage_transitions=len(plan.rows["stage_transitions"]),
        tickets=len(plan.rows["collaboration_tickets"]),
        receivables=len(plan.rows["receivables"]),
        payments=len(plan.rows["payments"]),
        materials=len(plan.rows["materials"]),
        visits_per_rep_month=len(touches) / REPS / (WINDOW_DAYS / 30),
        lead_conversion=sum(1 for c in leads if c.deals) / max(1, len(leads)),
        effective_share=effective / len(touches),
        effective_per_rep_week=effective / REPS / (WINDOW_DAYS / 7),
        complete_share=sum(1 for t in touches if records[t["id"]] == "complete") / len(touches),
        entry_median_seconds=statistics.median(plan.entry_seconds),
        first_response_rate=plan.first_response_ok / max(1, plan.ticket_parts),
        checklist_compliance=sum(1 for t in transitions if t["checklist_complete"]) / max(1, len(transitions)),
        overdue_open_deals=sum(
            1
            for r in plan.rows["opportunities"]
            if r["status"] is OpportunityStatus.OPEN and r["last_follow_up_at"] < overdue_before
        ),
        late_payers=_late_payers(plan),
    )


def _late_payers(plan: DemoPlan) -> int:
    """Customers whose instalments due in the last 12 months were paid on time less than 85 % of the time."""
    since = plan.day0.date() - timedelta(days=365)
    paid = {p["receivable_id"]: p["paid_at"].date() for p in plan.rows["payments"]}
    due: dict[int, list[bool]] = defaultdict(list)
    for r in plan.rows["receivables"]:
        if since <= r["due_date"] < plan.day0.date():
            due[r["customer_id"]].append(r["id"] in paid and paid[r["id"]] <= r["due_date"])
    return sum(1 for flags in due.values() if sum(flags) / len(flags) < 0.85)
