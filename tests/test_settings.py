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


def test_emulator_is_off_when_a_real_secret_is_set_unless_asked_for():
    real = {
        "WECOM_SECRET": "s",
        "WECOM_CORP_ID": "ww1",
        "WECOM_TOKEN": "t",
        "WECOM_AES_KEY": "a" * 43,
        "SECRET_KEY": "k",
    }
    assert not Settings.from_env(real).wecom.emulator
    assert Settings.from_env({**real, "WECOM_EMULATOR": "1"}).wecom.emulator


def test_production_without_complete_wecom_credentials_fails_at_start():
    with pytest.raises(SettingsError, match="WECOM_TOKEN"):
        Settings.from_env({"WECOM_SECRET": "s", "SECRET_KEY": "k"})


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
