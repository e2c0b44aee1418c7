"""How the rules say things in Chinese: durations, amounts, local times."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from salesnav.settings import current_settings


def business_tz() -> ZoneInfo:
    return current_settings().business_tz


def how_long(delta: timedelta) -> str:
    """72 h 5 min → 「3天5分钟」; always to the minute, the unit a manager reads."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{mins}分钟" if mins else ""]
    return "".join(parts) or "不到1分钟"


def hours_text(hours: float) -> str:
    return f"{hours:.1f}小时"


def local_time(moment: datetime) -> str:
    return moment.astimezone(business_tz()).strftime("%Y-%m-%d %H:%M")


def yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"
