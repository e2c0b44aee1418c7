"""The H5 client's sign-in: a signed-in page session (WeCom OAuth, or the emulator's member pick in development)
becomes an API bearer token.

The H5 build is served by this app under /m/, where WeCom's browser has already signed in through the pages'
OAuth flow; the client trades that session cookie for the same token a mini-program gets from /auth/login. The
exchange is a POST with a custom header: a page on another site can neither send the Lax session cookie with a
POST nor set that header without a CORS preflight we never answer.
"""

from __future__ import annotations

from typing import Any

from flask import request

from salesnav.miniprogram_api.auth import LoginOut, active_user, issue_token
from salesnav.miniprogram_api.blueprint import bp
from salesnav.miniprogram_api.errors import Unauthorized
from salesnav.miniprogram_api.schemas import ErrorOut
from salesnav.miniprogram_api.unit_of_work import db_session
from salesnav.pages.auth import signed_in_userid

CLIENT_HEADER = "X-SalesNav-Client"


@bp.route("/auth/page-session", methods=["POST"], endpoint="page_session")
@bp.response(200, LoginOut)
@bp.alt_response(401, schema=ErrorOut, description="没有已登录的网页会话（先经企业微信网页授权登录）")
@bp.alt_response(403, schema=ErrorOut, description="账号未开通或已停用")
@bp.doc(
    security=[],
    tags=["登录"],
    summary="H5 客户端：用已登录的网页会话（企业微信网页授权）换取接口令牌",
    description=f"须带请求头 `{CLIENT_HEADER}: h5` 与网页会话 Cookie；返回与小程序登录相同的令牌。",
    parameters=[
        {
            "in": "header",
            "name": CLIENT_HEADER,
            "required": True,
            "schema": {"type": "string", "enum": ["h5"]},
            "description": "固定为 h5：跨站页面无法在不经预检的情况下带上此头",
        }
    ],
)
def page_session() -> dict[str, Any]:
    if request.headers.get(CLIENT_HEADER) != "h5":
        raise Unauthorized(f"缺少请求头 {CLIENT_HEADER}: h5")
    userid = signed_in_userid()
    if userid is None:
        raise Unauthorized("请先在企业微信中打开并登录")
    user = active_user(db_session(), userid)
    token, expires_at = issue_token(user.wecom_userid)
    return {"token": token, "expires_at": expires_at, "user": user}
