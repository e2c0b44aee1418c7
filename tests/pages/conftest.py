"""Dashboard page fixtures: the app on loopback with its WeCom emulator, and browsers signed in through it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import requests

from salesnav.settings import Settings
from tests.bot.conftest import LiveApp, serve


@pytest.fixture
def live_pages(settings: Settings, database: str) -> Iterator[LiveApp]:
    if settings.redis_url:
        from redis import Redis

        Redis.from_url(settings.redis_url).flushdb()
    yield from serve(settings)


def sign_in(base_url: str, userid: str, next_path: str = "/dashboards/") -> tuple[requests.Session, requests.Response]:
    """The WeCom OAuth flow as a browser walks it: our /auth/login → the emulator's authorize page → click the
    member → our /auth/callback (which exchanges the code with the emulator) → the page asked for."""
    browser = requests.Session()
    to_authorize = browser.get(base_url + "/auth/login", params={"next": next_path}, allow_redirects=False)
    assert to_authorize.status_code == 302
    authorize = browser.get(base_url + to_authorize.headers["Location"].split("#")[0])
    assert authorize.status_code == 200
    link = re.search(rf'data-userid="{re.escape(userid)}" href="([^"]+)"', authorize.text)
    assert link, f"{userid} is not offered on the emulator's authorize page"
    landed = browser.get(link.group(1).replace("&amp;", "&"))
    return browser, landed


@pytest.fixture
def signed_in(live_pages: LiveApp) -> Callable[..., tuple[requests.Session, requests.Response]]:
    def _sign_in(userid: str, next_path: str = "/dashboards/") -> tuple[requests.Session, requests.Response]:
        return sign_in(live_pages.base_url, userid, next_path)

    return _sign_in
