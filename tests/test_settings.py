"""Settings: typed, read once, a bad value fails the start naming the variable."""

from __future__ import annotations

import pytest

from salesnav.settings import Settings, SettingsError

pytestmark = pytest.mark.smoke


def test_defaults_give_the_embedded_product():
    s = Settings.from_env({})
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("var/salesnav.sqlite3")
    assert (s.redis_url, s.port, s.tz_business) == ("", 8000, "Asia/Shanghai")
    assert s.wecom.emulator and s.wecom.token and len(s.wecom.aes_key) == 43


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"TZ_BUSINESS": "Mars/Olympus"}, "TZ_BUSINESS"),
        ({"WECOM_EMULATOR": "maybe"}, "WECOM_EMULATOR"),
        ({"WECOM_AES_KEY": "short"}, "WECOM_AES_KEY"),
        ({"WECOM_AGENT_ID": "-1"}, "WECOM_AGENT_ID"),
        ({"SMTP_PORT": "x"}, "SMTP_PORT"),
        ({"FINANCE_API_URL": "ftp://finance"}, "FINANCE_API_URL"),
    ],
)
def test_a_bad_value_names_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env)


def test_postgres_url_uses_psycopg3():
    s = Settings.from_env({"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"})
    assert s.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"


STRONG_KEY = "q3Vh8ZrX1mW9pL2sK7dN4bT6yF0cJ5gA-uE_hR8vQ2o"
PRODUCTION = {
    "WECOM_SECRET": "s",
    "WECOM_CORP_ID": "ww1",
    "WECOM_TOKEN": "t",
    "WECOM_AES_KEY": "a" * 43,
    "SECRET_KEY": STRONG_KEY,
}


def test_emulator_is_off_when_a_real_secret_is_set():
    assert not Settings.from_env(PRODUCTION).wecom.emulator
    assert Settings.from_env(PRODUCTION).secret_key == STRONG_KEY


def test_the_emulator_beside_a_real_wecom_secret_is_refused_naming_the_variable():
    with pytest.raises(SettingsError, match="WECOM_EMULATOR"):
        Settings.from_env({**PRODUCTION, "WECOM_EMULATOR": "1"})
    without_key = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    with pytest.raises(SettingsError, match="WECOM_EMULATOR"):  # it used to fall back to the dev key
        Settings.from_env({**without_key, "WECOM_EMULATOR": "1"})


@pytest.mark.parametrize(
    "weak",
    [
        "dev-only-insecure-secret",  # the published dev value
        "k",  # one character
        "changeme",
        "x" * 64,  # long but one character repeated
        "abcdefghij" * 4,  # a repeated pattern
        "0123456789abcdef0123456789abcdef",  # few distinct characters, repeated
        "prefix-dev-only-insecure-secret-suffix-1234",
    ],
)
def test_production_refuses_a_known_or_weak_secret_key_at_start(weak):
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env({**PRODUCTION, "SECRET_KEY": weak})


def test_a_random_secret_key_is_accepted_in_production():
    import secrets

    for _ in range(20):
        assert Settings.from_env({**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(32)}).secret_key
        assert Settings.from_env({**PRODUCTION, "SECRET_KEY": secrets.token_hex(16)}).secret_key


def test_the_emulator_keeps_the_dev_key_for_a_newcomer():
    assert Settings.from_env({}).secret_key == "dev-only-insecure-secret"


def test_production_without_complete_wecom_credentials_fails_at_start():
    with pytest.raises(SettingsError, match="WECOM_TOKEN"):
        Settings.from_env({"WECOM_SECRET": "s", "SECRET_KEY": STRONG_KEY})


def test_production_without_a_secret_key_fails_at_start():
    without_key = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        Settings.from_env(without_key)


def test_a_bearer_token_forged_with_the_dev_key_is_rejected_in_production(settings, database, session):
    """Someone who read the repository signs a director's token with the dev key: production does not use it."""
    import dataclasses

    from itsdangerous import URLSafeTimedSerializer

    from salesnav.app import create_app
    from salesnav.miniprogram_api.auth import SESSION_SALT, ClockedSigner
    from tests import factories as f

    org = f.org(session)
    session.commit()
    env = {**PRODUCTION, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    production = Settings.from_env(env)
    app = create_app(dataclasses.replace(production, data_dir=settings.data_dir))
    forged = URLSafeTimedSerializer("dev-only-insecure-secret", salt=SESSION_SALT, signer=ClockedSigner).dumps(
        {"u": org.director.wecom_userid}
    )
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.get_json()["message"] == "登录凭证无效，请重新进入小程序"


def test_with_the_emulator_on_the_wecom_client_talks_to_the_emulator_in_this_app():
    assert Settings.from_env({"PORT": "8123"}).wecom.api_base == "http://127.0.0.1:8123/_wecom"
    assert (
        Settings.from_env({"WECOM_API_BASE": "https://wecom-proxy.example.test/wx"}).wecom.api_base
        == "https://wecom-proxy.example.test/wx"
    )


def test_the_offline_speech_model_directory_must_exist(tmp_path):
    assert Settings.from_env({"SALESNAV_ASR_MODEL_DIR": str(tmp_path)}).asr_model_dir == str(tmp_path)
    with pytest.raises(SettingsError, match="SALESNAV_ASR_MODEL_DIR"):
        Settings.from_env({"SALESNAV_ASR_MODEL_DIR": str(tmp_path / "missing")})
