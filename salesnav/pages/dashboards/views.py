"""The dashboard pages (/dashboards/...): signed in through WeCom OAuth (pages/auth.py), scoped by handlers/scope.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from salesnav import clock
from salesnav.handlers import contracts, scope
from salesnav.handlers.annotations import ANNOTATOR_ROLES, annotate_and_notify
from salesnav.handlers.approvals import REASON_LIMIT, lift_freeze, may_lift_freeze
from salesnav.handlers.dashboards.battle_map import RED_LABELS, rep_maps, team_battle_map
from salesnav.handlers.dashboards.executive import (
    DEFAULT_WINDOW_DAYS,
    WINDOW_CHOICES,
    executive_snapshot,
    refresh_interval,
)
from salesnav.handlers.dashboards.forecast import forecast_snapshot
from salesnav.handlers.dashboards.jsonable import jsonable
from salesnav.handlers.dashboards.leaderboard import leaderboard, month_label, parse_month
from salesnav.handlers.dashboards.rep_day import rep_day
from salesnav.handlers.dashboards.teams import teams_overview
from salesnav.handlers.errors import DomainError, Forbidden
from salesnav.handlers.rules import credit_check
from salesnav.handlers.scope import opportunity_for
from salesnav.handlers.win_probability import win_probability
from salesnav.http_messages import PAGE_MESSAGES_ZH, STATUS_FOR_DOMAIN_ERROR
from salesnav.metrics import Window
from salesnav.models import (
    Annotation,
    Customer,
    OpportunityStatus,
    Role,
    Stage,
    StageTransition,
    Touchpoint,
    User,
)
from salesnav.models.record_dates import DAY_OUT_OF_RANGE, day_in_range
from salesnav.pages.auth import check_csrf, require_user
from salesnav.settings import Settings

bp = Blueprint("dashboards", __name__, url_prefix="/dashboards")


@bp.context_processor
def _links_for_the_reader() -> dict[str, Any]:
    """What the navigation may offer: only pages the signed-in member may open (no link that answers 403)."""
    user, session = getattr(g, "user", None), getattr(g, "db", None)
    return {"may_see_marketing": bool(user and session and scope.may_see_marketing(session, user))}


LEADERBOARD_ROWS = 20  # the marketing page lists the month's first 20 collaborations; 查看全部 shows the rest
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
    message = exc.description if code == 400 and exc.description and not exc.description.startswith("The ") else None
    return render_template(
        "dashboards/message.html", title="无法打开", message=message or HTTP_MESSAGES.get(code, "请求失败")
    ), code


@bp.get("/")
@require_user()
def landing() -> Response | tuple[str, int]:
    """Each role's own level first."""
    user: User = g.user
    if scope.may_see_executive(user):
        return redirect(url_for(".executive"))
    if user.role is Role.MANAGER:
        return redirect(url_for(".team"))
    if user.role is Role.REP:
        return redirect(url_for(".me"))
    if scope.may_see_marketing(g.db, user):
        return redirect(url_for(".marketing"))
    return render_template("dashboards/message.html", title="暂无看板", message="您的角色暂时没有可查看的看板"), 403


@bp.get("/exec")
@require_user(scope.EXECUTIVE_ROLES)
def executive() -> str:
    days = request.args.get("days", DEFAULT_WINDOW_DAYS, type=int)
    if days not in WINDOW_CHOICES:
        days = DEFAULT_WINDOW_DAYS
    figures = executive_snapshot(g.db, clock.now(), _tz(), days).figures
    forecast = forecast_snapshot(g.db, clock.now(), _tz(), max_age=refresh_interval(g.db)).figures
    return render_template(
        "dashboards/executive.html",
        f=figures,
        forecast=forecast,
        data=jsonable(figures),
        choices=WINDOW_CHOICES,
        tz=_tz(),
        user=g.user,
    )


def _week_param() -> date:
    raw = request.args.get("week")
    if not raw:
        return clock.now().astimezone(_tz()).date()
    try:
        day = date.fromisoformat(raw)
    except ValueError as exc:
        raise DomainError("日期格式应为 2026-03-02") from exc
    if not day_in_range(day):
        raise DomainError(DAY_OUT_OF_RANGE)
    return day


@bp.get("/team")
@require_user(scope.TEAM_ROLES)
def team() -> str:
    manager_id = request.args.get("manager", type=int)
    manager = scope.team_manager_for(g.db, g.user, manager_id)
    day = _week_param()
    battle = team_battle_map(g.db, manager, day, clock.now(), _tz())
    return render_template(
        "dashboards/team.html",
        m=battle,
        data=jsonable(battle),
        managers=scope.managers_visible_to(g.db, g.user),
        manager=manager,
        day=day,
        red_labels=RED_LABELS,
        tz=_tz(),
        user=g.user,
    )


@bp.get("/teams")
@require_user(scope.EXECUTIVE_ROLES)
def teams() -> str:
    """Level 2 for a director: every team's week side by side, each row opening that team's battle map."""
    day = _week_param()
    overview = teams_overview(g.db, day, clock.now(), _tz())
    return render_template("dashboards/teams.html", o=overview, day=day, tz=_tz(), user=g.user)


