"""WeCom's application-message endpoints: gettoken, message/send, update_template_card, media, menu.

Shapes and errcodes follow WeCom's documentation; what WeCom would reject, the emulator rejects,
so a bug in our payloads shows up in tests rather than in production.
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from flask import Response, request

from salesnav import clock
from salesnav.bot.emulator.blueprint import bp, check_call, json_body, ok, settings, wecom_error
from salesnav.bot.emulator.directory import active_userids
from salesnav.bot.emulator.state import STATE

TEXT_LIMIT_BYTES = 2048
MEDIA_TYPES = {"image", "voice", "video", "file"}
MEDIA_MAX_BYTES = {"image": 10 << 20, "voice": 2 << 20, "video": 10 << 20, "file": 20 << 20}
CARD_TYPES = {"text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction"}
INTERACTIVE_CARDS = CARD_TYPES - {"text_notice", "news_notice"}


@bp.get("/cgi-bin/gettoken")
def gettoken() -> Response:
    wecom = settings().wecom
    # Whatever corp id and secret are configured are the right ones, so a test can set its own.
    if not hmac.compare_digest(request.args.get("corpid", ""), wecom.corp_id):
        return wecom_error(40013)
    if not hmac.compare_digest(request.args.get("corpsecret", ""), wecom.secret):
        return wecom_error(40001)
    token, expires_in = STATE.issue_token()
    return ok(access_token=token, expires_in=expires_in)


@bp.post("/cgi-bin/message/send")
def message_send() -> Response:
    body = json_body()
    if body is None:
        return wecom_error(40058)
    with STATE.lock:
        STATE.counts["sends"] += 1
    errcode = check_call(is_send=True) or _validate_message(body)
    record: dict[str, Any] = {
        "msgtype": body.get("msgtype"),
        "touser": str(body.get("touser", "")),
        "agentid": body.get("agentid"),
        "payload": body.get(str(body.get("msgtype"))),
        "body": body,
        "received_at": clock.now().isoformat(),
        "errcode": errcode,
        "delivered_to": [],
        "dropped_for": [],
    }
    if errcode:
        _record(record)
        return wecom_error(errcode)

    duplicate = _duplicate_of(body)
    if duplicate is not None:  # WeCom's duplicate check: answered as sent, delivered to no one again
        record.update(duplicate_of=duplicate["seq"], msgid=duplicate.get("msgid"))
        _record(record)
        again = {"response_code": duplicate["response_code"]} if duplicate.get("response_code") else {}
        return _answer(
            ok(invaliduser="", invalidparty="", invalidtag="", unlicenseduser="", msgid=duplicate.get("msgid"), **again)
        )

    wanted = _recipients(str(body.get("touser", "")))
    valid = active_userids(wanted)
    invalid = [u for u in wanted if u not in valid]
    if not valid and not body.get("toparty") and not body.get("totag"):
        record["errcode"] = 81013
        _record(record)
        return wecom_error(81013, invaliduser="|".join(invalid))

    for userid in valid:
        (record["delivered_to"] if STATE.deliver_to(userid) else record["dropped_for"]).append(userid)
    record["msgid"] = secrets.token_urlsafe(24)
    extra: dict[str, Any] = {}
    if body["msgtype"] == "template_card":
        extra["response_code"] = record["response_code"] = STATE.new_response_code()
    _record(record)
    # Silent drops are what WeCom does past 30/min or 1,000/h to one member: the call still succeeds.
    invalid_users = "|".join(invalid)
    return _answer(
        ok(invaliduser=invalid_users, invalidparty="", invalidtag="", unlicenseduser="", msgid=record["msgid"], **extra)
    )


def _answer(response: Response) -> Response:
    """The answer to a send WeCom carried out, unless a test made it get lost on the way back (a timeout)."""
    if STATE.take_lost_answer():
        return Response("upstream timed out", status=504, mimetype="text/plain")
    return response


def _fingerprint(body: dict[str, Any]) -> str:
    """WeCom: "同样内容(请求json)的消息" — the same request JSON, whatever its key order."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def _duplicate_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """The message this one repeats within `duplicate_check_interval`, when the sender asked WeCom to check."""
    if not body.get("enable_duplicate_check"):
        return None
    try:
        interval = min(max(int(body.get("duplicate_check_interval") or 1800), 0), 4 * 3600)
    except (TypeError, ValueError):
        interval = 1800
    since = clock.now() - timedelta(seconds=interval)
    with STATE.lock:
        earlier = STATE.by_fingerprint.get(_fingerprint(body))
    if earlier is not None and datetime.fromisoformat(earlier["received_at"]) >= since:
        return earlier
    return None


@bp.post("/cgi-bin/message/update_template_card")
def update_template_card() -> Response:
    body = json_body()
    if body is None:
        return wecom_error(40058)
    errcode = check_call(is_send=True)
    if errcode:
        return wecom_error(errcode)
    if body.get("agentid") != settings().wecom.agent_id:
        return wecom_error(40056)
    if not body.get("button") and not isinstance(body.get("template_card"), dict):
        return wecom_error(40058)
    if not STATE.use_response_code(str(body.get("response_code", ""))):
        return wecom_error(40058, "invalid response_code")
    userids = [str(u) for u in body.get("userids") or []]
    valid = active_userids(userids) if userids else []
    with STATE.lock:
        STATE.card_updates.append(
            {
                "seq": len(STATE.card_updates) + 1,
                "response_code": body["response_code"],
                "userids": userids,
                "button": body.get("button"),
                "template_card": body.get("template_card"),
                "received_at": clock.now().isoformat(),
            }
        )
    return ok(invaliduser=[u for u in userids if u not in valid])


@bp.post("/cgi-bin/media/upload")
def media_upload() -> Response:
    errcode = check_call()
    if errcode:
        return wecom_error(errcode)
    media_type = request.args.get("type", "")
    if media_type not in MEDIA_TYPES:
        return wecom_error(40004)
    upload = request.files.get("media")
    if upload is None:
        return wecom_error(44001)
    data = upload.read()
    if not data:
        return wecom_error(44001)
    if not 5 <= len(data) <= MEDIA_MAX_BYTES[media_type]:
        return wecom_error(40006)
    item = STATE.add_media(media_type, upload.filename or "media", upload.mimetype or "application/octet-stream", data)
    return ok(type=media_type, media_id=item.media_id, created_at=str(int(item.created_at.timestamp())))


@bp.get("/cgi-bin/media/get")
def media_get() -> Response:
    errcode = check_call()
    if errcode:
        return wecom_error(errcode)
    item = STATE.get_media(request.args.get("media_id", ""))
    if item is None:
        return wecom_error(40007)
    response = Response(item.data, mimetype=item.content_type)
    # HTTP headers are latin-1: a 中文 file name travels percent-encoded (RFC 6266), as WeCom does.
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(item.filename)}"
    return response


@bp.post("/cgi-bin/menu/create")
def menu_create() -> Response:
    errcode = check_call()
    if errcode:
        return wecom_error(errcode)
    if request.args.get("agentid", type=int) != settings().wecom.agent_id:
        return wecom_error(40056)
    body = json_body()
    if body is None or not _menu_is_valid(body):
        return wecom_error(40058)
    with STATE.lock:
        STATE.menus[settings().wecom.agent_id] = body
    return ok()


@bp.get("/cgi-bin/menu/get")
def menu_get() -> Response:
    errcode = check_call()
    if errcode:
        return wecom_error(errcode)
    with STATE.lock:
        menu = STATE.menus.get(request.args.get("agentid", type=int) or 0)
    return ok(**menu) if menu else wecom_error(46003)


def _record(record: dict[str, Any]) -> None:
    with STATE.lock:
        record["seq"] = len(STATE.messages) + 1
        STATE.messages.append(record)
        if not record["errcode"] and "duplicate_of" not in record and isinstance(record.get("body"), dict):
            STATE.by_fingerprint[_fingerprint(record["body"])] = record  # the duplicate check's index


def _recipients(touser: str) -> list[str]:
    if touser.strip() == "@all":
        return active_userids(None)
    return [u for u in touser.split("|") if u]


def _validate_message(body: dict[str, Any]) -> int:
    if body.get("agentid") != settings().wecom.agent_id:
        return 40056
    msgtype = body.get("msgtype")
    payload = body.get(str(msgtype))
    if not isinstance(payload, dict):
        return 40008
    if msgtype in ("text", "markdown"):
        content = payload.get("content")
        if not isinstance(content, str) or not content.strip():
            return 44004
        return 45002 if len(content.encode()) > TEXT_LIMIT_BYTES else 0
    if msgtype == "textcard":
        return 0 if all(payload.get(k) for k in ("title", "description", "url")) else 40058
    if msgtype in ("image", "voice", "file"):
        media = STATE.get_media(str(payload.get("media_id", "")))
        return 0 if media is not None else 40007
    if msgtype == "template_card":
        return _validate_card(payload)
    return 40008


def _validate_card(card: dict[str, Any]) -> int:
    card_type = card.get("card_type")
    if card_type not in CARD_TYPES:
        return 40058
    title = (card.get("main_title") or {}).get("title") or card.get("sub_title_text")
    if not title:
        return 40058
    if card_type in INTERACTIVE_CARDS and not card.get("task_id"):
        return 40058
    if card_type == "button_interaction" and not card.get("button_list"):
        return 40058
    return 0


def _menu_is_valid(body: dict[str, Any]) -> bool:
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return False
    for button in buttons:
        if not isinstance(button, dict) or not button.get("name"):
            return False
        subs = button.get("sub_button") or []
        if len(subs) > 5 or any(not isinstance(s, dict) or not s.get("name") for s in subs):
            return False
    return True
