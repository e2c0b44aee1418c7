"""The admin page served for real on loopback (its WeCom client pointed at its own emulator), a small
org with a bootstrap admin account, headless Chromium, and sign-in helpers for the test client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from salesnav.handlers.admin.accounts import create_account
from salesnav.settings import Settings
from tests import factories as f
from tests.bot.conftest import LiveApp, serve

PASSWORD = "correct-horse-battery"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-output" / "admin"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live(settings: Settings, database: str) -> Iterator[LiveApp]:
    if settings.redis_url:
        from redis import Redis

        Redis.from_url(settings.redis_url).flushdb()
    yield from serve(settings)


@pytest.fixture
def org(session: Any) -> f.Org:
    org = f.org(session)
    create_account(session, "boss", PASSWORD)
    session.commit()
    return org


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    # A phone: WeCom opens the admin page in its in-app browser.
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2)
    yield context.new_page()
    context.close()


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in_browser(page: Any, live: LiveApp, target: str = "/admin/") -> None:
    page.goto(live.base_url + target)
    page.fill("#username", "boss")
    page.fill("#password", PASSWORD)
    submit(page, page.get_by_role("button", name="登录", exact=True))


def submit(page: Any, button: Any) -> None:
    """Click a form's button and wait for the page the server answers with (POST, redirect, GET)."""
    with page.expect_navigation():
        button.click()
    page.wait_for_load_state()


def csrf(client: FlaskClient) -> str:
    with client.session_transaction() as sess:
        return str(sess.get("csrf", ""))


def sign_in_with_password(client: FlaskClient, username: str = "boss", password: str = PASSWORD) -> Any:
    client.get("/admin/login")
    return client.post("/admin/login", data={"username": username, "password": password, "csrf_token": csrf(client)})


def sign_in_with_wecom(client: FlaskClient, userid: str) -> None:
    """WeCom OAuth through the emulator, as a member picked on its authorize page."""
    start = client.get("/auth/login?next=/admin/")
    assert start.status_code == 302, start.data
    authorize = urlsplit(start.headers["Location"])
    picked = client.get(f"{authorize.path}?{authorize.query}&userid={userid}")
    assert picked.status_code == 302, picked.data
    back = urlsplit(picked.headers["Location"])
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302, done.data


def text_of(response: Any) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def form_as_shown(response: Any) -> dict[str, str]:
    """The fields of a settings form as the page shows them (text inputs, and checkboxes that are on)."""
    html = response.get_data(as_text=True)
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        if 'type="checkbox"' in tag:
            if re.search(r"\schecked\b", tag):
                fields[name.group(1)] = "on"
            continue
        value = re.search(r'value="([^"]*)"', tag)
        fields[name.group(1)] = value.group(1) if value else ""
    return fields
