"""The mini-program side of WeChat that QR codes need: an access token for the mini-program
(`cgi-bin/token`, client_credential) and its unlimited code (`wxa/getwxacodeunlimit`).

A real 小程序码 is a round "sun code" only WeChat reads; the emulator draws a real PNG QR code of the page and
scene it was asked for, so tests can scan it. What WeChat refuses, the emulator refuses: a wrong app id or
secret, a missing or bad token, a scene over 32 characters or outside WeChat's character set, a page path
starting with "/".
"""

from __future__ import annotations

import hmac
import io
import re

import qrcode
from flask import Response, request

from salesnav.bot.emulator.blueprint import bp, json_body, ok, settings, wecom_error
from salesnav.bot.emulator.state import STATE

SCENE_CHARS = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")
INVALID_APPID = 40013
INVALID_SCENE = 40097  # "invalid args"


@bp.get("/cgi-bin/token")
def wechat_token() -> Response:
    expected = settings().miniprogram_appid
    if request.args.get("grant_type") != "client_credential":
        return wecom_error(40002, "invalid grant_type")
    if not expected or not hmac.compare_digest(request.args.get("appid", ""), expected):
        return wecom_error(INVALID_APPID, "invalid appid")
    if not hmac.compare_digest(request.args.get("secret", ""), settings().miniprogram_secret):
        return wecom_error(40001, "invalid appsecret")
    token, expires_in = STATE.issue_token()
    return ok(access_token=token, expires_in=expires_in)


@bp.post("/wxa/getwxacodeunlimit")
def getwxacodeunlimit() -> Response:
    errcode = STATE.token_error(request.args.get("access_token"))
    if errcode:
        return wecom_error(errcode)
    body = json_body() or {}
    scene, page = str(body.get("scene") or ""), str(body.get("page") or "pages/index/index")
    if not SCENE_CHARS.match(scene) or page.startswith("/"):
        return wecom_error(INVALID_SCENE, "invalid scene or page")
    width = int(body.get("width") or 430)
    image = qrcode.make(f"{page}?scene={scene}", box_size=max(2, width // 45), border=2)
    png = io.BytesIO()
    image.save(png, format="PNG")  # type: ignore[call-arg]  # a PIL image (Pillow is installed): save takes format
    return Response(png.getvalue(), mimetype="image/png")
