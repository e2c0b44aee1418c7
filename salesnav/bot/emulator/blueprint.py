"""The emulator's blueprint and the helpers every WeCom endpoint shares (errors, tokens, settings)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request

from salesnav.bot.emulator.state import STATE
from salesnav.settings import Settings

bp = Blueprint("wecom_emulator", __name__, url_prefix="/_wecom")

# The errmsg texts WeCom answers with (abridged); clients key on errcode only.
ERRMSG = {
    0: "ok",
    -1: "system busy",
    40001: "invalid credential",
    40004: "invalid media type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40056: "invalid agentid",
    40058: "invalid parameter",
    41001: "access_token missing",
    42001: "access_token expired, more info at https://open.work.weixin.qq.com/devtool/query?e=42001",
    44001: "empty media data",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    46003: "menu no exist",
    60011: "no privilege to access/modify contact/party/agent",
    60020: "not allow to access from your ip",
    81013: "user & party & tag all invalid",
    84061: "not exist external_contact relation",
    301002: "access_token not belong to agent",
}


def settings() -> Settings:
    return current_app.config["SALESNAV"]


@bp.before_request
def _only_in_emulator_mode() -> None:
    # Defence in depth: even if someone registers the blueprint by hand, it answers nothing
    # unless the app runs in emulator mode (no real credentials).
    if not settings().wecom.emulator:
        abort(404)


def wecom_error(errcode: int, errmsg: str | None = None, **extra: Any) -> Response:
    """WeCom answers errors with HTTP 200 and a JSON errcode, never an HTTP status."""
    return jsonify(errcode=errcode, errmsg=errmsg or ERRMSG.get(errcode, "error"), **extra)


def ok(**payload: Any) -> Response:
    return jsonify(errcode=0, errmsg="ok", **payload)


def check_call(*, is_send: bool = False) -> int:
    """Validate the access_token, count the call against the company's cap, then apply injected faults.
    0 means go ahead."""
    errcode = STATE.token_error(request.args.get("access_token"))
    if errcode:
        return errcode
    if not STATE.take_company_call():
        return 45009
    return STATE.injected_failure(is_send=is_send)


def json_body() -> dict[str, Any] | None:
    body = request.get_json(silent=True, force=True)
    return body if isinstance(body, dict) else None
