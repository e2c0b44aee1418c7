"""The 雷达 page: a material shared by a rep, as the customer's contact sees it (no sign-in: the link's signed
token is the identity). Opening it, the reading time its beacon reports and the download are recorded
(salesnav/handlers/radar.py); a forged or expired link gets a Chinese page saying so, never the material.

    GET  /r/<token>          the page (a view is opened, or the same one continued on a reload)
    POST /r/beacon           the page's reading-time report: {"view", "seq", "seconds", "final"} (text/plain
                             JSON, as the page sends it); 204, 403 forged, 409 replayed, 422 bad input
    GET  /r/file/<view>      the material's file (or its web address), recorded as downloaded
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, send_file
from werkzeug.wrappers import Response

from salesnav import json_input
from salesnav.handlers import radar
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.models import Attachment
from salesnav.settings import Settings
from salesnav.web_session import request_session

bp = Blueprint("radar", __name__)

MAX_TOKEN = 600
BEACON_MAX_BYTES = 2000
BAD_BEACON = "阅读上报格式不对：需要 view（页面标识）、seq（正整数）和 seconds（非负整数）"


def _refusal(exc: DomainError) -> tuple[str, int]:
    status = 404 if isinstance(exc, NotFound) else 403
    title = "资料不存在" if status == 404 else "链接无效"
    return render_template("radar/message.html", title=title, message=exc.message), status


@bp.get("/r/<string:token>")
def material_page(token: str) -> Any:
    if len(token) > MAX_TOKEN:
        return _refusal(radar.LinkRefused(radar.LINK_REFUSED))
    session = request_session()
    try:
        if _is_preview(request.headers.get("User-Agent", "")):
            material, view_token = radar.peek_link(session, token), ""  # a link preview is nobody reading
        else:
            opened = radar.open_link(session, token)
            material, view_token = opened.material, opened.view_token
    except DomainError as exc:
        session.rollback()
        return _refusal(exc)
    session.commit()
    has_file = bool(view_token) and (
        material.attachment_id is not None or bool(material.url and material.url.startswith(("https://", "http://")))
    )
    response = render_template("radar/material.html", material=material, view_token=view_token, has_file=has_file)
    return response, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


# Robots that fetch a link to show its preview when it is pasted into a chat: showing them the page is fine,
# counting them as the contact opening it is not.
PREVIEW_AGENTS = re.compile(
    r"bot\b|spider|crawler|preview|facebookexternalhit|slackbot|whatsapp|telegrambot|discordbot|skypeuripreview|"
    r"bingpreview|embedly|quora link preview|outbrain|pinterest|vkshare|w3c_validator",
    re.IGNORECASE,
)


def _is_preview(user_agent: str) -> bool:
    return bool(PREVIEW_AGENTS.search(user_agent))


@bp.post("/r/beacon")
def beacon() -> Any:
    raw = request.get_data(cache=False)
    if len(raw) > BEACON_MAX_BYTES:
        return jsonify(error="bad_request", message=BAD_BEACON), 422
    if (problem := json_input.problem(raw)) is not None:
        return jsonify(error="bad_request", message=problem), 422
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        return jsonify(error="bad_request", message=BAD_BEACON), 422
    if not isinstance(body, dict):
        return jsonify(error="bad_request", message=BAD_BEACON), 422
    view, final = body.get("view"), body.get("final", False)
    seq, seconds = _whole(body.get("seq"), minimum=1), _whole(body.get("seconds"), minimum=0)
    if not isinstance(view, str) or len(view) > MAX_TOKEN or not isinstance(final, bool):
        return jsonify(error="bad_request", message=BAD_BEACON), 422
    if seq is None or seconds is None:
        return jsonify(error="bad_request", message=BAD_BEACON), 422
    session = request_session()
    try:
        radar.beacon(session, view, seq=seq, seconds=min(seconds, 86_400), final=final)
    except radar.ReplayRefused as exc:
        return jsonify(error=exc.code, message=exc.message), 409
    except DomainError as exc:
        return jsonify(error=exc.code, message=exc.message), 403
    session.commit()
    return "", 204


def _whole(value: object, *, minimum: int) -> int | None:
    """A JSON whole number from `minimum` to 10^9 (not a boolean), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= 10**9:
        return value
    return None


@bp.get("/r/file/<string:view_token>")
def material_file(view_token: str) -> Any:
    if len(view_token) > MAX_TOKEN:
        return _refusal(radar.LinkRefused(radar.VIEW_REFUSED))
    session = request_session()
    try:
        _view, material = radar.download(session, view_token)
    except DomainError as exc:
        session.rollback()
        return _refusal(exc)
    attachment = session.get(Attachment, material.attachment_id) if material.attachment_id else None
    target: Response | None = None
    if attachment is not None and attachment.deleted_at is None:
        settings: Settings = current_app.config["SALESNAV"]
        path = settings.attachments_dir / attachment.storage_path
        if path.is_file():
            target = send_file(path, mimetype=attachment.content_type, download_name=attachment.filename)
    if target is None and material.url and material.url.startswith(("https://", "http://")):
        target = redirect(material.url)
    if target is None:
        session.rollback()
        return render_template(
            "radar/message.html", title="资料不存在", message="该资料的文件暂时不可用，请联系发给您的销售"
        ), 404
    session.commit()
    return target
