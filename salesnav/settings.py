"""Typed settings, read once from the environment at start (pydantic-settings: `Environment`).

A bad value fails the start with a message naming the variable, so a typo in a
deployment never turns into a surprise at 10:00 when the battle pack goes out.
"""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context
from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-insecure-secret"  # noqa: S105 - emulator mode only, refused in production
# Values published in this repository or typical of a placeholder: whoever reads the code could sign with them.
KNOWN_SECRET_KEYS = frozenset({DEV_SECRET_KEY, "changeme", "change-me", "secret", "secret-key", "salesnav"})
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT_CHARS = 10
MIN_WEBHOOK_SECRET_LENGTH = 24


class SettingsError(ValueError):
    """Raised when an environment variable holds a value we cannot use."""


def _check_secret_key(secret_key: str) -> None:
    """Refuse a production SECRET_KEY someone could guess: it signs sessions and bearer tokens, so whoever knows
    it can sign in as anyone. Length alone is not enough ("a" * 40), so repetition is refused too."""
    advice = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
    if secret_key.lower() in KNOWN_SECRET_KEYS or DEV_SECRET_KEY in secret_key:
        raise SettingsError(f"SECRET_KEY is a published development value; {advice}")
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise SettingsError(
            f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters in production, got {len(secret_key)}; "
            f"{advice}"
        )
    raw = secret_key.encode()
    # A random key does not compress; a repeated pattern ("abcabc...") does, whatever its length.
    if len(set(secret_key)) < MIN_SECRET_KEY_DISTINCT_CHARS or len(zlib.compress(raw, 9)) < len(raw) * 0.9:
        raise SettingsError(f"SECRET_KEY is too predictable (repeated or few distinct characters); {advice}")


