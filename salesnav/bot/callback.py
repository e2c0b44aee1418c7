"""`GET/POST /wecom/callback`: check signature, decrypt, parse, store, enqueue, acknowledge.

Nothing else happens here: WeCom waits 5 s and retries three times, so the answer must not
depend on anything slower than one INSERT. Routing and replies run in the `process_inbound` job.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, current_app, request

from salesnav.bot import crypto, inbound
from salesnav.bot.parse import MalformedMessage, parse_message
from salesnav.settings import Settings, WeComSettings

MAX_BODY_BYTES = 64 * 1024  # WeCom callbacks are a few KB; anything bigger is not from WeCom

bp = Blueprint("wecom_callback", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _wecom() -> WeComSettings:
    settings: Settings = current_app.config["SALESNAV"]
    return settings.wecom


@bp.get("/wecom/callback")
def verify_url() -> Response:
    args = request.args
    try:
        echo = crypto.verify_url(
            _wecom(),
            args.get("msg_signature", ""),
            args.get("timestamp", ""),
            args.get("nonce", ""),
            args.get("echostr", ""),
        )
    except crypto.CallbackRejected as exc:
        current_app.logger.warning("WeCom URL verification refused: %s", exc.reason)
        abort(exc.status)
    return Response(echo, mimetype="text/plain")


@bp.post("/wecom/callback")
def receive() -> Response:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        abort(400)
    body = request.stream.read(MAX_BODY_BYTES + 1)  # chunked bodies have no Content-Length
    if len(body) > MAX_BODY_BYTES:
        abort(400)
    args = request.args
    try:
        xml = crypto.open_envelope(
            _wecom(),
            body,
            args.get("msg_signature", ""),
            args.get("timestamp", ""),
            args.get("nonce", ""),
        )
        message = parse_message(xml)
    except crypto.CallbackRejected as exc:
        current_app.logger.warning("WeCom callback refused (%s): %s", exc.status, exc.reason)
        abort(exc.status)
    except MalformedMessage as exc:
        current_app.logger.warning("WeCom callback unreadable after decryption: %s", exc)
        abort(400)
    inbound.store(message, xml)  # a retry of a stored message is acknowledged the same way
    return Response("", mimetype="text/plain")
