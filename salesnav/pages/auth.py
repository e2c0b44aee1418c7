"""Sign-in for the H5 pages through WeCom OAuth (网页授权), a signed session cookie, and CSRF tokens.

The flow is WeCom's own: `/auth/login` keeps a random `state` in the session and redirects to
open.weixin.qq.com/connect/oauth2/authorize (scope snsapi_base); WeCom comes back to `/auth/callback`
with `code` and `state`; the state must match (a forged callback cannot sign anyone in), and the code is
exchanged for the userid with `auth/getuserinfo`. In emulator mode the browser goes to the emulator's
authorize page instead (pick a member; it returns `code=dev-<userid>`), and the code is exchanged over
HTTP with the emulator exactly as with WeCom.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax, Secure outside emulator mode) holding the
userid and an expiry read from our clock, so tests age it without sleeping. The user is loaded on every
request: someone who left the company loses access at once. The admin pages reuse `require_user`.
"""

from __future__ import annotations

import dataclasses
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Flask, abort, current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from salesnav import clock
from salesnav.bot.client import WeComClient, WeComError
from salesnav.bot.emulator import PREFIX
from salesnav.models import Role, User
from salesnav.models import session as db
from salesnav.settings import Settings
from salesnav.web_session import request_session

bp = Blueprint("auth", __name__, url_prefix="/auth")

DEFAULT_SESSION_TTL = timedelta(hours=8)  # a working day in the WeCom workbench
WECOM_AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
PRODUCTION_API_BASE = "https://qyapi.weixin.qq.com"
CSRF_FIELD = "csrf_token"

P = ParamSpec("P")
R = TypeVar("R")


@bp.record_once
def _cookie_settings(state: Any) -> None:
    app: Flask = state.app
    settings: Settings = app.config["SALESNAV"]
    # Flask's defaults are already in app.config (SameSite None, Secure off), so these are set, not defaulted.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = not settings.wecom.emulator  # production is HTTPS only
    app.config.setdefault("PAGES_SESSION_TTL", DEFAULT_SESSION_TTL)
    app.config["PERMANENT_SESSION_LIFETIME"] = app.config["PAGES_SESSION_TTL"]
    app.jinja_env.globals["csrf_token"] = csrf_token


def _settings() -> Settings:
    return current_app.config["SALESNAV"]


def _ttl() -> timedelta:
    return current_app.config.get("PAGES_SESSION_TTL", DEFAULT_SESSION_TTL)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would turn our sign-in into a phishing tool."""
    if not target:
        return url_for("pages.dashboards.landing")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("pages.dashboards.landing")
    return target


def authorize_url(redirect_uri: str, state: str) -> str:
    """Where the browser goes to sign in: WeCom's authorize page, or the emulator's in emulator mode."""
    wecom = _settings().wecom
    params = {
        "appid": wecom.corp_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "snsapi_base",
        "state": state,
        "agentid": str(wecom.agent_id),
    }
    base = url_for("wecom_emulator.oauth2_authorize") if wecom.emulator else WECOM_AUTHORIZE
    return f"{base}?{urlencode(params)}#wechat_redirect"


def _wecom_client() -> WeComClient:
    settings = _settings()
    wecom = settings.wecom
    if wecom.emulator and wecom.api_base.rstrip("/") == PRODUCTION_API_BASE:
        # `salesnav serve` in emulator mode leaves the API base at its default; the emulator that issued
        # the code is mounted in this very app, so ask it.
        wecom = dataclasses.replace(wecom, api_base=request.host_url.rstrip("/") + (PREFIX or ""))
    return WeComClient(wecom, redis_url=settings.redis_url)


@bp.get("/login")
def login() -> Response:
    state = secrets.token_urlsafe(24)
    session["oauth_state"] = state
    session["oauth_next"] = _safe_next(request.args.get("next"))
    return redirect(authorize_url(url_for(".callback", _external=True), state))


@bp.get("/callback")
def callback() -> Response | tuple[str, int]:
    expected = session.pop("oauth_state", None)
    given = request.args.get("state", "")
    if not expected or not hmac.compare_digest(str(expected), given):
        return _refused("登录请求已失效或来源不明，请从企业微信工作台重新打开", 400)
    code = request.args.get("code", "")
    if not code:
        return _refused("企业微信未返回授权码，请重新打开", 400)
    try:
        answer = _wecom_client().get("auth/getuserinfo", code=code)
    except WeComError as exc:
        if exc.errcode is None:
            return _refused("企业微信暂时无法连接，请稍后再试", 503)
        return _refused("授权码无效或已过期，请重新打开", 400)
    userid = str(answer.get("userid") or answer.get("UserId") or "")
    with db.transaction() as s:
        user = _active(s, userid) if userid else None
        if user is None:
            return _refused("仅限已开通销售导航仪的企业成员使用，请联系管理员", 403)
    target = session.pop("oauth_next", None)
    session.clear()  # a fresh session at sign-in: nothing planted before it survives
    session.permanent = True
    session["uid"] = userid
    session["exp"] = (clock.now() + _ttl()).timestamp()
    session["csrf"] = secrets.token_urlsafe(24)
    return redirect(_safe_next(target))


@bp.post("/logout")
def logout() -> Response:
    check_csrf()
    session.clear()
    return redirect(url_for("pages.home"))


def _refused(message: str, status: int) -> tuple[str, int]:
    return render_template("dashboards/message.html", title="无法登录", message=message, retry=True), status


def _active(s: Session, userid: str) -> User | None:
    user = s.scalars(select(User).where(User.wecom_userid == userid)).first()
    if user is None or user.deleted_at is not None or not user.active:
        return None
    return user


def signed_in_userid() -> str | None:
    """The userid of a live session, or None (no session, expired, or tampered)."""
    userid, expires = session.get("uid"), session.get("exp")
    if not isinstance(userid, str) or not isinstance(expires, int | float):
        return None
    if clock.now().timestamp() >= expires:
        session.clear()
        return None
    return userid


def current_user(s: Session) -> User | None:
    userid = signed_in_userid()
    return _active(s, userid) if userid else None


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """A state-changing form must carry the session's token: another site cannot post on the user's behalf."""
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(expected, str) or not hmac.compare_digest(expected, given):
        abort(400, description="表单已过期，请刷新页面后重试")


def require_user(
    roles: Iterable[Role] | None = None, *, allow: Callable[[User], bool] | None = None
) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Decorator for pages: the signed-in user in `g.user` and a request-long database session in `g.db`.

    No session → redirect to sign-in (GET) or 401. Allowed: anyone signed in when neither is given, else a
    user whose role is in `roles` or for whom `allow(user)` holds; anyone else → 403.
    """
    wanted = frozenset(roles) if roles is not None else None

    def decorate(view: Callable[P, R]) -> Callable[P, R | Response]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            s = request_session()  # closed, and what was not committed rolled back, when the request ends
            user = current_user(s)
            if user is None:
                if request.method == "GET":
                    return redirect(url_for("pages.auth.login", next=request.full_path.rstrip("?")))
                abort(401)
            allowed = (wanted is None and allow is None) or (
                (wanted is not None and user.role in wanted) or (allow is not None and allow(user))
            )
            if not allowed:
                abort(403)
            g.user, g.db = user, s
            return view(*args, **kwargs)

        return wrapper

    return decorate
