"""The admin config page (/admin): server-rendered Chinese pages that work on a phone screen.

Sign-in is the pages' own (salesnav/pages/auth.py: WeCom OAuth, a signed session cookie with an
expiry, CSRF tokens); a bootstrap account may also sign in with a password (signin.py). Every view
but the sign-in page needs a signed-in admin (403 for anyone else), and every POST a CSRF token.
The views only translate between forms and the use cases in salesnav/handlers/admin/.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from salesnav.handlers.admin.guard import is_admin, may_view_journey_stats
from salesnav.handlers.errors import DomainError
from salesnav.handlers.rules.texts import local_time
from salesnav.pages import auth
from salesnav.web_session import request_session

bp = Blueprint("admin", __name__, url_prefix="/admin")

PUBLIC_ENDPOINTS = frozenset({"admin.login"})
# Read-only pages a sales manager or director may open too (how the customer journeys work); GET only.
STATS_ENDPOINTS = frozenset({"admin.journeys", "admin.journey_stats"})


@bp.before_request
def _require_admin() -> Response | None:
    g.admin_db = request_session()  # the request's one session, by the name the admin views use
    g.admin = auth.current_user(g.admin_db)
    if request.endpoint in PUBLIC_ENDPOINTS:
        if request.method == "POST":
            auth.check_csrf()
        return None
    if g.admin is None:
        if request.method == "GET":
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        return _page("请先登录", "登录已过期或尚未登录，请重新登录后再操作。", 401)  # type: ignore[return-value]  # the page helper returns the (body, status) Flask accepts
    if not is_admin(g.admin):
        if request.method == "GET" and request.endpoint in STATS_ENDPOINTS and may_view_journey_stats(g.admin):
            return None
        return _page("无权访问", "管理后台仅限管理员使用。如需开通，请联系现有管理员。", 403)  # type: ignore[return-value]  # the page helper returns the (body, status) Flask accepts
    if request.method == "POST":
        auth.check_csrf()
    return None


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    code = exc.code or 500
    if code == 400:
        return _page("请求无效", exc.description or "表单已过期，请刷新页面后重试", 400)
    titles = {401: "请先登录", 403: "无权访问", 404: "页面不存在", 405: "不支持该操作", 413: "上传内容过大"}
    return _page(titles.get(code, "请求失败"), titles.get(code, "请求失败"), code)


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> Any:
    return _page("操作未完成", exc.message, {"not_found": 404, "forbidden": 403}.get(exc.code, 400))


@bp.app_template_filter("admin_time")
def _admin_time(moment: Any) -> str:
    return local_time(moment) if moment else "—"


def _page(title: str, message: str, status: int) -> tuple[str, int]:
    return render_template("admin/message.html", title=title, message=message), status


from salesnav.pages.admin import (  # noqa: E402  (the views register their routes on bp)
    delivery,
    journeys,
    materials,
    org,
    overview,
    rules,
    settings_page,
    signin,
    stages,
    tags,  # noqa: F401  (its routes register on bp)
)

__all__ = ["bp", "delivery", "journeys", "materials", "org", "overview", "rules", "settings_page", "signin", "stages"]
