"""小程序码 from WeChat's code API (`wxa/getwxacodeunlimit`), for QR codes once a mini-program is configured.

The mini-program's access token (client_credential) is kept until shortly before it expires, per process and
per app id; a token WeChat calls invalid is dropped and fetched once more.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from salesnav.settings import Settings

TOKEN_ERRORS = {40001, 40014, 42001}
_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_lock = threading.Lock()


class CodeUnavailable(Exception):
    """WeChat would not make the code (unreachable, refused, or not an image)."""


def _token(settings: Settings, *, fresh: bool = False) -> str:
    key = (settings.wechat_api_base, settings.miniprogram_appid)
    with _lock:
        known = _tokens.get(key)
        if known and not fresh and known[1] > time.monotonic():
            return known[0]
    try:
        answer = requests.get(
            settings.wechat_api_base.rstrip("/") + "/cgi-bin/token",
            params={
                "grant_type": "client_credential",
                "appid": settings.miniprogram_appid,
                "secret": settings.miniprogram_secret,
            },
            timeout=10,
        ).json()
    except (requests.RequestException, ValueError) as exc:
        raise CodeUnavailable(f"token: {type(exc).__name__}") from exc
    if not answer.get("access_token"):
        raise CodeUnavailable(f"token: errcode {answer.get('errcode')}")
    with _lock:
        _tokens[key] = (answer["access_token"], time.monotonic() + int(answer.get("expires_in", 7200)) - 300)
    return str(answer["access_token"])


def unlimited_code(settings: Settings, *, scene: str, page: str, width: int = 430) -> bytes:
    """The PNG of a mini-program code opening `page` with `scene`."""
    body: dict[str, Any] = {"scene": scene, "page": page, "width": width, "check_path": False}
    for attempt in (0, 1):
        try:
            response = requests.post(
                settings.wechat_api_base.rstrip("/") + "/wxa/getwxacodeunlimit",
                params={"access_token": _token(settings, fresh=attempt == 1)},
                json=body,
                timeout=15,
            )
        except requests.RequestException as exc:
            raise CodeUnavailable(f"code: {type(exc).__name__}") from exc
        if response.headers.get("Content-Type", "").startswith("image/"):
            return response.content
        try:
            errcode = int(response.json().get("errcode"))
        except (ValueError, TypeError, AttributeError):
            errcode = None
        if errcode not in TOKEN_ERRORS:
            raise CodeUnavailable(f"code: errcode {errcode}")
    raise CodeUnavailable("code: token refused twice")
