"""WeCom cards of the reports, in Chinese: the rep's daily report (confirm with one tap, or add a line), the
team report for a manager or the director (the figures that matter and what needs them today), and the list of
records to complete (补录).

Button keys: "rpt:ok:<YYYY-MM-DD>" / "rpt:add:<YYYY-MM-DD>" on the daily report; "rpt:xlsx:<kind>:<YYYY-MM-DD>"
on a team report (the workbook sent in the chat); "rpt:tp:<touchpoint>" / "rpt:ev:<deal>" on the list of
records to complete; salesnav/bot/capture/daily_report.py routes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from salesnav.bot.cards import MAX_BUTTONS, SOURCE
from salesnav.handlers.money import fen_to_yuan_text
from salesnav.handlers.reports.chase import ChaseItem
from salesnav.handlers.reports.daily import DailyReport
from salesnav.handlers.reports.team import TeamReport

PREFIX = "rpt"
WEEKDAYS = "一二三四五六日"
SUBTITLE_LIMIT = 400
VALUE_LIMIT = 26


def _cut(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def day_label(day: Any) -> str:
    return f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def _due(moment: datetime | None, tz: ZoneInfo) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(tz)
    return f"（{local.month}月{local.day}日{local:%H:%M}前）"


def deal_name(customer: str, title: str) -> str:
    """A deal as people name it: its title, with the customer first when the title does not say it."""
    return title if customer in title else f"{customer}·{title}"


def daily_lines(report: DailyReport, tz: ZoneInfo) -> list[str]:
    """The report's body, one line per record, as the rep and their manager read it."""
    lines = []
    for t in report.touchpoints:
        head = f"{t.customer} {t.type_label}·{t.emotion_label}"
        body = f"：{_cut(t.summary, 40)}" if t.summary else ""
        nxt = f" → 下一步：{_cut(t.next_action, 30)}{_due(t.next_action_due, tz)}" if t.next_action else ""
        lines.append(f"• {head}{body}{nxt}")
    for d in report.deals:
        move = f"新建商机（{d.to_stage}）" if d.from_stage is None else f"{d.from_stage} → {d.to_stage}"
        lines.append(f"• 商机 {_cut(deal_name(d.customer, d.title), 24)}：{move}")
    for p in report.payments:
        lines.append(f"• 回款 {p.customer}：{fen_to_yuan_text(p.amount_fen)}")
    for line in report.added_lines:
        lines.append(f"• 补充：{_cut(line, 80)}")
    return lines


def daily_card(report: DailyReport, tz: ZoneInfo, *, task_id: str) -> dict[str, Any]:
    lines = daily_lines(report, tz)
    if report.confirmed_at is not None:
        desc = "已确认提交，主管可在「团队报告」页的日报中查看"
    elif report.captured:
        desc = "已根据您今天的记录自动生成，无误请点「确认提交」"
    else:
        desc = "今天还没有记录：点「补充」后发一句文字或语音即可"
    body = "\n".join(lines) if lines else "今天暂无触点、商机推进或回款记录。"
    day = report.day.isoformat()
    buttons = (
        [
            {"text": "已确认", "style": 2, "key": f"{PREFIX}:done:{day}"},
            {"text": "再补充", "style": 2, "key": f"{PREFIX}:add:{day}"},
        ]
        if report.confirmed_at is not None
        else [
            {"text": "确认提交", "style": 1, "key": f"{PREFIX}:ok:{day}"},
            {"text": "补充", "style": 2, "key": f"{PREFIX}:add:{day}"},
        ]
    )
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": f"今日日报 · {day_label(report.day)}", "desc": desc},
        "sub_title_text": body if len(body) <= SUBTITLE_LIMIT else body[: SUBTITLE_LIMIT - 1] + "…",
        "horizontal_content_list": [
            {"keyname": "触点", "value": f"{len(report.touchpoints)} 条（有效 {report.effective_count}）"},
            {"keyname": "商机推进", "value": f"{len(report.deals)} 个"},
            {"keyname": "下一步", "value": f"{len(report.next_actions)} 项"},
            {"keyname": "回款", "value": fen_to_yuan_text(report.payment_total_fen) if report.payments else "无"},
        ],
        "task_id": task_id,
        "button_list": buttons,
    }


def daily_task_id(report: DailyReport, version: int = 0) -> str:
    """WeCom wants task ids unique within the app: one per rep, day and card sent."""
    return f"rpt-{report.rep_id}-{report.day:%Y%m%d}" + (f"-{version}" if version else "")


# --- team reports -----------------------------------------------------------------------------------


def money(fen: int) -> str:
    """「12.5万元」/「8,600元」: what a card has room for (the workbook has the exact amounts)."""
    yuan = fen / 100
    if yuan >= 10_000:
        return f"{yuan / 10_000:.1f}".rstrip("0").rstrip(".") + "万元"
    return f"{yuan:,.0f}元"


