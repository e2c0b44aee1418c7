"""The one outbound WeCom client, over wechatpy's `WeChatClient`.

- The access token lives in Redis when `REDIS_URL` is set, so web, workers and clock share one
  token (WeCom rate-limits gettoken, and a token per process would invalidate nothing but waste
  calls); otherwise in this process's memory. Its expiry is judged by `clock.now()`.
- On 40014/42001 the token is refreshed (unless another process already did) and the call is
  retried once; wechatpy's own retry is off because it retries without limit.
- 45009/45033 raise `WeComRateLimited`: the caller (the outbox) backs off and sends later.
- wechatpy 1.8.18 has no template_card, update_template_card or jscode2session helpers; those
  are posted as raw JSON through the same client.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import IO, Any

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage
from wechatpy.session.redisstorage import RedisStorage

from salesnav import clock
from salesnav import settings as app_settings
from salesnav.bot.emulator import local
from salesnav.redis_client import redis_client
from salesnav.settings import Settings, WeComSettings, current_settings

TOKEN_ERRORS = frozenset({40014, 42001})
RATE_LIMIT_ERRORS = frozenset({45009, 45033})
TOKEN_REFRESH_MARGIN_S = 300  # renew a little early so a token never expires mid-flight
MESSAGE_TYPES = ("text", "markdown", "textcard", "template_card", "file", "image", "voice")
# WeCom's duplicate check on message/send: the same request JSON sent again within `duplicate_check_interval`
# seconds is not delivered again. A send whose answer was lost (a timeout, a worker killed mid-send) is retried
# by the outbox well within it (5 attempts back off 30 s → 4 min; a lease 2 min), so the member sees it once.
# Each outbox row gets its own interval (`dedupe_id`: 900–1800 s), which makes its request JSON its own: two
# rows that happen to say the same thing (two 帮助 answered alike) are two messages, a row's retries are one.
DUPLICATE_CHECK_SECONDS = 1800
DUPLICATE_CHECK_SPREAD = 900


class WeComError(Exception):
    """WeCom answered with an errcode, or could not be reached (errcode None)."""

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}" if errcode is not None else errmsg)
        self.errcode = errcode
        self.errmsg = errmsg


class WeComRateLimited(WeComError):
    """45009/45033: WeCom's frequency limits. Nothing is wrong with the message; retry later."""


@dataclass(frozen=True)
class SendResult:
    msgid: str
    response_code: str | None  # template cards: the code update_template_card needs
    raw: dict[str, Any]


class ClockedTokenStorage(SessionStorage):
    """Wraps a wechatpy storage and judges expiry by our clock, not by the storage's own TTL.

    With Redis away, the token is kept in this process meanwhile (`fallback`): a login or a send must not fail
    because the shared token cache is down; WeCom hands out the same token within its validity anyway."""

    def __init__(self, inner: SessionStorage, fallback: SessionStorage | None = None) -> None:
        self.inner = inner
        self.fallback = fallback

    def _do(self, action: str, *args: Any) -> Any:
        try:
            return getattr(self.inner, action)(*args)
        except Exception:
            if self.fallback is None:
                raise
            return getattr(self.fallback, action)(*args)

    def get(self, key: str, default: Any = None) -> Any:
        entry = self._do("get", key)
        if not isinstance(entry, dict) or entry.get("expires_at", 0) <= clock.now().timestamp():
            return default
        return entry["value"]

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        lifetime = max((ttl or 7200) - TOKEN_REFRESH_MARGIN_S, 1)
        # The storage TTL (real seconds) only garbage-collects; validity is judged in get().
        self._do("set", key, {"value": value, "expires_at": clock.now().timestamp() + lifetime}, ttl)

    def delete(self, key: str) -> None:
        self._do("delete", key)


_memory_tokens = MemoryStorage()  # one per process, shared by every client built here
_refresh_lock = threading.Lock()


def token_storage(redis_url: str) -> ClockedTokenStorage:
    if not redis_url:
        return ClockedTokenStorage(_memory_tokens)
    return ClockedTokenStorage(RedisStorage(redis_client(redis_url), prefix="salesnav:wecom"), fallback=_memory_tokens)


