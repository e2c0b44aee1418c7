"""What each rule setting may hold. An admin's typo must never switch a rule off by accident."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salesnav.handlers.errors import DomainError
from salesnav.models.rule_settings import DEFAULTS


@dataclass(frozen=True)
class Spec:
    label: str  # what the admin page and `salesnav rules list` show
    kind: type  # bool, int or float
    lo: float | None = None
    hi: float | None = None


SPECS: dict[str, Spec] = {
    "rules.working_days_only": Spec("只按工作日计时（周末、法定节假日不计入跟进超时、升级和协同单响应时限）", bool),
    "follow_up.enabled": Spec("跟进超时规则开关", bool),
    "follow_up.overdue_hours": Spec("超过多少小时未跟进算超时", int, 1, 24 * 90),
    "follow_up.escalate_after_hours": Spec("待办超过多少小时未完成升级给总监", int, 1, 24 * 30),
    "follow_up.import_grace_hours": Spec(
        "Excel 导入的商机在导入后多少小时内不发跟进超时预警、不升级（导入时只给销售发一条汇总提醒）", int, 0, 24 * 30
    ),
    "collaboration_overdue.enabled": Spec("协同超时规则开关", bool),
    "collaboration_overdue.average_window_days": Spec("平均处理时长统计天数", int, 1, 365),
    "collaboration.marketing_sla_hours": Spec("市场部响应时限（小时）", int, 1, 24 * 30),
    "collaboration.delivery_sla_hours": Spec("交付部响应时限（小时）", int, 1, 24 * 30),
    "collaboration.enablement_sla_hours": Spec("市场赋能请求响应时限（小时）", int, 1, 24 * 30),
    "collaboration.reminder_hours_before": Spec("协同任务截止前多少小时提醒（0 为不提醒）", int, 0, 24 * 7),
    "collaboration.chat_answer_window_minutes": Spec("在聊天中回复协同任务的等待时限（分钟）", int, 1, 24 * 60),
    "collaboration.incentive_points": Spec("赢单协同激励积分", int, 0, 10_000),
    "health.enabled": Spec("客户健康红灯规则开关", bool),
    "health.resistant_signals": Spec("抵触信号次数", int, 1, 100),
    "health.window_days": Spec("抵触信号统计天数", int, 1, 90),
    "capture.summary_window_minutes": Spec("触点纪要补充时限（分钟）", int, 1, 24 * 60),
    "annotation.window_minutes": Spec("主管批注时限（分钟）", int, 1, 24 * 60),
    "credit.enabled": Spec("大单信用校验开关", bool),
    "credit.amount_threshold_fen": Spec("大单金额门槛（分）", int, 1, 10**13),
    "credit.min_on_time_rate": Spec("最低按时回款率", float, 0, 1),
    "credit.window_months": Spec("回款率统计月数", int, 1, 60),
    "credit.finance_timeout_seconds": Spec("财务系统答复时限（秒，连接到收完数据合计）", float, 0.1, 30),
    "excel_import.max_file_mb": Spec("Excel 导入文件大小上限（MB）", int, 1, 200),
    "excel_import.max_rows": Spec("Excel 导入行数上限", int, 1, 1_000_000),
    "excel_import.fuzzy_match_score": Spec("客户名称相似度达到即匹配（0-100）", int, 50, 100),
    "excel_import.near_miss_score": Spec("客户名称相似度达到即列为疑似重复（0-100）", int, 0, 100),
    "battle_pack.enabled": Spec("今日作战包开关", bool),
    "battle_pack.hour": Spec("今日作战包发送时刻（几点）", int, 0, 23),
    "battle_pack.last_hour": Spec("今日作战包最晚补发时刻（几点，之后改到下个工作日发送）", int, 1, 24),
    "battle_pack.chinese_calendar": Spec("按法定节假日和调休安排工作日（关闭则按周一至周五）", bool),
    "battle_pack.due_soon_hours": Spec("多少小时内到期的下一步行动列入作战包", int, 1, 24 * 14),
    "battle_pack.overdue_lookback_days": Spec("逾期多少天以内的下一步行动仍列入作战包", int, 0, 365),
    "battle_pack.history_days": Spec("相似赢单统计天数", int, 30, 365 * 5),
    "battle_pack.min_similar_won": Spec("相似赢单最少个数", int, 1, 100),
    "reports.enabled": Spec("日报、团队报告与补录提醒开关", bool),
    "reports.daily_hour": Spec("销售日报发送时刻（几点，工作日）", int, 0, 23),
    "reports.add_window_minutes": Spec("日报点「补充」后等待文字或语音的时限（分钟）", int, 1, 24 * 60),
    "reports.team_daily_hour": Spec("团队日报发送时刻（几点，工作日）", int, 0, 23),
    "reports.team_weekly_hour": Spec("团队周报发送时刻（每周一几点）", int, 0, 23),
    "reports.chase_hour": Spec("补录提醒发送时刻（几点，工作日）", int, 0, 23),
    "reports.chase_lookback_days": Spec("补录提醒查看最近多少天的触点", int, 1, 90),
    "reports.receivable_remind_days_before": Spec("回款到期前几天提醒销售", int, 0, 60),
    "pool.enabled": Spec("公海开关（长期未跟进和离职人员的客户退回公海）", bool),
    "pool.silent_days.三甲": Spec("三甲客户多少天未跟进退回公海", int, 1, 3650),
    "pool.silent_days.三乙": Spec("三乙客户多少天未跟进退回公海", int, 1, 3650),
    "pool.silent_days.二甲": Spec("二甲客户多少天未跟进退回公海", int, 1, 3650),
    "pool.silent_days.其他": Spec("其他等级客户多少天未跟进退回公海", int, 1, 3650),
    "pool.warning_days": Spec("退回公海前提前几天提醒负责人", int, 0, 90),
    "pool.claims_per_day": Spec("每人每天最多领取公海客户数", int, 0, 1000),
    "pool.max_held": Spec("每人最多持有客户数（达到后不能再领取）", int, 1, 100_000),
    "pool.reclaim_cooldown_days": Spec("原负责人多少天后才能重新领取", int, 0, 3650),
    "pool.claims_per_minute": Spec("每人每分钟最多领取次数（防脚本抢客）", int, 1, 60),
    "brief.enabled": Spec("拜访简报开关", bool),
    "brief.lead_minutes": Spec("拜访前多少分钟发送拜访简报", int, 5, 7 * 24 * 60),
    "brief.history_days": Spec("拜访简报异议统计天数", int, 30, 365 * 5),
    "brief.min_similar": Spec("相似商机异议最少条数（不足时放宽范围）", int, 1, 1000),
    "talk_track.enabled": Spec("新话术推送开关", bool),
    "lifecycle.enabled": Spec("客户生命周期阶段开关", bool),
    "lifecycle.trial_days": Spec("首次赢单后多少天内为新客户试用期", int, 1, 3650),
    "lifecycle.renewal_months": Spec("合同到期前几个月进入续费期", int, 1, 24),
    "lifecycle.contract_term_months": Spec("未填到期日的合同按签约后几个月到期", int, 1, 120),
    "lifecycle.churn_silent_days": Spec("老客户多少天没有触点进入流失预警", int, 1, 3650),
    "lifecycle.churn_on_red_health": Spec("客户健康度为红灯时进入流失预警", bool),
    # Dashboards (salesnav/metrics/): windows and the Sales Health Index weights.
    "dashboard.health_weights": Spec("销售健康度指数权重", dict),
    "dashboard.quality_lookback_days": Spec("决策链覆盖统计天数", int, 7, 365),
    "dashboard.first_response_hours": Spec("协同首次响应达标时限（小时）", int, 1, 24 * 7),
    "dashboard.deviation_history_days": Spec("阶段推进偏差对比历史天数", int, 30, 365 * 5),
    "dashboard.refresh_minutes": Spec("高管看板数据刷新间隔（分钟）", int, 1, 24 * 60),
}

_TRUE, _FALSE = {"1", "true", "yes", "on", "开", "开启"}, {"0", "false", "no", "off", "关", "关闭"}


def check_setting(key: str, raw: Any) -> Any:
    """The typed value for `key`, or a DomainError saying what is wrong."""
    spec = SPECS.get(key)
    if spec is None:
        raise DomainError(f"没有名为「{key}」的规则设置")
    if spec.kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise DomainError(f"「{spec.label}」只能是开或关")
    if spec.kind is dict:
        return _check_weights(key, spec, raw)
    if isinstance(raw, bool):
        raise DomainError(f"「{spec.label}」必须是数字")
    try:
        value = spec.kind(str(raw).strip()) if not isinstance(raw, int | float) else spec.kind(raw)
    except (TypeError, ValueError) as exc:
        raise DomainError(f"「{spec.label}」必须是{'整数' if spec.kind is int else '数字'}") from exc
    if spec.kind is int and isinstance(raw, float) and not raw.is_integer():
        raise DomainError(f"「{spec.label}」必须是整数")
    if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
        raise DomainError(f"「{spec.label}」必须在 {spec.lo:g} 到 {spec.hi:g} 之间")
    return value


def _check_weights(key: str, spec: Spec, raw: Any) -> dict[str, float]:
    """Weights: the default's parts, each 0..1, adding up to 1 (shown to admins as percentages)."""
    parts = list(DEFAULTS[key])
    if not isinstance(raw, dict) or set(raw) != set(parts):
        raise DomainError(f"「{spec.label}」必须包含且只包含：{'、'.join(parts)}")
    weights: dict[str, float] = {}
    for part in parts:
        value = raw[part]
        if isinstance(value, bool):
            raise DomainError(f"「{spec.label}」的每一项都必须是数字")
        try:
            weights[part] = float(value)
        except (TypeError, ValueError) as exc:
            raise DomainError(f"「{spec.label}」的每一项都必须是数字") from exc
        if not 0 <= weights[part] <= 1:
            raise DomainError(f"「{spec.label}」的每一项都必须在 0% 到 100% 之间")
    if abs(sum(weights.values()) - 1) > 0.001:
        raise DomainError(f"「{spec.label}」各项之和必须是 100%（现在是 {sum(weights.values()) * 100:g}%）")
    return weights
