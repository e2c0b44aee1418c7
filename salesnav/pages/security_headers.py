"""Security headers on every answer: a Content Security Policy on every HTML page, and no content sniffing.

The policy is the second line against stored XSS (the first: every typed text is escaped where it is
rendered — Jinja's autoescape, and dashboards.js's esc() for chart tooltips). Scripts come only from our own
static files: no inline script or event-handler attribute runs, so markup slipped into a page stays inert.
Styles likewise come from our files; only style *attributes* are allowed (`style-src-attr`), because chart
heights are set per page and ECharts styles the elements it draws — an attribute cannot run script.
Everything loads from this origin (the dashboards work offline, with the vendored ECharts).
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    app.after_request(_add_headers)


def _add_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response
