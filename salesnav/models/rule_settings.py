"""Run-time thresholds (docs/product.md), stored in the database; these are the defaults.

`get` reads a setting (the stored row, else the default), for the rules, the metrics and the pages
alike; `salesnav.handlers.rule_settings.update` changes one after validating it and keeps the change in
the audit trail. Each rule also has an on/off switch, `<rule>.enabled`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.models.records import RuleSetting

DEFAULTS: dict[str, Any] = {
    "follow_up.overdue_hours": 72,
    "follow_up.escalate_after_hours": 48,
    # A deal an Excel import brought in already silent: no per-deal alert (nor escalation) for this long after
    # the import; the rep gets one digest at the import instead.
    "follow_up.import_grace_hours": 72,
    "collaboration.marketing_sla_hours": 24,
    "collaboration.delivery_sla_hours": 24,
    "collaboration.enablement_sla_hours": 48,  # a 市场赋能请求 (white paper, live session, case) is a marketing part
    "collaboration.reminder_hours_before": 4,  # one reminder this long before a part's deadline (0: none)
    "collaboration.chat_answer_window_minutes": 30,  # after 发文件 / 确认排期 / 标注风险, the next message answers
    "collaboration.incentive_points": 10,
    "health.resistant_signals": 3,
    "health.window_days": 7,
    "capture.summary_window_minutes": 10,  # a chat message this soon after a 记触点 card is its summary
    "annotation.window_minutes": 10,  # a manager's voice/text this soon after 批注 or an alert annotates it
    "credit.amount_threshold_fen": 500_000 * 100,
    "credit.min_on_time_rate": 0.85,
    "dashboard.health_weights": {"quality": 0.4, "compliance": 0.3, "penetration": 0.3},  # Sales Health Index
    "dashboard.quality_lookback_days": 90,  # decision-chain coverage counts contacts met in these days
    "dashboard.first_response_hours": 24,  # first-response compliance: a valid answer within these hours
    "dashboard.deviation_history_days": 365,  # stage deviation compares with deals closed in these days
    "dashboard.refresh_minutes": 10,  # Level 1 figures are kept this long (the clock refreshes them at half)
    # The automation rules (salesnav/handlers/rules/): switches and their other thresholds.
    "rules.working_days_only": False,  # count 72 h / 48 h / 24 h on working days only (handlers/working_time.py)
    "follow_up.enabled": True,
    "collaboration_overdue.enabled": True,
    "collaboration_overdue.average_window_days": 30,
    "health.enabled": True,
    "credit.enabled": True,
    "credit.window_months": 12,
    "credit.finance_timeout_seconds": 5.0,
    # Excel one-click migration (salesnav/handlers/excel_import/): limits and name matching.
    "excel_import.max_file_mb": 20,
    "excel_import.max_rows": 50_000,  # rows read across all sheets; past it nothing is imported
    "excel_import.fuzzy_match_score": 92,  # rapidfuzz ratio at or above which a name matches (a marked guess)
    "excel_import.near_miss_score": 80,  # at or above: listed as a near miss for the user to decide
    # The 10:00 battle pack (今日作战包, salesnav/handlers/battle_pack/).
    "battle_pack.enabled": True,
    "battle_pack.hour": 10,  # business time (TZ_BUSINESS); a clock down at this hour catches up later that day
    "battle_pack.last_hour": 18,  # not from this hour on: no 今日作战包 in the evening
    "battle_pack.chinese_calendar": True,  # statutory holidays and adjusted working days; off = Monday–Friday
    "battle_pack.due_soon_hours": 48,  # a touchpoint's next action due within this many hours is a todo
    "battle_pack.overdue_lookback_days": 14,  # next actions overdue longer than this are stale, not todos
    "battle_pack.history_days": 365,  # similar won deals: those closed in these days
    "battle_pack.min_similar_won": 3,  # fewer won deals than this in a group → fall back to a wider group
    # Reports (salesnav/handlers/reports/): the rep's daily report, the team reports, the chase for missing records.
    "reports.enabled": True,
    "reports.daily_hour": 18,  # the rep's daily report card, working days, business time
    "reports.add_window_minutes": 30,  # after 补充 on the daily report card, the next text or voice is a line
    "reports.team_daily_hour": 19,  # the manager's daily team report, working days
    "reports.team_weekly_hour": 8,  # Monday: the weekly team report to managers and the director
    "reports.chase_hour": 9,  # working days: each rep's records missing what makes them count
    "reports.chase_lookback_days": 7,  # touchpoints this recent are chased
    "reports.receivable_remind_days_before": 3,  # 回款: a reminder to the rep this many days before the due date
    # The public pool (公海, salesnav/handlers/pool.py): days without follow-up per customer grade, then a
    # warning to the owner, then the return; claim limits and the previous owner's cool-down.
    "pool.enabled": True,
    "pool.silent_days.三甲": 60,
    "pool.silent_days.三乙": 45,
    "pool.silent_days.二甲": 45,
    "pool.silent_days.其他": 30,  # any other grade, or none
    "pool.warning_days": 3,  # the warning comes this many days before the return
    "pool.claims_per_day": 5,  # a rep's claims per business day
    "pool.max_held": 200,  # a rep holding this many customers claims no more
    "pool.reclaim_cooldown_days": 30,  # the previous owner may claim the customer back only after these days
    "pool.claims_per_minute": 3,  # faster than this is a script: refused (and audited)
    # The visit brief (拜访简报, salesnav/handlers/visit_brief.py) and the talk tracks (话术).
    "brief.enabled": True,
    "brief.lead_minutes": 120,  # the brief comes this long before the visit is due
    "brief.history_days": 365,  # objections of similar deals: touchpoints in these days
    "brief.min_similar": 5,  # fewer objections than this among similar deals → a wider group
    "talk_track.enabled": True,
    # Customer lifecycle stages (salesnav/handlers/lifecycle.py), recomputed by the tags job.
    "lifecycle.enabled": True,
    "lifecycle.trial_days": 90,  # 新客户试用期: this many days after the customer's first won deal
    "lifecycle.renewal_months": 3,  # 老客户续费前: this many months before a contract ends
    "lifecycle.contract_term_months": 12,  # a contract without an end date ends this long after signing
    "lifecycle.churn_silent_days": 60,  # 流失预警: no touchpoint for this many days (a customer with a won deal)
    "lifecycle.churn_on_red_health": True,  # 流失预警 also while the customer's health is red
}


_REMEMBERED = "salesnav_rule_settings"  # session.info key: the settings read so far, when remembering


def get(session: Session, key: str) -> Any:
    if key not in DEFAULTS:
        raise KeyError(key)
    remembered = session.info.get(_REMEMBERED)
    if remembered is not None and key in remembered:
        return remembered[key]
    row = session.scalars(select(RuleSetting).where(RuleSetting.key == key)).first()
    value = DEFAULTS[key] if row is None else row.value
    if remembered is not None:
        remembered[key] = value
    return value


def remember(session: Session) -> None:
    """From now on this session reads each setting once: for a batch job whose thousands of items would
    otherwise each read the same switches (a change made meanwhile applies from the next job on)."""
    session.info.setdefault(_REMEMBERED, {})
