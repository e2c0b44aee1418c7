"""Malformed requests get a clear 400, never a 500 (PostgreSQL refuses NUL bytes in text)."""

from __future__ import annotations

import pytest

from salesnav.app import create_app

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"path": "/api/v1/materials?q=%00abc"},
        {"path": "/healthz?x=a%00"},
        {"path": "/api/v1/auth/login", "method": "POST", "json": {"code": "dev-rep01\u0000"}},
    ],
)
def test_a_nul_byte_anywhere_is_refused_with_a_chinese_400(settings, database, request_kwargs):
    client = create_app(settings).test_client()
    path = request_kwargs.pop("path")
    response = client.open(path, **request_kwargs)
    assert response.status_code == 400
    assert response.get_json()["message"] == "请求中包含非法字符"
