"""WeCom callback crypto: signatures and the AES envelope, over wechatpy's WeChatCrypto.

wechatpy compares signatures with `!=`; we check them first with `hmac.compare_digest` so the
comparison takes the same time whatever the attacker sent, then let wechatpy decrypt.

Neither WeCom's documentation nor wechatpy checks the age of the signed `timestamp`, so a captured
callback could be replayed for ever; an exact replay is deduplicated by its MsgId, but one WeCom never
sent twice (an event signed anew) would not be. We accept a timestamp within FRESHNESS of our clock,
either way: WeCom's three retries come within seconds, and five minutes absorbs clock drift (the
window Slack and WeChat Pay use for the same purpose).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import struct
from datetime import timedelta

from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from salesnav import clock
from salesnav.bot.parse import MalformedMessage, parse_xml
from salesnav.settings import WeComSettings

FRESHNESS = timedelta(minutes=5)


class CallbackRejected(Exception):
    """A callback we refuse; `status` is 403 (not from WeCom) or 400 (not readable)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def crypto_for(wecom: WeComSettings) -> WeChatCrypto:
    return WeChatCrypto(wecom.token, wecom.aes_key, wecom.corp_id)


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()  # noqa: S324


def verify_url(wecom: WeComSettings, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    """URL verification (GET): the decrypted echostr, which WeCom expects back verbatim."""
    _check_signature(wecom, msg_signature, timestamp, nonce, echostr)
    _check_fresh(timestamp)
    try:
        return crypto_for(wecom).check_signature(msg_signature, timestamp, nonce, echostr)
    except (InvalidSignatureException, InvalidCorpIdException) as exc:
        raise CallbackRejected(403, type(exc).__name__) from exc
    except (ValueError, struct.error, binascii.Error, IndexError) as exc:
        raise CallbackRejected(400, f"undecryptable echostr: {type(exc).__name__}") from exc


def open_envelope(wecom: WeComSettings, body: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
    """Check the signature of a POSTed envelope and return the decrypted message XML."""
    if not (msg_signature and timestamp and nonce):
        raise CallbackRejected(403, "signature parameters missing")
    try:
        envelope = parse_xml(body)
    except MalformedMessage as exc:
        raise CallbackRejected(400, str(exc)) from exc
    encrypted = (envelope.findtext("Encrypt") or "").strip()
    if not encrypted:
        raise CallbackRejected(400, "Encrypt element missing")
    _check_signature(wecom, msg_signature, timestamp, nonce, encrypted)
    _check_fresh(timestamp)
    try:
        # A dict, so wechatpy does not parse the (untrusted) envelope again with xmltodict.
        return crypto_for(wecom).decrypt_message({"Encrypt": encrypted}, msg_signature, timestamp, nonce)
    except (InvalidSignatureException, InvalidCorpIdException) as exc:
        raise CallbackRejected(403, type(exc).__name__) from exc
    except (ValueError, struct.error, binascii.Error, IndexError) as exc:
        raise CallbackRejected(400, f"undecryptable body: {type(exc).__name__}") from exc


def seal(wecom: WeComSettings, xml: str, nonce: str, timestamp: str) -> str:
    """Encrypt and sign a message as WeCom does (the emulator's callback poster uses this)."""
    return crypto_for(wecom).encrypt_message(xml, nonce, timestamp)


def _check_signature(wecom: WeComSettings, given: str, timestamp: str, nonce: str, encrypted: str) -> None:
    if not (given and timestamp and nonce and encrypted):
        raise CallbackRejected(403, "signature parameters missing")
    expected = signature(wecom.token, timestamp, nonce, encrypted)
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise CallbackRejected(403, "bad signature")


def _check_fresh(timestamp: str) -> None:
    """After the signature: only a correctly signed request is worth telling apart as a replay."""
    try:
        signed_at = int(timestamp.strip())
    except ValueError as exc:
        raise CallbackRejected(403, "timestamp is not an integer") from exc
    age = clock.now().timestamp() - signed_at
    if abs(age) > FRESHNESS.total_seconds():
        raise CallbackRejected(403, f"timestamp outside the {FRESHNESS} window ({age:+.0f} s old)")