def _pct(ratio: Any) -> str:
    return "—" if ratio.value is None else f"{ratio.value * 100:.0f}%"


def window_label(report: TeamReport, tz: ZoneInfo) -> str:
    start = report.window.start.astimezone(tz).date()
    last = (report.window.end.astimezone(tz) - timedelta(seconds=1)).date()
    if start == last:
        return day_label(start)
    return f"{start.month}月{start.day}日—{last.month}月{last.day}日"


def attention_lines(report: TeamReport, tz: ZoneInfo, limit: int = 3) -> list[str]:
    """What needs someone today, most pressing first, a few of each."""
    lines = []
    silent = report.silent_deals
    if report.silent_count:
        named = "、".join(
            f"{_cut(deal_name(d.customer, d.title), 16)}（{d.owner_name}，{d.silent_days:.0f}天）"
            for d in silent[:limit]
        )
        lines.append(f"⚠ 超时未跟进商机 {report.silent_count} 个：{named}")
    if report.red_customers:
        named = "、".join(f"{c.name}（{c.owner_name}）" for c in report.red_customers[:limit])
        lines.append(f"⚠ 红灯客户 {len(report.red_customers)} 个：{named}")
    if report.overdue_parts:
        named = "、".join(f"{p.customer}·{p.department}" for p in report.overdue_parts[:limit])
        lines.append(f"⚠ 协同单超时未响应 {len(report.overdue_parts)} 项：{named}")
    if report.overdue_receivables:
        named = "、".join(
            f"{r.customer}{f'第{r.instalment_no}期' if r.instalment_no else ''} {money(r.outstanding_fen)}"
            f"（逾期{r.days_overdue}天）"
            for r in report.overdue_receivables[:limit]
        )
        lines.append(f"⚠ 逾期回款 {len(report.overdue_receivables)} 笔：{named}")
    incomplete = report.incomplete_reps
    if incomplete:
        named = "、".join(f"{r.name} {r.incomplete}条" for r in incomplete[:limit])
        lines.append(f"⚠ 记录待补录：{named}")
    return lines


def team_card(report: TeamReport, tz: ZoneInfo, *, task_id: str) -> dict[str, Any]:
    """The pushed team report: the figures that matter, what needs attention today, and the workbook on a tap."""
    f = report.figures
    lines = attention_lines(report, tz) or ["✓ 今天没有需要处理的异常"]
    body = "\n".join(lines)
    scope = "全体销售" if report.company else "本团队"
    day = report.window.start.astimezone(tz).date().isoformat()
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {
            "title": f"{report.title} · {window_label(report, tz)}",
            "desc": f"{scope} {f.reps} 名销售；完整报告与图表在看板「团队报告」",
        },
        "sub_title_text": body if len(body) <= SUBTITLE_LIMIT else body[: SUBTITLE_LIMIT - 1] + "…",
        "horizontal_content_list": [
            {"keyname": "触点", "value": f"{f.totals.touchpoints} 条（有效 {f.totals.effective}）"},
            {
                "keyname": "有效触点/人/周",
                "value": "—" if f.effective_per_rep_week.value is None else f"{f.effective_per_rep_week.value:.1f}",
            },
            {"keyname": "记录完整率", "value": _pct(f.record_completeness)},
            {"keyname": "过程合规率", "value": _pct(f.process_compliance)},
            {"keyname": "赢单", "value": f"{f.totals.won} 个 {money(f.totals.won_amount_fen)}"},
            {"keyname": "在途商机", "value": f"{report.open_deals} 个 {money(report.pipeline_fen)}"},
        ],
        "task_id": task_id,
        "button_list": [{"text": "发送Excel", "style": 1, "key": f"{PREFIX}:xlsx:{report.kind}:{day}"}],
    }


def team_task_id(report: TeamReport) -> str:
    return f"rpt-{report.kind}-{report.recipient_id}-{report.window.start:%Y%m%d%H}"


# --- records to complete (补录) ------------------------------------------------------------------------


def chase_card(items: list[ChaseItem], *, task_id: str) -> dict[str, Any]:
    """The rep's records that do not count yet, each with its one-tap way to complete it (the first six)."""
    shown = items[:MAX_BUTTONS]
    lines = [f"{i}. {item.label}：缺{'、'.join(item.missing)}" for i, item in enumerate(items, start=1)]
    body = "\n".join(lines)
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": f"待补录 {len(items)} 条", "desc": "补齐后才计入有效触点和过程合规，点序号即可补"},
        "sub_title_text": body if len(body) <= SUBTITLE_LIMIT else body[: SUBTITLE_LIMIT - 1] + "…",
        "task_id": task_id,
        "button_list": [
            {
                "text": f"补第{i}条",
                "style": 1,
                "key": f"{PREFIX}:{'tp' if item.kind == 'touchpoint' else 'ev'}:{item.subject_id}",
            }
            for i, item in enumerate(shown, start=1)
        ],
    }
