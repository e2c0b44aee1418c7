"""The dashboards' figures as JSON for the mini-program (/api/v1/dashboards/...): the same figures as the H5
pages (salesnav/pages/dashboards/), built by the same functions, scoped the same way (handlers/scope.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from flask import current_app, jsonify
from flask.wrappers import Response
from marshmallow import fields, validate

from salesnav import clock
from salesnav.handlers import scope
from salesnav.handlers.dashboards.battle_map import team_battle_map
from salesnav.handlers.dashboards.executive import (
    DEFAULT_WINDOW_DAYS,
    WINDOW_CHOICES,
    executive_snapshot,
    refresh_interval,
)
from salesnav.handlers.dashboards.forecast import forecast_snapshot
from salesnav.handlers.dashboards.jsonable import jsonable
from salesnav.handlers.dashboards.leaderboard import MONTH_PATTERN, leaderboard, parse_month
from salesnav.handlers.dashboards.rep_day import rep_day
from salesnav.handlers.errors import Forbidden
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import bp
from salesnav.miniprogram_api.schemas import BusinessDate, ErrorOut
from salesnav.miniprogram_api.unit_of_work import db_session
from salesnav.settings import Settings

TAGS = ["看板"]
DB_ID = validate.Range(min=1, max=2**53)
# The figures are the dashboards' dataclasses as JSON (see salesnav/handlers/dashboards/); documented as objects.
FIGURES = {"200": {"description": "看板数据", "content": {"application/json": {"schema": {"type": "object"}}}}}


def _tz() -> Any:
    settings: Settings = current_app.config["SALESNAV"]
    return settings.business_tz


class ExecutiveQuery(ma.Schema):
    days = fields.Integer(load_default=DEFAULT_WINDOW_DAYS, validate=validate.OneOf(WINDOW_CHOICES))


class TeamQuery(ma.Schema):
    manager = fields.Integer(validate=DB_ID, metadata={"description": "销售主管 id；默认本人（主管）"})
    week = BusinessDate(metadata={"description": "该周内任意一天，默认本周"})


class RepQuery(ma.Schema):
    rep = fields.Integer(validate=DB_ID, metadata={"description": "销售 id；默认本人（销售）"})


class MarketingQuery(ma.Schema):
    month = fields.String(
        validate=validate.Regexp(MONTH_PATTERN, error="月份格式应为 2026-11"),
        metadata={
            "description": "要查看的月份（本月或以前的月份），如 2026-11；默认本月，本月尚无协同记录时为上月"
            "（此时 notice 给出说明）。months 列出可选的月份",
            "example": "2026-11",
        },
    )


@bp.route("/dashboards/exec", methods=["GET"])
@bp.arguments(ExecutiveQuery, location="query")
@bp.doc(
    responses=FIGURES,
    tags=TAGS,
    summary="一级看板：销售健康度指数、周趋势、验证指标、转化漏斗、赢单预测（本月、下月及过去月份误差）（总监、管理员）",
    description="指数、趋势与验证指标读自随记录维护的汇总：今日数据实时，"
    "历史记录的修改约 30 秒内计入，as_of 为已计入的时刻；"
    "赢单预测按设置的间隔（dashboard.refresh_minutes）更新。",
)
def executive(args: dict[str, Any]) -> Response:
    session, actor = db_session(), current_actor()
    if not scope.may_see_executive(actor):
        raise Forbidden("一级看板仅供销售总监、管理员查看")
    # as_of says up to when changes to past days are counted (today is counted live).
    figures = jsonable(executive_snapshot(session, clock.now(), _tz(), args["days"]).figures)
    forecast = forecast_snapshot(session, clock.now(), _tz(), max_age=refresh_interval(session)).figures
    return jsonify({**figures, "forecast": jsonable(forecast)})


@bp.route("/dashboards/team", methods=["GET"])
@bp.arguments(TeamQuery, location="query")
@bp.doc(responses=FIGURES, tags=TAGS, summary="二级看板：团队每位销售本周的作战地图（甘特条与红色风险区块）")
def team(args: dict[str, Any]) -> Response:
    session, actor = db_session(), current_actor()
    if not scope.may_see_team(actor):
        raise Forbidden("团队作战地图仅供销售主管及以上查看")
    manager = scope.team_manager_for(session, actor, args.get("manager"))
    day: date = args.get("week") or clock.now().astimezone(_tz()).date()
    return jsonify(jsonable(team_battle_map(session, manager, day, clock.now(), _tz())))


@bp.route("/dashboards/me", methods=["GET"])
@bp.arguments(RepQuery, location="query")
@bp.doc(responses=FIGURES, tags=TAGS, summary="三级看板：今日作战包与本人本周")
def me(args: dict[str, Any]) -> Response:
    session, actor = db_session(), current_actor()
    rep = scope.rep_for(session, actor, args.get("rep"))
    return jsonify(jsonable(rep_day(session, rep, clock.now(), _tz())))


@bp.route("/dashboards/marketing", methods=["GET"])
@bp.arguments(MarketingQuery, location="query")
@bp.alt_response(400, schema=ErrorOut, description="月份在本月之后，或年份不合理")
@bp.doc(
    responses=FIGURES,
    tags=TAGS,
    summary="市场部：协同价值排行榜（可选月份）与月度前三",
    description="month 为显示的月份；current_month 为本月，current_month_empty 表示本月尚无已赢单的协同记录；"
    "未指定月份而本月为空时显示上月，notice 为页面上的说明文字。不能查看未来的月份（400）。",
)
def marketing(args: dict[str, Any]) -> Response:
    session, actor = db_session(), current_actor()
    if not scope.may_see_marketing(session, actor):
        raise Forbidden("协同价值排行榜仅供市场部、销售总监查看")
    month = parse_month(args["month"]) if args.get("month") else None
    return jsonify(jsonable(leaderboard(session, clock.now(), _tz(), month)))
