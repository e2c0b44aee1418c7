"""The API served for real (tests/miniprogram_api/conftest.py), for the malformed-request tests that sign in."""

from tests.miniprogram_api.conftest import client, live_api, login, org  # noqa: F401 - fixtures
