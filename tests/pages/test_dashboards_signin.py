"""Signing in to the H5 dashboards through WeCom OAuth (the emulator plays WeCom), and the session cookie."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import requests

from salesnav.app import create_app
from salesnav.models import User
from salesnav.settings import Settings
from tests import factories as f
from tests.bot.conftest import LiveApp
from tests.pages.conftest import sign_in


def _org(session) -> f.Org:  # type: ignore[no-untyped-def]
    org = f.org(session)
    session.commit()
    return org


def test_each_role_signs_in_through_wecom_and_lands_on_its_own_level(live_pages: LiveApp, session) -> None:  # type: ignore[no-untyped-def]
    _org(session)
    expectations = {
        "dir01": "/dashboards/exec",
        "mgr01": "/dashboards/team",
        "rep01": "/dashboards/me",
        "mkt01": "/dashboards/marketing",
    }
    for userid, path in expectations.items():
        _, page = sign_in(live_pages.base_url, userid)
        assert page.status_code == 200, (userid, page.text[:300])
        assert urlsplit(page.url).path == path
    # The code was exchanged with the emulator over HTTP, as with WeCom.
    assert "getuserinfo" not in page.text


def test_in_production_the_browser_is_sent_to_wecom_authorize_with_state(settings: Settings, database: str) -> None:
    wecom = dataclasses.replace(
        settings.wecom, emulator=False, corp_id="wwcorp123", agent_id=1000005, secret="s", token="t", aes_key="a" * 43
    )
    app = create_app(dataclasses.replace(settings, wecom=wecom, secret_key="k" * 32))
    response = app.test_client().get("/auth/login?next=/dashboards/team")
    location = response.headers["Location"]
    assert location.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?")
    assert location.endswith("#wechat_redirect")
    query = parse_qs(urlsplit(location.split("#")[0]).query)
    assert query["appid"] == ["wwcorp123"] and query["scope"] == ["snsapi_base"] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://localhost/auth/callback"]
    assert len(query["state"][0]) >= 24
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_a_callback_whose_state_does_not_match_signs_nobody_in(live_pages: LiveApp, session) -> None:  # type: ignore[no-untyped-def]
    _org(session)
    browser = requests.Session()
    browser.get(live_pages.base_url + "/auth/login", allow_redirects=False)  # a real state is now in the session
    forged = browser.get(live_pages.base_url + "/auth/callback", params={"code": "dev-dir01", "state": "forged"})
    assert forged.status_code == 400
    assert "登录请求已失效" in forged.text
    after = browser.get(live_pages.base_url + "/dashboards/exec", allow_redirects=False)
    assert after.status_code == 302 and after.headers["Location"].startswith("/auth/login")


def test_an_invalid_code_or_a_departed_member_is_refused_in_chinese(live_pages: LiveApp, session) -> None:  # type: ignore[no-untyped-def]
    org = _org(session)
    browser = requests.Session()
    to_authorize = browser.get(live_pages.base_url + "/auth/login", allow_redirects=False)
    state = parse_qs(urlsplit(to_authorize.headers["Location"].split("#")[0]).query)["state"][0]
    bad = browser.get(live_pages.base_url + "/auth/callback", params={"code": "not-a-code", "state": state})
    assert bad.status_code == 400 and "授权码无效" in bad.text

    session.get(User, org.rep.id).active = False
    session.commit()
    _, refused = sign_in(live_pages.base_url, "rep02")  # still active: signs in
    assert refused.status_code == 200
    browser = requests.Session()
    to_authorize = browser.get(live_pages.base_url + "/auth/login", allow_redirects=False)
    state = parse_qs(urlsplit(to_authorize.headers["Location"].split("#")[0]).query)["state"][0]
    gone = browser.get(live_pages.base_url + "/auth/callback", params={"code": "dev-rep01", "state": state})
    assert gone.status_code in (400, 403) and ("授权码无效" in gone.text or "仅限" in gone.text)


def test_the_session_cookie_is_httponly_lax_and_expires(live_pages: LiveApp, session, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    _org(session)
    browser, page = sign_in(live_pages.base_url, "dir01")
    assert page.status_code == 200
    cookie = next(c for c in browser.cookies if c.name == "session")
    assert cookie.has_nonstandard_attr("HttpOnly") and cookie.get_nonstandard_attr("SameSite") == "Lax"
    assert cookie.expires is not None

    frozen_clock.advance(timedelta(hours=7, minutes=59))
    assert browser.get(live_pages.base_url + "/dashboards/exec", allow_redirects=False).status_code == 200
    frozen_clock.advance(timedelta(minutes=2))
    expired = browser.get(live_pages.base_url + "/dashboards/exec", allow_redirects=False)
    assert expired.status_code == 302 and expired.headers["Location"].startswith("/auth/login")


def test_next_only_goes_to_a_path_on_this_site(live_pages: LiveApp, session) -> None:  # type: ignore[no-untyped-def]
    _org(session)
    _, page = sign_in(live_pages.base_url, "dir01", next_path="https://evil.example/steal")
    assert urlsplit(page.url).netloc == urlsplit(live_pages.base_url).netloc
    assert urlsplit(page.url).path == "/dashboards/exec"


def test_a_page_opened_without_a_session_goes_to_sign_in_and_back(live_pages: LiveApp, session) -> None:  # type: ignore[no-untyped-def]
    _org(session)
    browser = requests.Session()
    first = browser.get(live_pages.base_url + "/dashboards/team?week=2026-03-02", allow_redirects=False)
    assert first.status_code == 302
    assert first.headers["Location"] == "/auth/login?next=/dashboards/team?week%3D2026-03-02"