class Environment(BaseSettings):
    """The environment variables the product reads (README), each typed and checked on its own; an empty
    value means the default. The rules that tie several together are `Settings.from_env`'s."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore")

    DATABASE_URL: str = ""
    REDIS_URL: str = ""
    PORT: int = Field(8000, ge=1, le=65535)
    TZ_BUSINESS: str = "Asia/Shanghai"
    SECRET_KEY: str = ""
    SALESNAV_DATA_DIR: str = ""
    SALESNAV_ASR_MODEL_DIR: str = ""
    WECOM_CORP_ID: str = ""
    WECOM_AGENT_ID: int = Field(1000002, ge=0, le=2**31 - 1)
    WECOM_SECRET: str = ""
    WECOM_TOKEN: str = ""
    WECOM_AES_KEY: str = ""
    WECOM_API_BASE: str = ""
    WECOM_EMULATOR: bool | None = None
    WECOM_SEND_MAX_ATTEMPTS: int = Field(5, ge=1, le=20)
    WECOM_SEND_RETRY_BASE_SECONDS: int = Field(30, ge=1, le=3600)
    SMTP_HOST: str = ""
    SMTP_PORT: int = Field(25, ge=1, le=65535)
    SMTP_USER: str = ""
    SMTP_PASSWORD: str = ""  # taken as given: spaces may be part of it
    SMTP_FROM: str = ""
    SMTP_TLS: bool = False
    BAIDU_APP_ID: str = ""
    BAIDU_API_KEY: str = ""
    BAIDU_SECRET_KEY: str = ""
    FINANCE_API_URL: str = ""
    PUBLIC_URL: str = ""
    WECOM_MINIPROGRAM_APPID: str = ""
    WECOM_MINIPROGRAM_SECRET: str = ""
    SALESNAV_WEBHOOK_SECRET: str = ""  # signs outside systems' events (POST /hooks/events); empty = refused
    WECHAT_API_BASE: str = ""  # where members' phones reach us (links in messages); the local server under the emulator

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # `read` hands over the variables, blank ones left out

    @field_validator("*", mode="before")
    @classmethod
    def _stripped(cls, value: Any, info: ValidationInfo) -> Any:
        return value.strip() if isinstance(value, str) and info.field_name != "SMTP_PASSWORD" else value

    @field_validator("WECOM_EMULATOR", "SMTP_TLS", mode="before")
    @classmethod
    def _switch(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and value.lower() not in _SWITCH_WORDS:
            raise ValueError(f"must be 1/0, true/false, yes/no or on/off, got {value!r}")
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError(f"must be a sqlite:// or postgresql:// URL, got {value!r}")
        return value

    @field_validator("REDIS_URL", "WECOM_API_BASE", "FINANCE_API_URL", "PUBLIC_URL", "WECHAT_API_BASE")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        schemes = _URL_SCHEMES[info.field_name or ""]
        if value and not value.startswith(schemes):
            raise ValueError(f"must start with one of {', '.join(schemes)}, got {value!r}")
        return value

    @field_validator("TZ_BUSINESS")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"is not a known time zone: {value!r}") from exc
        return value

    @field_validator("WECOM_AES_KEY")
    @classmethod
    def _aes_key(cls, value: str) -> str:
        if value and len(value) != 43:
            raise ValueError("must be the 43-character EncodingAESKey from the WeCom console")
        return value

    @field_validator("SALESNAV_WEBHOOK_SECRET")
    @classmethod
    def _webhook_secret(cls, value: str) -> str:
        if value and (len(value) < MIN_WEBHOOK_SECRET_LENGTH or len(set(value)) < 8):
            raise ValueError(
                f"must be at least {MIN_WEBHOOK_SECRET_LENGTH} random characters (it signs outside systems' events)"
            )
        return value

    @field_validator("SALESNAV_ASR_MODEL_DIR")
    @classmethod
    def _directory(cls, value: str) -> str:
        if value and not Path(value).is_dir():
            raise ValueError(f"must be an existing directory, got {value!r}")
        return value

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Environment:
        """The process environment, or `environ` instead of it (tests, tools); a blank value is unset.
        A bad value raises SettingsError naming the variable."""
        source = os.environ if environ is None else environ
        given: dict[str, Any] = {n: v for n, v in source.items() if n in cls.model_fields and v.strip()}
        try:
            return cls(**given)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else "a setting"
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] != "value_error":  # pydantic's own words: "Input should be ..."
                message = f"is invalid: {message[:1].lower()}{message[1:]}, got {error.get('input')!r}"
            raise SettingsError(f"{name} {message}") from exc


_SWITCH_WORDS = frozenset({"1", "true", "yes", "on", "0", "false", "no", "off"})
_URL_SCHEMES = {
    "REDIS_URL": ("redis://", "rediss://", "unix://"),
    "WECOM_API_BASE": ("http://", "https://"),
    "FINANCE_API_URL": ("http://", "https://"),
    "PUBLIC_URL": ("http://", "https://"),
    "WECHAT_API_BASE": ("http://", "https://"),
}


@dataclass(frozen=True)
class WeComSettings:
    corp_id: str = ""
    agent_id: int = 0
    secret: str = ""
    token: str = ""
    aes_key: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"
    emulator: bool = True


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 25
    user: str = ""
    password: str = ""
    sender: str = "salesnav@localhost"
    use_tls: bool = False


@dataclass(frozen=True)
class BaiduSettings:
    app_id: str = ""
    api_key: str = ""
    secret_key: str = ""

    @property
    def configured(self) -> bool:
        return bool(self.app_id and self.api_key and self.secret_key)


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str = ""
    port: int = 8000
    tz_business: str = "Asia/Shanghai"
    secret_key: str = DEV_SECRET_KEY  # refused in production
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")
    wecom: WeComSettings = field(default_factory=WeComSettings)
    baidu: BaiduSettings = field(default_factory=BaiduSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    finance_api_url: str = ""
    # Where members' phones reach this server (PUBLIC_URL): links in chat messages (a material's file, the H5
    # client under /m/) and QR codes start here. Empty: no material links; the embedded default (emulator) is
    # the local server.
    public_url: str = ""
    asr_model_dir: str = ""  # an operator-supplied sherpa-onnx Paraformer model directory
    outbox_max_attempts: int = 5
    outbox_retry_base_seconds: int = 30
    # The WeCom/WeChat mini-program's app id: with it, QR codes are mini-program codes; without, links to /m/.
    miniprogram_appid: str = ""
    miniprogram_secret: str = ""
    # WeChat's API for the mini-program (access token, 小程序码); the emulator's in emulator mode
    wechat_api_base: str = "https://api.weixin.qq.com"
    # The shared secret outside systems sign their events with (POST /hooks/events, docs/journeys.md); empty: the
    # inbound webhook refuses everything.
    webhook_secret: str = ""

    @property
    def business_tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_business)

    @property
    def attachments_dir(self) -> Path:
        """Where every attachment's bytes live, by content hash (API uploads, chat media, materials, demo)."""
        return self.data_dir / "attachments"

    def client_url(self, path: str = "") -> str:
        """An absolute link into the H5 client, e.g. client_url("pages/touchpoint/index?id=3")."""
        return f"{self.public_url or f'http://127.0.0.1:{self.port}'}/m/{path.lstrip('/')}"

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = Environment.read(environ)
        data_dir = Path(env.SALESNAV_DATA_DIR or PROJECT_ROOT / "var")

        database_url = env.DATABASE_URL or f"sqlite:///{data_dir / 'salesnav.sqlite3'}"
        if database_url.startswith(("postgres://", "postgresql://")):
            # psycopg 3 is the driver we ship; make the plain scheme mean it.
            database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]

        secret = env.WECOM_SECRET
        emulator = env.WECOM_EMULATOR
        if emulator is None:
            # On by default only without real credentials; never on by accident.
            emulator = not secret
        elif emulator and secret:
            # The emulator signs callbacks and tokens with published values: never beside a real WeCom app.
            raise SettingsError(
                "WECOM_EMULATOR=1 cannot be combined with a real WECOM_SECRET: "
                "unset WECOM_EMULATOR in production, or WECOM_SECRET to use the local emulator"
            )

        wecom = WeComSettings(
            corp_id=env.WECOM_CORP_ID or ("ww-emulator-corp" if emulator else ""),
            agent_id=env.WECOM_AGENT_ID,
            secret=secret or ("emulator-secret" if emulator else ""),
            token=env.WECOM_TOKEN or ("emulatortoken" if emulator else ""),
            aes_key=env.WECOM_AES_KEY or ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" if emulator else ""),
            # With the emulator on, our WeCom client talks to the emulator this very app serves.
            api_base=env.WECOM_API_BASE
            or (f"http://127.0.0.1:{env.PORT}/_wecom" if emulator else "https://qyapi.weixin.qq.com"),
            emulator=emulator,
        )
        if not emulator and not (wecom.corp_id and wecom.secret and wecom.token and wecom.aes_key):
            raise SettingsError(
                "WECOM_CORP_ID, WECOM_SECRET, WECOM_TOKEN and WECOM_AES_KEY are all required when WECOM_EMULATOR is off"
            )

        smtp = SmtpSettings(
            host=env.SMTP_HOST,
            port=env.SMTP_PORT,
            user=env.SMTP_USER,
            password=env.SMTP_PASSWORD,
            sender=env.SMTP_FROM or "salesnav@localhost",
            use_tls=env.SMTP_TLS,
        )
        baidu = BaiduSettings(app_id=env.BAIDU_APP_ID, api_key=env.BAIDU_API_KEY, secret_key=env.BAIDU_SECRET_KEY)
        secret_key = env.SECRET_KEY
        if not emulator:
            if not secret_key:
                raise SettingsError("SECRET_KEY is required in production (when WECOM_EMULATOR is off)")
            _check_secret_key(secret_key)
        secret_key = secret_key or DEV_SECRET_KEY

        return cls(
            database_url=database_url,
            redis_url=env.REDIS_URL,
            port=env.PORT,
            tz_business=env.TZ_BUSINESS,
            secret_key=secret_key,
            data_dir=data_dir,
            wecom=wecom,
            baidu=baidu,
            smtp=smtp,
            finance_api_url=env.FINANCE_API_URL,
            public_url=(env.PUBLIC_URL or (f"http://127.0.0.1:{env.PORT}" if emulator else "")).rstrip("/"),
            asr_model_dir=env.SALESNAV_ASR_MODEL_DIR,
            outbox_max_attempts=env.WECOM_SEND_MAX_ATTEMPTS,
            outbox_retry_base_seconds=env.WECOM_SEND_RETRY_BASE_SECONDS,
            miniprogram_appid=env.WECOM_MINIPROGRAM_APPID,
            miniprogram_secret=env.WECOM_MINIPROGRAM_SECRET,
            wechat_api_base=env.WECHAT_API_BASE
            or (f"http://127.0.0.1:{env.PORT}/_wecom" if emulator else "https://api.weixin.qq.com"),
            webhook_secret=env.SALESNAV_WEBHOOK_SECRET,
        )


_configured: Settings | None = None
_configured_lock = threading.Lock()


def configure(settings: Settings) -> None:
    """The settings of this process (create_app, `salesnav serve`); until then the environment is read once."""
    global _configured
    with _configured_lock:
        _configured = settings


def current_settings() -> Settings:
    """The settings in use: the Flask app's inside one of its requests (tests run several apps), else this
    process's (`configure`), else the environment's — for workers, the CLI and benchmarks."""
    global _configured
    if has_app_context() and isinstance(current_app.config.get("SALESNAV"), Settings):
        return current_app.config["SALESNAV"]
    with _configured_lock:
        if _configured is None:
            _configured = Settings.from_env()
        return _configured