@bp.get("/me")
@require_user()
def me() -> str:
    rep = scope.rep_for(g.db, g.user, request.args.get("rep", type=int))
    figures = rep_day(g.db, rep, clock.now(), _tz())
    return render_template(
        "dashboards/me.html", r=figures, data=jsonable(figures.battle_map), red_labels=RED_LABELS, tz=_tz(), user=g.user
    )


@bp.get("/marketing")
@require_user()
def marketing() -> str:
    if not scope.may_see_marketing(g.db, g.user):
        raise Forbidden("协同价值排行榜仅供市场部、销售总监查看")
    raw_month = request.args.get("month", "")
    board = leaderboard(g.db, clock.now(), _tz(), parse_month(raw_month) if raw_month else None)
    return render_template(
        "dashboards/marketing.html",
        b=board,
        data=jsonable(board),
        limit=LEADERBOARD_ROWS,
        show_all=request.args.get("all") == "1",
        asked_month=raw_month,
        month_label=month_label,
        tz=_tz(),
        user=g.user,
    )


@bp.get("/opportunities/<int(min=1, max=9007199254740991):opportunity_id>")
@require_user()
def opportunity(opportunity_id: int) -> str:
    s = g.db
    opp = opportunity_for(s, g.user, opportunity_id)
    now = clock.now()
    stages = {st.id: st for st in s.scalars(select(Stage))}
    history = list(
        s.scalars(
            select(StageTransition)
            .where(StageTransition.opportunity_id == opp.id)
            .order_by(StageTransition.occurred_at, StageTransition.id)
        )
    )
    touchpoints = list(
        s.scalars(
            select(Touchpoint)
            .where(Touchpoint.customer_id == opp.customer_id, Touchpoint.deleted_at.is_(None))
            .order_by(Touchpoint.occurred_at.desc())
            .limit(10)
        )
    )
    notes = list(
        s.execute(
            select(Annotation, User.name)
            .join(User, User.id == Annotation.author_id)
            .where(Annotation.opportunity_id == opp.id)
            .order_by(Annotation.created_at.desc())
        )
    )
    # The deal's red blocks as the battle map shows them, over the current week.
    week = Window.week_of(now.astimezone(_tz()).date(), _tz())
    flags = [
        block
        for rep in rep_maps(s, {opp.owner_id}, week, now)
        for row in rep.rows
        if row.id == opp.id
        for block in row.red_blocks
    ]
    customer = s.get(Customer, opp.customer_id)
    waiver = credit_check.latest_waiver(s, opp.id)
    contract = contracts.contract_of(s, opp.id)
    return render_template(
        "dashboards/opportunity.html",
        contract=contracts.view(s, contract) if contract else None,
        opp=opp,
        win=win_probability(s, g.user, opp.id, now) if opp.status is OpportunityStatus.OPEN else None,
        customer=customer,
        stages=stages,
        history=history,
        touchpoints=touchpoints,
        notes=notes,
        flags=flags,
        may_annotate=g.user.role in ANNOTATOR_ROLES,
        may_lift=may_lift_freeze(g.user),
        waiver=waiver,
        waiver_covers=credit_check.covering_waiver(s, opp) is not None,
        reason_limit=REASON_LIMIT,
        back=_safe_back(request.args.get("back")),
        tz=_tz(),
        user=g.user,
    )


@bp.post("/opportunities/<int(min=1, max=9007199254740991):opportunity_id>/annotations")
@require_user()
def annotate(opportunity_id: int) -> Response:
    check_csrf()
    s = g.db
    back = _safe_back(request.form.get("back"))
    try:
        annotate_and_notify(s, g.user, opportunity_id=opportunity_id, text=request.form.get("text", "")[:5000])
    except DomainError as exc:
        if exc.code in STATUS_FOR_DOMAIN_ERROR:
            raise
        flash(exc.message, "error")
        return redirect(url_for(".opportunity", opportunity_id=opportunity_id, back=back))
    s.commit()
    flash("批注已发送给销售", "ok")
    return redirect(url_for(".opportunity", opportunity_id=opportunity_id, back=back))


@bp.post("/opportunities/<int(min=1, max=9007199254740991):opportunity_id>/unfreeze")
@require_user()
def unfreeze(opportunity_id: int) -> Response:
    """解除冻结 from the deal's page: the same `lift_freeze` as the chat, the API and the CLI."""
    check_csrf()
    s = g.db
    back = _safe_back(request.form.get("back"))
    here = url_for(".opportunity", opportunity_id=opportunity_id, back=back)
    try:
        lifted = lift_freeze(
            s, g.user, opportunity_id=opportunity_id, reason=request.form.get("reason", "")[:5000], channel="page"
        )
    except DomainError as exc:
        if exc.code in STATUS_FOR_DOMAIN_ERROR:
            raise  # not theirs to lift, or not theirs to see: the refusal page, in Chinese
        flash(exc.message, "error")
        return redirect(here + "#freeze")
    summary = lifted.summary()
    s.commit()
    flash(summary, "ok")
    return redirect(here)


def _safe_back(target: str | None) -> str | None:
    if target and target.startswith("/dashboards/") and "//" not in target and "\\" not in target:
        return target
    return None
