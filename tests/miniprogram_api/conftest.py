"""The API served for real: the app on loopback (its WeCom client pointed at its own emulator), a small org,
and `login(user)`, which signs in through `POST /api/v1/auth/login` exactly as the mini-program does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from salesnav.settings import Settings
from tests import factories as f
from tests.bot.conftest import LiveApp, serve

Headers = dict[str, str]


@pytest.fixture
def live_api(settings: Settings, database: str) -> Iterator[LiveApp]:
    if settings.redis_url:
        from redis import Redis

        Redis.from_url(settings.redis_url).flushdb()  # no rate-limit counter left over from another test
    yield from serve(settings)


@pytest.fixture
def client(live_api: LiveApp) -> FlaskClient:
    return live_api.app.test_client()


@pytest.fixture
def org(session: Any) -> f.Org:
    org = f.org(session)
    session.commit()
    return org


@pytest.fixture
def login(client: FlaskClient) -> Callable[[Any], Headers]:
    """Sign in as a user (or a WeCom userid) through the emulator; returns the Authorization header."""

    def _login(user: Any) -> Headers:
        userid = user if isinstance(user, str) else user.wecom_userid
        response = client.post("/api/v1/auth/login", json={"code": f"dev-{userid}"})
        assert response.status_code == 200, response.get_json()
        return {"Authorization": "Bearer " + response.get_json()["token"]}

    return _login
