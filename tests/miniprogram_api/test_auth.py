"""Signing in: a WeCom login code becomes a signed, expiring token; every other endpoint demands it."""

from __future__ import annotations

from datetime import timedelta

from salesnav.miniprogram_api.auth import issue_token


def test_login_code_from_wecom_becomes_a_session_token_for_that_member(client, org):
    response = client.post("/api/v1/auth/login", json={"code": "dev-rep01"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["userid"] == "rep01" and body["user"]["role_label"] == "销售"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.get_json()["name"] == "李销售"


def test_a_code_wecom_does_not_recognise_is_refused_in_chinese(client, org):
    response = client.post("/api/v1/auth/login", json={"code": "not-a-real-code"})
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized", "message": "登录凭证无效或已过期，请重新进入小程序"}


def test_login_without_a_code_is_a_validation_error_in_chinese(client, org):
    response = client.post("/api/v1/auth/login", json={})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation" and body["fields"] == {"code": ["必填"]}


def test_every_endpoint_but_login_requires_a_token(client, org):
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized" and "登录" in response.get_json()["message"]


def test_a_forged_token_is_refused(client, org, login):
    token = login(org.rep)["Authorization"].removeprefix("Bearer ")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and response.get_json()["message"] == "登录凭证无效，请重新进入小程序"


def test_a_token_signed_with_another_key_is_refused(client, org, live_api):
    import dataclasses

    other = dataclasses.replace(live_api.settings, secret_key="someone-else")
    with live_api.app.app_context():
        live_api.app.config["SALESNAV"] = other
        token, _ = issue_token("rep01")
        live_api.app.config["SALESNAV"] = live_api.settings
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_expires_after_seven_days(client, org, login, frozen_clock):
    headers = login(org.rep)
    frozen_clock.advance(timedelta(days=7) - timedelta(seconds=5))
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    frozen_clock.advance(timedelta(seconds=10))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401 and response.get_json()["message"] == "登录已过期，请重新进入小程序"


def test_a_member_not_opened_in_salesnav_is_told_so(client, org, live_api):
    with live_api.app.app_context():
        token, _ = issue_token("stranger")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.get_json()["error"] == "not_activated" and "未开通" in response.get_json()["message"]


def test_a_user_who_left_loses_access_with_a_still_valid_token(client, org, login, session):
    headers = login(org.other_rep)
    org.other_rep.active = False
    session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 403


def test_requests_beyond_the_per_user_rate_limit_are_refused_in_chinese(client, org, login, live_api):
    live_api.app.config["MINIPROGRAM_RATE_LIMIT"] = "5/minute"
    live_api.app.extensions["salesnav_api_limiter"].reset()
    rep, other = login(org.rep), login(org.other_rep)
    statuses = [client.get("/api/v1/me", headers=rep).status_code for _ in range(6)]
    assert statuses.count(429) >= 1 and statuses[0] == 200
    refused = client.get("/api/v1/me", headers=rep)
    assert refused.status_code == 429
    assert refused.get_json() == {"error": "rate_limited", "message": "请求过于频繁，请稍后再试"}
    # The limit is per user: a colleague is not slowed down by it.
    assert client.get("/api/v1/me", headers=other).status_code == 200
