"""Typed settings, read once from the environment at start.

A bad value fails the start with a message naming the variable, so a typo in a
deployment never turns into a surprise at 10:00 when the battle pack goes out.
"""

from __future__ import annotations

import os
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-insecure-secret"  # noqa: S105 - emulator mode only, refused in production
# Values published in this repository or typical of a placeholder: whoever reads the code could sign with them.
KNOWN_SECRET_KEYS = frozenset({DEV_SECRET_KEY, "changeme", "change-me", "secret", "secret-key", "salesnav"})
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT_CHARS = 10


class SettingsError(ValueError):
    """Raised when an environment variable holds a value we cannot use."""


def _int(env: dict[str, str], name: str, default: int, *, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _bool(env: dict[str, str], name: str, default: bool | None) -> bool | None:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be 1/0, true/false, yes/no or on/off, got {raw!r}")


def _url(env: dict[str, str], name: str, schemes: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip()
    if raw and not raw.startswith(schemes):
        raise SettingsError(f"{name} must start with one of {', '.join(schemes)}, got {raw!r}")
    return raw


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


def _directory(env: dict[str, str], name: str) -> str:
    raw = env.get(name, "").strip()
    if raw and not Path(raw).is_dir():
        raise SettingsError(f"{name} must be an existing directory, got {raw!r}")
    return raw


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
    asr_model_dir: str = ""  # an operator-supplied sherpa-onnx Paraformer model directory
    outbox_max_attempts: int = 5
    outbox_retry_base_seconds: int = 30
    # Where people's phones reach this app (QR codes and chat links to the H5 client under /m/).
    public_url: str = ""
    # The WeCom/WeChat mini-program's app id: with it, QR codes are mini-program codes; without, links to /m/.
    miniprogram_appid: str = ""
    miniprogram_secret: str = ""
    # WeChat's API for the mini-program (access token, 小程序码); the emulator's in emulator mode
    wechat_api_base: str = "https://api.weixin.qq.com"

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
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(env.get("SALESNAV_DATA_DIR", "").strip() or PROJECT_ROOT / "var")

        database_url = env.get("DATABASE_URL", "").strip() or f"sqlite:///{data_dir / 'salesnav.sqlite3'}"
        if not database_url.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise SettingsError(f"DATABASE_URL must be a sqlite:// or postgresql:// URL, got {database_url!r}")
        if database_url.startswith(("postgres://", "postgresql://")):
            # psycopg 3 is the driver we ship; make the plain scheme mean it.
            database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]

        tz_business = env.get("TZ_BUSINESS", "").strip() or "Asia/Shanghai"
        try:
            ZoneInfo(tz_business)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"TZ_BUSINESS is not a known time zone: {tz_business!r}") from exc

        secret = env.get("WECOM_SECRET", "").strip()
        emulator = _bool(env, "WECOM_EMULATOR", None)
        if emulator is None:
            # On by default only without real credentials; never on by accident.
            emulator = not secret
        elif emulator and secret:
            # The emulator signs callbacks and tokens with published values: never beside a real WeCom app.
            raise SettingsError(
                "WECOM_EMULATOR=1 cannot be combined with a real WECOM_SECRET: "
                "unset WECOM_EMULATOR in production, or WECOM_SECRET to use the local emulator"
            )
        aes_key = env.get("WECOM_AES_KEY", "").strip()
        if aes_key and len(aes_key) != 43:
            raise SettingsError("WECOM_AES_KEY must be the 43-character EncodingAESKey from the WeCom console")

        port = _int(env, "PORT", 8000, lo=1, hi=65535)
        wecom = WeComSettings(
            corp_id=env.get("WECOM_CORP_ID", "").strip() or ("ww-emulator-corp" if emulator else ""),
            agent_id=_int(env, "WECOM_AGENT_ID", 1000002, lo=0, hi=2**31 - 1),
            secret=secret or ("emulator-secret" if emulator else ""),
            token=env.get("WECOM_TOKEN", "").strip() or ("emulatortoken" if emulator else ""),
            aes_key=aes_key or ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" if emulator else ""),
            # With the emulator on, our WeCom client talks to the emulator this very app serves.
            api_base=_url(env, "WECOM_API_BASE", ("http://", "https://"))
            or (f"http://127.0.0.1:{port}/_wecom" if emulator else "https://qyapi.weixin.qq.com"),
            emulator=emulator,
        )
        if not emulator and not (wecom.corp_id and wecom.secret and wecom.token and wecom.aes_key):
            raise SettingsError(
                "WECOM_CORP_ID, WECOM_SECRET, WECOM_TOKEN and WECOM_AES_KEY are all required when WECOM_EMULATOR is off"
            )

        smtp = SmtpSettings(
            host=env.get("SMTP_HOST", "").strip(),
            port=_int(env, "SMTP_PORT", 25, lo=1, hi=65535),
            user=env.get("SMTP_USER", "").strip(),
            password=env.get("SMTP_PASSWORD", ""),
            sender=env.get("SMTP_FROM", "").strip() or "salesnav@localhost",
            use_tls=bool(_bool(env, "SMTP_TLS", False)),
        )
        baidu = BaiduSettings(
            app_id=env.get("BAIDU_APP_ID", "").strip(),
            api_key=env.get("BAIDU_API_KEY", "").strip(),
            secret_key=env.get("BAIDU_SECRET_KEY", "").strip(),
        )
        redis_url = _url(env, "REDIS_URL", ("redis://", "rediss://", "unix://"))
        secret_key = env.get("SECRET_KEY", "").strip()
        if not emulator:
            if not secret_key:
                raise SettingsError("SECRET_KEY is required in production (when WECOM_EMULATOR is off)")
            _check_secret_key(secret_key)
        secret_key = secret_key or DEV_SECRET_KEY

        return cls(
            database_url=database_url,
            redis_url=redis_url,
            port=port,
            tz_business=tz_business,
            secret_key=secret_key,
            data_dir=data_dir,
            wecom=wecom,
            baidu=baidu,
            smtp=smtp,
            finance_api_url=_url(env, "FINANCE_API_URL", ("http://", "https://")),
            asr_model_dir=_directory(env, "SALESNAV_ASR_MODEL_DIR"),
            outbox_max_attempts=_int(env, "WECOM_SEND_MAX_ATTEMPTS", 5, lo=1, hi=20),
            outbox_retry_base_seconds=_int(env, "WECOM_SEND_RETRY_BASE_SECONDS", 30, lo=1, hi=3600),
            public_url=(_url(env, "SALESNAV_PUBLIC_URL", ("http://", "https://")) or f"http://127.0.0.1:{port}").rstrip(
                "/"
            ),
            miniprogram_appid=env.get("WECOM_MINIPROGRAM_APPID", "").strip(),
            miniprogram_secret=env.get("WECOM_MINIPROGRAM_SECRET", "").strip(),
            wechat_api_base=_url(env, "WECHAT_API_BASE", ("http://", "https://"))
            or (f"http://127.0.0.1:{port}/_wecom" if emulator else "https://api.weixin.qq.com"),
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
    from flask import current_app, has_app_context

    if has_app_context() and isinstance(current_app.config.get("SALESNAV"), Settings):
        return current_app.config["SALESNAV"]
    with _configured_lock:
        if _configured is None:
            _configured = Settings.from_env()
        return _configured
