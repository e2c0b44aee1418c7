"""Mounts the mini-program API on the app: the one place that imports every endpoint module.

Importing an endpoint module attaches its routes to the blueprint (blueprint.py); they are all imported
here, at module level, so the blueprint is complete before `init_app` registers it. flask-smorest fits
the blueprint inside our plain Flask app: the marshmallow schemas that parse a request are the ones the
OpenAPI document at /api/v1/openapi.json is generated from. Its Api would install an app-wide HTTP error
handler; ours (errors.py) is registered on the blueprint instead, so pages and the WeCom callback keep the
app's own error shape.
"""

from pathlib import Path
from typing import Any

import flask
import swagger_ui_bundle
from flask import Flask, current_app, render_template, send_from_directory
from flask_limiter import Limiter
from flask_smorest import Api

from salesnav.miniprogram_api import (  # noqa: F401  (each attaches its routes to the blueprint)
    alerts,
    annotations,
    attachments,
    auth,
    collections,
    contacts,
    customers,
    dashboards,
    diagnosis,
    errors,
    h5_session,
    imports,
    materials,
    media,
    opportunities,
    pool,
    qrcodes,
    stages,
    tags,
    tasks,
    tickets,
    today,
    touchpoints,
    win_probability,
)
from salesnav.miniprogram_api.blueprint import API_PREFIX, DEFAULT_RATE_LIMIT, bp
from salesnav.miniprogram_api.contract import enrich
from salesnav.miniprogram_api.schemas import ErrorOut, Number, Text
from salesnav.settings import Settings


class MiniprogramApi(Api):
    ERROR_SCHEMA = ErrorOut

    def _register_error_handlers(self) -> None:
        """Errors are rendered by the blueprint's handlers (errors.py), not app-wide."""

    def _openapi_json(self) -> flask.Response:
        """The generated document with the contract added (contract.py): glossary, errors, examples, servers."""
        settings: Settings = current_app.config["SALESNAV"]
        document = enrich(self.spec.to_dict(), public_url=settings.public_url)
        return current_app.response_class(
            flask.json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False),
            mimetype="application/json",
        )


# The browsable documentation (Swagger UI) is served from the swagger-ui-bundle package: it works offline.
DOCS_PATH = f"{API_PREFIX}/docs"
DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # Swagger UI styles its own elements at run time.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
docs = flask.Blueprint("api_docs_ui", __name__, url_prefix=DOCS_PATH, template_folder="templates")


def _swagger_ui_dir() -> Path:
    return Path(swagger_ui_bundle.swagger_ui_path)


@docs.route("/")
@docs.route("", endpoint="index_bare")
def docs_index() -> flask.Response:
    response = flask.make_response(render_template("api_docs.html", spec_url=f"{API_PREFIX}/openapi.json"))
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@docs.route("/assets/<path:name>")
def docs_asset(name: str) -> flask.Response:
    if name == "init.js":
        return send_from_directory(Path(__file__).parent / "templates", "api_docs_init.js", max_age=300)
    return send_from_directory(_swagger_ui_dir(), name, max_age=86400)


def _rate_limit() -> str:
    return str(current_app.config.get("MINIPROGRAM_RATE_LIMIT", DEFAULT_RATE_LIMIT))


def init_app(app: Flask) -> None:
    """Mount the API, its OpenAPI document and its browsable documentation on the app (once, from `create_app`)."""
    settings: Settings = app.config["SALESNAV"]
    app.config.setdefault("API_TITLE", "销售导航仪 SalesNav 小程序接口")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", API_PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = MiniprogramApi(app, spec_kwargs=_spec_kwargs())
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.register_field(Text, "string", None)
    api.register_field(Number, "integer", None)
    api.register_blueprint(bp)
    app.register_blueprint(docs)

    limiter = Limiter(
        auth.rate_limit_key,
        storage_uri=settings.redis_url or "memory://",
        key_prefix=app.config.get("MINIPROGRAM_RATE_LIMIT_PREFIX", "salesnav-api"),
        strategy="moving-window",
        # Redis away: count in this process meanwhile (and go back to Redis once it answers) rather than answer
        # every API call, login included, with a 500.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        storage_options={"socket_connect_timeout": 2, "socket_timeout": 3} if settings.redis_url else {},
    )
    limiter.init_app(app)
    limiter.limit(_rate_limit)(bp)
    app.extensions["salesnav_api_limiter"] = limiter


def _spec_kwargs() -> dict[str, Any]:
    return {
        "security": [{"bearerAuth": []}],
        "info": {"description": "企业微信小程序后端：登录、三张表单、附件、二维码。错误统一为 {error, message}。"},
    }
