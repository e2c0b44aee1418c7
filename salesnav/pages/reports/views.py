"""The team report page (/reports/team) and its workbook (/reports/team.xlsx): signed in through WeCom OAuth,
a manager sees their team, a director or admin every rep — the same report the card summarised."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request, send_file
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from salesnav import clock
from salesnav.bot.report_cards import attention_lines, daily_lines, window_label
from salesnav.handlers import collections_book
from salesnav.handlers.errors import DomainError
from salesnav.handlers.reports import daily, exports, team
from salesnav.handlers.reports import workbook as team_workbook
from salesnav.handlers.reports.schedule import day_window
from salesnav.http_messages import PAGE_MESSAGES_ZH, STATUS_FOR_DOMAIN_ERROR
from salesnav.metrics.scope import Scope, Window
from salesnav.models import Role, User
from salesnav.models.record_dates import DAY_OUT_OF_RANGE, day_in_range
from salesnav.pages.auth import require_user
from salesnav.reports.xlsx import XLSX_MIME, add_sheet, new_workbook, to_bytes
from salesnav.settings import Settings

bp = Blueprint("reports", __name__, url_prefix="/reports")
VIEWERS = frozenset({Role.MANAGER, Role.DIRECTOR, Role.ADMIN})
HTTP_MESSAGES = PAGE_MESSAGES_ZH


def _tz() -> Any:
    settings: Settings = current_app.config["SALESNAV"]
    return settings.business_tz


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> tuple[str, int]:
    status = STATUS_FOR_DOMAIN_ERROR.get(exc.code, 400)
    return render_template("dashboards/message.html", title="无法打开", message=exc.message), status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    code = exc.code or 500
    return render_template(
        "dashboards/message.html", title="无法打开", message=HTTP_MESSAGES.get(code, "请求失败")
    ), code


def _params() -> tuple[str, date, Window]:
    """kind (daily | weekly) and the window's first day: by default today's daily, last week's weekly."""
    kind = request.args.get("kind", "weekly")
    if kind not in team.KINDS:
        raise DomainError("报告类型只能是日报或周报")
    today = clock.now().astimezone(_tz()).date()
    raw = request.args.get("day")
    if raw:
        try:
            day = date.fromisoformat(raw)
        except ValueError as exc:
            raise DomainError("日期格式应为 2026-03-02") from exc
        if not day_in_range(day):
            raise DomainError(DAY_OUT_OF_RANGE)
    else:
        day = today if kind == "daily" else today - timedelta(days=7)
    if kind == "daily":
        return kind, day, day_window(day, _tz())
    window = Window.week_of(day, _tz())
    return kind, window.start.astimezone(_tz()).date(), window


def _report() -> tuple[str, date, team.TeamReport]:
    kind, day, window = _params()
    return kind, day, team.report_for(g.db, kind, g.user, window, clock.now(), _tz())


def chart_data(report: team.TeamReport) -> dict[str, Any]:
    """What the charts draw (names are escaped by reports.js before any tooltip shows them)."""
    reps = sorted(report.reps, key=lambda r: r.name)
    return {
        "reps": [r.name for r in reps],
        "touchpoints": [r.counts.touchpoints for r in reps],
        "effective": [r.counts.effective for r in reps],
        "incomplete": [r.incomplete for r in reps],
        "silent": [r.silent_deals for r in reps],
        "stages": _stage_totals(report),
    }


def _stage_totals(report: team.TeamReport) -> list[dict[str, Any]]:
    totals: dict[str, int] = {}
    for deal in report.deals:
        totals[deal.stage] = totals.get(deal.stage, 0) + deal.amount_fen
    return [{"name": name, "value": round(fen / 100)} for name, fen in totals.items()]


@bp.get("/team")
@require_user(VIEWERS)
def team_page() -> str:
    kind, day, report = _report()
    tz = _tz()
    dailies = []
    if kind == "daily":  # each rep's own daily report of that day, as the rep saw and confirmed it
        reps = list(g.db.scalars(select(User).where(User.id.in_([r.rep_id for r in report.reps])).order_by(User.name)))
        dailies = [(d, daily_lines(d, tz)) for d in daily.build(g.db, reps, day, tz)]
    scope = Scope.company(g.db) if report.company else Scope.team(g.db, g.user)
    return render_template(
        "reports/team.html",
        dailies=dailies,
        article=team.article_metrics(g.db, report.window, scope),
        r=report,
        kind=kind,
        day=day,
        period=window_label(report, tz),
        attention=attention_lines(report, tz, limit=5),
        data=chart_data(report),
        tz=tz,
        user=g.user,
    )


@bp.get("/team.xlsx")
@require_user(VIEWERS)
def team_workbook_download() -> Response:
    _kind, _day, report = _report()
    data = team_workbook.render(report, _tz())
    name = team_workbook.filename(report, _tz())
    # send_file writes the Chinese name as RFC 5987 filename* (a header is Latin-1 on the wire).
    return send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=name, max_age=0)


@bp.get("/export/<kind>.xlsx")
@require_user()
def export_list(kind: str) -> Response:
    """A list as the viewer sees it (the same scope and filters as the client's list), every row, as Excel."""
    build = exports.EXPORTS.get(kind)
    if build is None:
        raise DomainError("可以导出的列表只有商机、客户、触点、协同单和应收款")
    export = build(g.db, g.user, request.args, _tz())
    wb = new_workbook()
    add_sheet(wb, export.title, export.columns, export.rows)
    day = clock.now().astimezone(_tz()).date()
    name = f"{export.title}-{g.user.name}-{day:%Y%m%d}.xlsx"
    return send_file(io.BytesIO(to_bytes(wb)), mimetype=XLSX_MIME, as_attachment=True, download_name=name, max_age=0)


@bp.get("/collections")
@require_user()
def collections_page() -> str:
    """回款台账: open receivables in the viewer's scope (a rep their own, a manager their team's), aged, with the
    on-time rate the credit check uses; `customer_id` narrows it to one customer (the credit check's own figure)."""
    raw = request.args.get("customer_id")
    customer = None
    if raw:
        if not raw.isdigit() or not 0 < int(raw) < 2**53:
            raise DomainError("客户编号格式不正确")
        customer, book = collections_book.customer_book(g.db, g.user, int(raw))
    else:
        book = collections_book.team_book(g.db, g.user)
    return render_template("reports/collections.html", book=book, customer=customer, user=g.user)
