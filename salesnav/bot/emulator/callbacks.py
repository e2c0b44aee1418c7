"""Post correctly signed and encrypted WeCom callbacks as a given member (tests, sandbox, benchmarks).

The builders write the XML WeCom sends for each kind of message; `post_callback` encrypts it
with the configured token, AES key and corp id (wechatpy's `encrypt_message`) and POSTs it
to `/wecom/callback` the way WeCom does, signature in the query string.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass

import requests

from salesnav import clock
from salesnav.bot import crypto
from salesnav.bot.parse import parse_xml
from salesnav.settings import Settings

_msg_ids = itertools.count(int(time.time() * 1000) % 10**12 * 1000)


def _now() -> int:
    return int(clock.now().timestamp())


def _cdata(value: str) -> str:
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml(corp_id: str, from_user: str, msg_type: str, create_time: int | None, **fields: object) -> str:
    parts = [
        f"<ToUserName>{_cdata(corp_id)}</ToUserName>",
        f"<FromUserName>{_cdata(from_user)}</FromUserName>",
        f"<CreateTime>{create_time or _now()}</CreateTime>",
        f"<MsgType>{_cdata(msg_type)}</MsgType>",
    ]
    for name, value in fields.items():
        if value is None:
            continue
        inner = value if isinstance(value, int) else _cdata(str(value))
        parts.append(f"<{name}>{inner}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


def _msg_id(msg_id: int | None) -> int:
    return msg_id if msg_id is not None else next(_msg_ids)


def text_xml(
    settings: Settings, userid: str, content: str, *, msg_id: int | None = None, create_time: int | None = None
) -> str:
    return _xml(
        settings.wecom.corp_id,
        userid,
        "text",
        create_time,
        Content=content,
        MsgId=_msg_id(msg_id),
        AgentID=settings.wecom.agent_id,
    )


def voice_xml(
    settings: Settings,
    userid: str,
    media_id: str,
    *,
    fmt: str = "amr",
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    return _xml(
        settings.wecom.corp_id,
        userid,
        "voice",
        create_time,
        MediaId=media_id,
        Format=fmt,
        MsgId=_msg_id(msg_id),
        AgentID=settings.wecom.agent_id,
    )


def image_xml(
    settings: Settings,
    userid: str,
    media_id: str,
    *,
    pic_url: str = "",
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    return _xml(
        settings.wecom.corp_id,
        userid,
        "image",
        create_time,
        PicUrl=pic_url,
        MediaId=media_id,
        MsgId=_msg_id(msg_id),
        AgentID=settings.wecom.agent_id,
    )


def file_xml(
    settings: Settings,
    userid: str,
    media_id: str,
    filename: str,
    *,
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    """A file a member sent to the app: the bot fetches it by MediaId and reads its name from FileName."""
    return _xml(
        settings.wecom.corp_id,
        userid,
        "file",
        create_time,
        MediaId=media_id,
        FileName=filename,
        MsgId=_msg_id(msg_id),
        AgentID=settings.wecom.agent_id,
    )


def click_xml(settings: Settings, userid: str, key: str, *, create_time: int | None = None) -> str:
    return _xml(
        settings.wecom.corp_id,
        userid,
        "event",
        create_time,
        Event="click",
        EventKey=key,
        AgentID=settings.wecom.agent_id,
    )


def enter_agent_xml(settings: Settings, userid: str, *, create_time: int | None = None) -> str:
    return _xml(
        settings.wecom.corp_id,
        userid,
        "event",
        create_time,
        Event="enter_agent",
        EventKey="",
        AgentID=settings.wecom.agent_id,
    )


def template_card_event_xml(
    settings: Settings,
    userid: str,
    *,
    task_id: str,
    key: str,
    response_code: str,
    selected: dict[str, list[str]] | None = None,
    card_type: str = "button_interaction",
    create_time: int | None = None,
) -> str:
    """A card button tap; `selected` are the card's drop-down choices (question key → option ids)."""
    items = "".join(
        f"<SelectedItem><QuestionKey>{_cdata(question)}</QuestionKey><OptionIds>"
        + "".join(f"<OptionId>{_cdata(option)}</OptionId>" for option in options)
        + "</OptionIds></SelectedItem>"
        for question, options in (selected or {}).items()
    )
    base = _xml(
        settings.wecom.corp_id,
        userid,
        "event",
        create_time,
        Event="template_card_event",
        EventKey=key,
        TaskId=task_id,
        CardType=card_type,
        ResponseCode=response_code,
        AgentID=settings.wecom.agent_id,
    )
    return base.replace("</xml>", f"<SelectedItems>{items}</SelectedItems></xml>") if items else base


def add_external_contact_xml(
    settings: Settings,
    userid: str,
    external_userid: str,
    *,
    state: str = "",
    welcome_code: str | None = None,
    create_time: int | None = None,
) -> str:
    """Sent by WeCom from `sys` when a member adds a customer's WeChat."""
    return _xml(
        settings.wecom.corp_id,
        "sys",
        "event",
        create_time,
        Event="change_external_contact",
        ChangeType="add_external_contact",
        UserID=userid,
        ExternalUserID=external_userid,
        State=state,
        WelcomeCode=welcome_code or secrets.token_urlsafe(12),
    )


@dataclass(frozen=True)
class SignedCallback:
    """One encrypted callback, ready to post (and to post again, as WeCom's retries do)."""

    body: str
    params: dict[str, str]


def sign(settings: Settings, xml: str, *, timestamp: str | None = None, nonce: str | None = None) -> SignedCallback:
    timestamp = timestamp or str(_now())
    nonce = nonce or secrets.token_hex(8)
    envelope = crypto.seal(settings.wecom, xml, nonce, timestamp)
    signature = parse_xml(envelope).findtext("MsgSignature") or ""
    return SignedCallback(envelope, {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce})


def post_callback(
    base_url: str, settings: Settings, xml_or_signed: str | SignedCallback, *, timeout: float = 10.0
) -> requests.Response:
    """POST a callback as WeCom would. Give the XML, or a `sign()`ed callback to repeat it exactly."""
    signed = xml_or_signed if isinstance(xml_or_signed, SignedCallback) else sign(settings, xml_or_signed)
    return requests.post(
        base_url.rstrip("/") + "/wecom/callback",
        params=signed.params,
        data=signed.body.encode(),
        headers={"Content-Type": "text/xml"},
        timeout=timeout,
    )


def verify_url(
    base_url: str, settings: Settings, echo: str = "echo-check", *, timeout: float = 10.0
) -> requests.Response:
    """WeCom's URL verification GET: an encrypted echostr that must come back decrypted."""
    signed = sign(settings, echo)
    encrypted = parse_xml(signed.body).findtext("Encrypt") or ""
    return requests.get(
        base_url.rstrip("/") + "/wecom/callback",
        params={**signed.params, "echostr": encrypted},
        timeout=timeout,
    )


__all__ = [
    "SignedCallback",
    "add_external_contact_xml",
    "click_xml",
    "enter_agent_xml",
    "file_xml",
    "image_xml",
    "post_callback",
    "sign",
    "template_card_event_xml",
    "text_xml",
    "verify_url",
    "voice_xml",
]
