"""Mounts the mini-program API on the app: the one place that imports every endpoint module.

Importing an endpoint module attaches its routes to the blueprint (blueprint.py); they are all imported
here, at module level, so the blueprint is complete before `init_app` registers it. flask-smorest fits
the blueprint inside our plain Flask app: the marshmallow schemas that parse a request are the ones the
OpenAPI document at /api/v1/openapi.json is generated from. Its Api would install an app-wide HTTP error
handler; ours (errors.py) is registered on the blueprint instead, so pages and the WeCom callback keep the
app's own error shape.
"""

from typing import Any

from flask import Flask, current_app
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
    tasks,
    tickets,
    today,
    touchpoints,
    win_probability,
)
from salesnav.miniprogram_api.blueprint import API_PREFIX, DEFAULT_RATE_LIMIT, bp
from salesnav.miniprogram_api.schemas import ErrorOut, Number, Text
from salesnav.settings import Settings


class MiniprogramApi(Api):
    ERROR_SCHEMA = ErrorOut

    def _register_error_handlers(self) -> None:
        """Errors are rendered by the blueprint's handlers (errors.py), not app-wide."""


def _rate_limit() -> str:
    return str(current_app.config.get("MINIPROGRAM_RATE_LIMIT", DEFAULT_RATE_LIMIT))


def init_app(app: Flask) -> None:
    """Mount the API and its OpenAPI document on the app (called once from `create_app`)."""
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
