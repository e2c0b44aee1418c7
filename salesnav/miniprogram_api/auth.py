"""Login through WeCom (miniprogram/jscode2session) and the signed, expiring session token.

The token is an itsdangerous signature over the WeCom userid, timed by our injectable clock so
tests can age it. Every endpoint but login requires `Authorization: Bearer <token>`; the user is
looked up on each request, so someone who left the company loses access at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.bot.client import WeComClient, WeComError
from salesnav.miniprogram_api.blueprint import bp
from salesnav.miniprogram_api.errors import NotActivated, Unauthorized, UpstreamUnavailable
from salesnav.miniprogram_api.schemas import Code, with_labels
from salesnav.miniprogram_api.unit_of_work import db_session
from salesnav.models import Role, User
from salesnav.settings import Settings

SESSION_SALT = "salesnav.miniprogram.session"
DEFAULT_SESSION_TTL = timedelta(days=7)
PUBLIC_ENDPOINTS = frozenset({"miniprogram_api.login", "miniprogram_api.page_session"})
WECOM_INVALID_CODE = 40029


class ClockedSigner(TimestampSigner):
    """Timestamps from `clock.now()`: a FrozenClock moved forward expires tokens without sleeping."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _settings() -> Settings:
    return current_app.config["SALESNAV"]


def session_ttl() -> timedelta:
    return current_app.config.get("MINIPROGRAM_SESSION_TTL", DEFAULT_SESSION_TTL)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_settings().secret_key, salt=SESSION_SALT, signer=ClockedSigner)


def issue_token(wecom_userid: str) -> tuple[str, datetime]:
    return _serializer().dumps({"u": wecom_userid}), clock.now() + session_ttl()


def userid_from_token(token: str) -> str:
    try:
        payload = _serializer().loads(token, max_age=int(session_ttl().total_seconds()))
    except SignatureExpired as exc:
        raise Unauthorized("登录已过期，请重新进入小程序") from exc
    except BadSignature as exc:
        raise Unauthorized("登录凭证无效，请重新进入小程序") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), str):
        raise Unauthorized("登录凭证无效，请重新进入小程序")
    return payload["u"]


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def rate_limit_key() -> str:
    """Per user when the token is valid, per address otherwise (login, bad tokens)."""
    token = _bearer()
    if token:
        try:
            return "user:" + userid_from_token(token)
        except Unauthorized:
            pass
    return "ip:" + (get_remote_address() or "unknown")


def active_user(session: Session, wecom_userid: str) -> User:
    user = session.scalars(select(User).where(User.wecom_userid == wecom_userid)).first()
    if user is None or user.deleted_at is not None or not user.active:
        raise NotActivated("您的账号尚未开通销售导航仪，请联系管理员")
    return user


def current_actor(session: Session | None = None) -> User:
    """The signed-in user, loaded in the request's session."""
    return active_user(session or db_session(), g.wecom_userid)


@bp.before_request
def _require_token() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    token = _bearer()
    if token is None:
        raise Unauthorized("请先登录（缺少 Authorization: Bearer 令牌）")
    g.wecom_userid = userid_from_token(token)
    active_user(db_session(), g.wecom_userid)


class LoginIn(ma.Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=512),
        metadata={"description": "wx.qy.login 取得的临时登录凭证"},
    )


@with_labels
class UserOut(ma.Schema):
    id = fields.Integer(required=True)
    userid = fields.String(required=True, attribute="wecom_userid")
    name = fields.String(required=True)
    role = Code(Role, required=True, metadata={"description": "角色"})
    department_id = fields.Integer(allow_none=True)


class LoginOut(ma.Schema):
    token = fields.String(required=True)
    expires_at = fields.AwareDateTime(required=True)
    user = fields.Nested(UserOut, required=True)


@bp.route("/auth/login", methods=["POST"], endpoint="login")
@bp.arguments(LoginIn)
@bp.response(200, LoginOut)
@bp.doc(security=[], tags=["登录"], summary="用企业微信小程序 code 换取会话令牌")
def login(body: dict[str, Any]) -> dict[str, Any]:
    settings = _settings()
    try:
        answer = WeComClient(settings.wecom, redis_url=settings.redis_url).code_to_session(body["code"])
    except WeComError as exc:
        if exc.errcode is None or exc.errcode not in (WECOM_INVALID_CODE, 40029, 40001, 40013):
            raise UpstreamUnavailable("企业微信暂时无法连接，请稍后再试") from exc
        raise Unauthorized("登录凭证无效或已过期，请重新进入小程序") from exc
    userid = str(answer.get("userid") or "")
    if not userid:
        raise NotActivated("仅限企业成员使用，请用企业微信打开")
    user = active_user(db_session(), userid)
    token, expires_at = issue_token(user.wecom_userid)
    return {"token": token, "expires_at": expires_at, "user": user}


@bp.route("/me", methods=["GET"])
@bp.response(200, UserOut)
@bp.doc(tags=["登录"], summary="当前登录用户")
def me() -> User:
    return current_actor(db_session())
