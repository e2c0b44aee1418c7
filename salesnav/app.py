"""The web application factory. Nothing connects to a database or Redis at import time."""

from __future__ import annotations

import logging
from itertools import chain
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from salesnav import json_input, media_pool, web_session
from salesnav.bot import callback as wecom_callback
from salesnav.bot import emulator as wecom_emulator
from salesnav.bot.emulator import local
from salesnav.handlers.errors import DomainError
from salesnav.health import healthz
from salesnav.http_messages import HTTP_MESSAGES_ZH, STATUS_FOR_DOMAIN_ERROR
from salesnav.miniprogram_api import mount as miniprogram_api
from salesnav.pages import bp as pages_bp
from salesnav.pages import h5_client, sandbox, security_headers
from salesnav.pages.admin import bp as admin_bp
from salesnav.settings import Settings
from salesnav.wiring import configure_process

log = logging.getLogger(__name__)

# The WeCom callback checks its own body, signature first: an input check here would read (and so consume) a body
# sent with a form or JSON content type before anyone knew it came from WeCom. Its XML parser refuses NUL.
INPUT_CHECK_SKIPPED_BLUEPRINTS = frozenset({"wecom_callback"})


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, template_folder="pages/templates", static_folder="pages/static")
    app.config["SALESNAV"] = settings
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = 25 * 1024 * 1024
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Flask's JSON provider is the default one, which has ensure_ascii

    configure_process(settings, "web")  # as every process of the Procfile (salesnav/wiring.py)

    _register_errors(app)
    web_session.init_app(app)  # one database session per request, for every blueprint

    app.add_url_rule("/healthz", "healthz", healthz)
    security_headers.init_app(app)  # a Content Security Policy on every page, the emulator's and sandbox's too

    app.register_blueprint(pages_bp)
    app.register_blueprint(admin_bp)
    h5_client.init_app(app)  # the rep's client (miniprogram/, H5 build) under /m/
    miniprogram_api.init_app(app)
    wecom_callback.init_app(app)

    if settings.wecom.emulator:  # never mounted next to real WeCom credentials
        wecom_emulator.mount(app)
        sandbox.init_app(app)  # the sandbox chat talks to the emulator, so it lives and dies with it
    return app


def web_app() -> Flask:
    """gunicorn's app factory (Procfile `web`): the app, with the emulator answered in process when it is on."""
    settings = Settings.from_env()
    app = create_app(settings)
    media_pool.start(settings)  # the client's voice notes and invoice photos, side by side in processes
    if settings.wecom.emulator:
        # Our own client's calls to our own emulator are answered without a socket: under gunicorn they would
        # otherwise wait for a free thread of the very server they come from (8 logins at once: deadlock).
        local.serve_in_process(app)
    return app


def _refuse_malformed_input() -> Any:
    """Input no handler could store or walk is malformed, not a server error: NUL (PostgreSQL text cannot hold
    it), and in JSON a lone UTF-16 surrogate (not encodable as UTF-8), a number of thousands of digits and
    nesting past any real form's depth (salesnav/json_input.py)."""
    if request.blueprint in INPUT_CHECK_SKIPPED_BLUEPRINTS:
        return None
    values = [request.path, *chain.from_iterable(request.args.listvalues())]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += chain.from_iterable(request.form.listvalues())
        values += [upload.filename or "" for _, upload in request.files.items(multi=True)]
    raw = request.get_data(cache=True) if request.is_json else b""
    if any("\x00" in v for v in values) or b"\x00" in raw or b"\\u0000" in raw:
        return jsonify(error="bad_request", message="请求中包含非法字符"), 400
    if raw.strip():
        problem = json_input.problem(raw)
        if problem is not None:
            return jsonify(error="bad_request", message=problem), 400
    return None


def _register_errors(app: Flask) -> None:
    app.before_request(_refuse_malformed_input)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Any:
        body = {"error": exc.code, "message": exc.message, **exc.details}
        return jsonify(body), STATUS_FOR_DOMAIN_ERROR.get(exc.code, 400)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        code = exc.code or 500
        return jsonify(error=exc.name, message=HTTP_MESSAGES_ZH.get(code, "请求失败")), code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unhandled error")
        return jsonify(error="internal", message="服务器开小差了，请稍后再试；问题已记录"), 500