class _WeChatClient(WeChatClient):
    """wechatpy's client with our API base for every call, gettoken included, and our token expiry."""

    def __init__(self, wecom: WeComSettings, storage: SessionStorage, timeout: float) -> None:
        super().__init__(wecom.corp_id, wecom.secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = wecom.api_base.rstrip("/") + "/cgi-bin/"

    @property
    def access_token_key(self) -> str:
        # A token belongs to the server that issued it (WeCom, or one emulator on one port).
        return f"{self.API_BASE_URL}:{super().access_token_key}"

    def fetch_access_token(self) -> dict[str, Any]:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "gettoken", params={"corpid": self.corp_id, "corpsecret": self.secret}
        )

    @property
    def access_token(self) -> str:
        token = self.session.get(self.access_token_key)
        if token:
            return token
        self.fetch_access_token()
        return self.session.get(self.access_token_key)


class WeComClient:
    """Application messages, media and the few other WeCom calls SalesNav makes."""

    def __init__(self, wecom: WeComSettings, *, redis_url: str = "", timeout: float = 10.0) -> None:
        self.agent_id = wecom.agent_id
        self._wx = _WeChatClient(wecom, token_storage(redis_url), timeout)
        if wecom.emulator:
            local.mount_on(self._wx._http, wecom.api_base)

    @property
    def access_token(self) -> str:
        return self._call(lambda: self._wx.access_token)

    # --- messages -----------------------------------------------------------------------------
    def send(self, userid: str, msg_type: str, body: dict[str, Any], *, dedupe_id: int | None = None) -> SendResult:
        """Send one application message; `body` is the part under the msgtype key. `dedupe_id`: the outbox row,
        whose every attempt WeCom's duplicate check then treats as one message (see DUPLICATE_CHECK_SECONDS)."""
        if msg_type not in MESSAGE_TYPES:
            raise ValueError(f"unknown WeCom message type {msg_type!r}")
        interval = DUPLICATE_CHECK_SECONDS - (dedupe_id % DUPLICATE_CHECK_SPREAD if dedupe_id else 0)
        # wechatpy's message group merges `msg` into the request, so WeCom's duplicate check rides along.
        msg = {
            "msgtype": msg_type,
            msg_type: body,
            "enable_duplicate_check": 1,
            "duplicate_check_interval": interval,
        }
        result = self._call(lambda: self._wx.message.send(self.agent_id, userid, msg=msg))
        if userid in str(result.get("invaliduser") or "").split("|"):
            raise WeComError(81013, f"{userid} is not a member who can receive this app's messages")
        return SendResult(str(result.get("msgid", "")), result.get("response_code"), result)

    def send_text(self, userid: str, content: str) -> SendResult:
        return self.send(userid, "text", {"content": content})

    def send_markdown(self, userid: str, content: str) -> SendResult:
        return self.send(userid, "markdown", {"content": content})

    def send_textcard(self, userid: str, title: str, description: str, url: str, btntxt: str = "详情") -> SendResult:
        return self.send(userid, "textcard", {"title": title, "description": description, "url": url, "btntxt": btntxt})

    def send_template_card(self, userid: str, card: dict[str, Any]) -> SendResult:
        return self.send(userid, "template_card", card)

    def send_file(self, userid: str, media_id: str) -> SendResult:
        return self.send(userid, "file", {"media_id": media_id})

    def send_image(self, userid: str, media_id: str) -> SendResult:
        return self.send(userid, "image", {"media_id": media_id})

    def send_voice(self, userid: str, media_id: str) -> SendResult:
        return self.send(userid, "voice", {"media_id": media_id})

    def update_template_card(
        self,
        userids: list[str],
        response_code: str,
        *,
        card: dict[str, Any] | None = None,
        replace_name: str | None = None,
    ) -> dict[str, Any]:
        """Update a card in place: either the whole card, or just the clicked button's label."""
        if (card is None) == (replace_name is None):
            raise ValueError("give exactly one of card or replace_name")
        data: dict[str, Any] = {"userids": userids, "agentid": self.agent_id, "response_code": response_code}
        if card is not None:
            data["template_card"] = card
        else:
            data["button"] = {"replace_name": replace_name}
        return self.post("message/update_template_card", data)

    # --- media and the rest -------------------------------------------------------------------
    def upload_media(
        self, media_type: str, filename: str, content: bytes | IO[bytes], content_type: str = "application/octet-stream"
    ) -> str:
        """Upload temporary media (image, voice, video, file; kept 3 days by WeCom); returns media_id."""
        data = content if isinstance(content, bytes) else content.read()  # bytes survive a retry
        result = self._call(lambda: self._wx.media.upload(media_type, (filename, data, content_type)))
        return str(result["media_id"])

    def download_media(self, media_id: str) -> bytes:
        # Not wechatpy's media.download: it fetches from WeCom's fixed host, past our API base (the emulator).
        response = self._call(lambda: self._wx.get("media/get", params={"media_id": media_id}))
        if isinstance(response, dict):  # an errcode would have raised; a dict here is unexpected JSON
            raise WeComError(None, "media/get answered JSON instead of the file")
        return response.content

    def code_to_session(self, js_code: str) -> dict[str, Any]:
        """Mini-program login: js_code → corpid, userid, session_key."""
        return self.get("miniprogram/jscode2session", js_code=js_code, grant_type="authorization_code")

    def create_menu(self, menu: dict[str, Any]) -> None:
        self._call(lambda: self._wx.menu.create(self.agent_id, menu))

    # --- the address book ------------------------------------------------------------------------
    def departments(self) -> list[dict[str, Any]]:
        """department/list: every department the app may see."""
        return list(self._call(lambda: self._wx.department.get()) or [])

    def members(self, department_id: int) -> list[dict[str, Any]]:
        """user/list with fetch_child: the members of a department and of those under it, in detail."""
        return list(self._call(lambda: self._wx.user.list(department_id, fetch_child=True)) or [])

    def get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        return self._call(lambda: self._wx.get(endpoint, params=dict(params)))

    def post(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        return self._call(lambda: self._wx.post(endpoint, params={}, data=data))

    # --- the one place errors are translated ----------------------------------------------------
    def _call(self, request: Any) -> Any:
        used = self._wx.session.get(self._wx.access_token_key)
        try:
            return self._translate(request)
        except WeComError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
        # Refresh only if the shared token is still the one that failed: another process may
        # already have fetched a new one, and fetching again would just waste a gettoken call.
        with _refresh_lock:
            if self._wx.session.get(self._wx.access_token_key) in (used, None):
                self._wx.session.delete(self._wx.access_token_key)
        return self._translate(request)

    @staticmethod
    def _translate(request: Any) -> Any:
        try:
            return request()
        except WeChatClientException as exc:
            errcode = int(exc.errcode) if exc.errcode is not None else None
            errmsg = str(exc.errmsg or "WeCom unreachable or HTTP error")
            if errcode in RATE_LIMIT_ERRORS:
                raise WeComRateLimited(errcode, errmsg) from exc
            raise WeComError(errcode, errmsg) from exc
        except requests.RequestException as exc:
            raise WeComError(None, f"WeCom unreachable: {type(exc).__name__}") from exc


_client: WeComClient | None = None
_client_for: tuple[WeComSettings, str] | None = None  # the settings _client was built with
_client_lock = threading.Lock()


def configure(settings: Settings) -> None:
    """Called by create_app: these settings for the process, and a client built from them on next use."""
    global _client
    app_settings.configure(settings)
    with _client_lock:
        _client = None


def get_client() -> WeComClient:
    global _client, _client_for
    settings = current_settings()
    wanted = (settings.wecom, settings.redis_url)
    with _client_lock:
        if _client is None or _client_for != wanted:
            _client, _client_for = WeComClient(settings.wecom, redis_url=settings.redis_url), wanted
        return _client
