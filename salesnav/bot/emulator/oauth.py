"""WeCom web sign-in (网页授权) as the emulator plays it: an authorize page where you pick a member.

WeCom's real page (open.weixin.qq.com/connect/oauth2/authorize) silently returns to `redirect_uri` with
`code` and `state`; here the developer chooses whom to sign in as, and the code is `dev-<userid>`, which
`/cgi-bin/auth/getuserinfo` (directory.py) exchanges for the userid.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from flask import redirect, render_template_string, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from salesnav.bot.emulator.blueprint import bp, settings
from salesnav.bot.emulator.directory import DEV_CODE_PREFIX
from salesnav.models import User
from salesnav.models import session as db

PAGE = """<!doctype html>  <html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>企业微信授权（模拟器）</title>
<link rel="stylesheet" href="{{ url_for('static', filename='emulator.css') }}">
</head><body><h1>企业微信授权（本地模拟器）</h1><p>选择以哪位成员身份登录：</p>
{% for role, users in groups %}<h2>{{ role }}</h2>{% for u in users %}
<a class="member" data-userid="{{ u.wecom_userid }}" href="{{ link(u.wecom_userid) }}">
{{- u.name }}（{{ u.wecom_userid }}）</a>
{% endfor %}{% endfor %}</body></html>"""


@bp.get("/connect/oauth2/authorize")
def oauth2_authorize() -> ResponseReturnValue:
    args = request.args
    redirect_uri, state = args.get("redirect_uri", ""), args.get("state", "")
    if args.get("appid") != settings().wecom.corp_id or args.get("response_type") != "code":
        return "参数错误：appid 或 response_type 不正确", 400
    if urlsplit(redirect_uri).scheme not in ("http", "https"):
        return "参数错误：redirect_uri 不正确", 400

    def link(userid: str) -> str:
        joiner = "&" if "?" in redirect_uri else "?"
        return redirect_uri + joiner + urlencode({"code": DEV_CODE_PREFIX + userid, "state": state})

    if args.get("userid"):  # scripted sign-in without the click, as WeCom's silent snsapi_base does
        return redirect(link(args["userid"]))
    with db.transaction() as session:
        users = list(
            session.scalars(
                select(User).where(User.deleted_at.is_(None), User.active.is_(True)).order_by(User.role, User.id)
            )
        )
        groups: dict[str, list[User]] = {}
        for user in users:
            groups.setdefault(user.role.label, []).append(user)
        return render_template_string(PAGE, groups=list(groups.items()), link=link)
