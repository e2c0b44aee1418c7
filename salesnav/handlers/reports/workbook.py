"""The team report as an Excel workbook: 概览 (the figures, each with its numerator and denominator), 销售明细 (one
row per rep), 商机明细 (one row per open deal) and 需关注 (red customers, overdue tickets and receivables).

Every figure is the report's own, which is the metrics' (salesnav/metrics/by_rep.py): the per-rep rows sum to
the team's counts, and the team's ratios are computed from those sums, so the workbook agrees with the page, the
card and the dashboards.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from salesnav.handlers.reports.team import TeamReport
from salesnav.metrics.results import Ratio
from salesnav.reports.xlsx import Column, add_sheet, local, new_workbook, to_bytes, yuan

SUMMARY = [
    Column("指标", width=22),
    Column("数值", "number", 12),
    Column("分子", "number", 10),
    Column("分母", "number", 10),
]
REPS = [
    Column("销售", width=12),
    Column("触点数", "int", 8),
    Column("有效触点", "int", 9),
    Column("完整记录", "int", 9),
    Column("记录完整率", "percent", 11),
    Column("阶段推进", "int", 9),
    Column("合规推进", "int", 9),
    Column("过程合规率", "percent", 11),
    Column("赢单数", "int", 8),
    Column("赢单金额（元）", "yuan", 15),
    Column("在途商机", "int", 9),
    Column("在途金额（元）", "yuan", 15),
    Column("超时未跟进", "int", 10),
    Column("待补录", "int", 8),
    Column("日报确认（天）", "int", 13),
]
DEALS = [
    Column("客户", width=22),
    Column("商机", width=24),
    Column("产品线", width=12),
    Column("销售", width=10),
    Column("阶段", width=10),
    Column("预计金额（元）", "yuan", 15),
    Column("最近跟进", "datetime", 17),
    Column("进入本阶段", "datetime", 17),
    Column("未跟进天数", "number", 11),
    Column("超时未跟进", width=10),
    Column("红灯客户", width=9),
]
ATTENTION = [
    Column("类别", width=14),
    Column("客户", width=22),
    Column("内容", width=30),
    Column("销售", width=10),
    Column("截止/到期", "date", 12),
    Column("金额（元）", "yuan", 14),
]


def _ratio_row(label: str, ratio: Ratio) -> list[object]:
    return [label, ratio.value, ratio.numerator, ratio.denominator]


def _share(num: int, den: int) -> float | None:
    return num / den if den else None


def render(report: TeamReport, tz: ZoneInfo) -> bytes:
    f = report.figures
    wb = new_workbook()
    start = local(report.window.start, tz)
    end = local(report.window.end, tz)
    assert start is not None and end is not None
    add_sheet(
        wb,
        "概览",
        SUMMARY,
        [
            [
                f"{report.title}：{report.recipient_name}（{'全体销售' if report.company else '本团队'}）",
                None,
                None,
                None,
            ],
            [f"统计区间 {start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}", None, None, None],
            ["销售人数", f.reps, None, None],
            ["触点数", f.totals.touchpoints, None, None],
            ["有效触点数", f.totals.effective, None, None],
            _ratio_row("有效触点/人/周", f.effective_per_rep_week),
            _ratio_row("人均月拜访量", f.visits_per_rep_month),
            _ratio_row("记录完整率", f.record_completeness),
            _ratio_row("过程合规率", f.process_compliance),
            _ratio_row("赢单率", f.win_rate),
            ["赢单金额（元）", yuan(f.totals.won_amount_fen), None, None],
            ["在途商机数", report.open_deals, None, None],
            ["在途金额（元）", yuan(report.pipeline_fen), None, None],
            ["超时未跟进商机", report.silent_count, None, None],
            ["红灯客户", len(report.red_customers), None, None],
            ["超时协同单", len(report.overdue_parts), None, None],
            ["逾期回款笔数", len(report.overdue_receivables), None, None],
            ["逾期回款金额（元）", yuan(report.overdue_receivable_fen), None, None],
            ["待补录记录", sum(r.incomplete for r in report.reps), None, None],
        ],
    )
    add_sheet(
        wb,
        "销售明细",
        REPS,
        [
            [
                r.name,
                r.counts.touchpoints,
                r.counts.effective,
                r.counts.complete,
                _share(r.counts.complete, r.counts.touchpoints),
                r.counts.stage_moves,
                r.counts.compliant_moves,
                _share(r.counts.compliant_moves, r.counts.stage_moves),
                r.counts.won,
                yuan(r.counts.won_amount_fen),
                r.open_deals,
                yuan(r.pipeline_fen),
                r.silent_deals,
                r.incomplete,
                r.reports_confirmed,
            ]
            for r in sorted(report.reps, key=lambda r: r.name)
        ],
    )
    add_sheet(
        wb,
        "商机明细",
        DEALS,
        [
            [
                d.customer,
                d.title,
                d.product_line,
                d.owner_name,
                d.stage,
                yuan(d.amount_fen),
                local(d.last_follow_up_at, tz),
                local(d.stage_entered_at, tz),
                round(d.silent_days, 1),
                "是" if d.silent else "否",
                "是" if d.customer_red else "否",
            ]
            for d in sorted(report.deals, key=lambda d: (d.owner_name, -d.silent_days))
        ],
    )
    names = {r.rep_id: r.name for r in report.reps}
    attention: list[list[object]] = []
    attention += [["红灯客户", c.name, "客户健康度红灯", c.owner_name, None, None] for c in report.red_customers]
    attention += [
        [
            "协同单超时",
            p.customer,
            f"{p.department}未在时限内响应：{p.title}",
            names.get(p.owner_id, ""),
            local(p.due_at, tz),
            None,
        ]
        for p in report.overdue_parts
    ]
    attention += [
        [
            "逾期回款",
            r.customer,
            f"逾期 {r.days_overdue} 天",
            names.get(r.owner_id, ""),
            r.due_date,
            yuan(r.outstanding_fen),
        ]
        for r in report.overdue_receivables
    ]
    add_sheet(wb, "需关注", ATTENTION, attention)
    return to_bytes(wb)


def filename(report: TeamReport, tz: ZoneInfo) -> str:
    start = report.window.start.astimezone(tz)
    return f"{report.title}-{report.recipient_name}-{start:%Y%m%d}.xlsx"
