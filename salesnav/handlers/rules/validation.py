"""What each rule setting may hold. An admin's typo must never switch a rule off by accident."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salesnav.handlers.errors import DomainError


@dataclass(frozen=True)
class Spec:
    label: str  # what the admin page and `salesnav rules list` show
    kind: type  # bool, int or float
    lo: float | None = None
    hi: float | None = None


SPECS: dict[str, Spec] = {
    "follow_up.enabled": Spec("跟进超时规则开关", bool),
    "follow_up.overdue_hours": Spec("超过多少小时未跟进算超时", int, 1, 24 * 90),
    "follow_up.escalate_after_hours": Spec("待办超过多少小时未完成升级给总监", int, 1, 24 * 30),
    "collaboration_overdue.enabled": Spec("协同超时规则开关", bool),
    "collaboration_overdue.average_window_days": Spec("平均处理时长统计天数", int, 1, 365),
    "collaboration.marketing_sla_hours": Spec("市场部响应时限（小时）", int, 1, 24 * 30),
    "collaboration.delivery_sla_hours": Spec("交付部响应时限（小时）", int, 1, 24 * 30),
    "collaboration.incentive_points": Spec("赢单协同激励积分", int, 0, 10_000),
    "health.enabled": Spec("客户健康红灯规则开关", bool),
    "health.resistant_signals": Spec("抵触信号次数", int, 1, 100),
    "health.window_days": Spec("抵触信号统计天数", int, 1, 90),
    "capture.summary_window_minutes": Spec("触点纪要补充时限（分钟）", int, 1, 24 * 60),
    "credit.enabled": Spec("大单信用校验开关", bool),
    "credit.amount_threshold_fen": Spec("大单金额门槛（分）", int, 1, 10**13),
    "credit.min_on_time_rate": Spec("最低按时回款率", float, 0, 1),
    "credit.window_months": Spec("回款率统计月数", int, 1, 60),
    "credit.finance_timeout_seconds": Spec("财务系统超时（秒）", float, 0.1, 60),
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
