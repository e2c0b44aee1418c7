"""The WeCom mini-program's REST API (/api/v1): auth, the three forms, uploads, QR codes, voice, OCR."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the API and its OpenAPI document on the app (called once from `create_app`)."""
    from salesnav.miniprogram_api.blueprint import register

    register(app)
