"""The callback endpoint: verify, decrypt, store, dedupe, acknowledge — end to end over HTTP."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import requests

from salesnav import clock
from salesnav.bot.emulator import callbacks
from salesnav.models import InboundStatus
from tests import factories as f
from tests.bot.chat import Chat, inbound_rows, outbound_rows

URL = "/wecom/callback"


def _now(shift: timedelta = timedelta(0)) -> str:
    return str(int((clock.now() + shift).timestamp()))


@pytest.fixture
def rep(session):
    org = f.org(session)
    f.customer(session, org.rep, name="北京协和医院")
    session.commit()
    return org.rep


def test_url_verification_echoes_the_decrypted_echostr(live_app):
    response = callbacks.verify_url(live_app.base_url, live_app.settings, "1234567890abcdef")
    assert response.status_code == 200
    assert response.text == "1234567890abcdef"


def test_url_verification_with_a_bad_signature_is_forbidden(live_app):
    signed = callbacks.sign(live_app.settings, "echo")
    params = {**signed.params, "msg_signature": "0" * 40, "echostr": "whatever"}
    assert requests.get(live_app.base_url + URL, params=params, timeout=5).status_code == 403


def test_a_text_message_is_stored_acknowledged_at_once_and_answered(live_app, rep):
    xml = callbacks.text_xml(live_app.settings, "rep01", "你好")
    response = callbacks.post_callback(live_app.base_url, live_app.settings, xml)
    assert response.status_code == 200 and response.text == ""
    [row] = inbound_rows()  # stored before the acknowledgement
    assert row.from_userid == "rep01" and row.msg_type == "text" and "你好" in row.raw_xml
    live_app.drain()
    assert Chat(live_app).last_text().startswith("没看懂")  # never silence
    assert inbound_rows()[0].status is InboundStatus.PROCESSED


def test_the_same_callback_delivered_three_times_gives_one_record_and_one_reply(live_app, rep):
    signed = callbacks.sign(live_app.settings, callbacks.text_xml(live_app.settings, "rep01", "帮助"))
    for _ in range(3):  # WeCom retries with the very same body
        assert callbacks.post_callback(live_app.base_url, live_app.settings, signed).status_code == 200
    live_app.drain()
    assert len(inbound_rows()) == 1
    assert len(outbound_rows()) == 1
    assert len(Chat(live_app).sent()) == 1


def test_a_retry_signed_anew_is_still_the_same_message(live_app, rep):
    xml = callbacks.text_xml(live_app.settings, "rep01", "帮助", msg_id=424242)
    for _ in range(3):
        assert callbacks.post_callback(live_app.base_url, live_app.settings, xml).status_code == 200
    live_app.drain()
    assert len(inbound_rows()) == 1 and len(Chat(live_app).sent()) == 1


@pytest.mark.parametrize("tamper", ["signature", "missing", "token"])
def test_a_bad_or_missing_signature_is_forbidden_and_nothing_is_stored(live_app, rep, tamper):
    xml = callbacks.text_xml(live_app.settings, "rep01", "你好")
    if tamper == "token":  # signed by someone who does not know our token
        other = dataclasses.replace(
            live_app.settings, wecom=dataclasses.replace(live_app.settings.wecom, token="someoneelse")
        )
        signed = callbacks.sign(other, xml)
    else:
        signed = callbacks.sign(live_app.settings, xml)
    params = dict(signed.params)
    if tamper == "signature":
        params["msg_signature"] = "f" * 40
    elif tamper == "missing":
        del params["msg_signature"]
    response = requests.post(live_app.base_url + URL, params=params, data=signed.body.encode(), timeout=5)
    assert response.status_code == 403
    assert inbound_rows() == []


def test_a_message_encrypted_for_another_corp_is_forbidden(live_app, rep):
    other = dataclasses.replace(
        live_app.settings, wecom=dataclasses.replace(live_app.settings.wecom, corp_id="ww-another-corp")
    )
    xml = callbacks.text_xml(live_app.settings, "rep01", "你好")
    assert callbacks.post_callback(live_app.base_url, other, xml).status_code == 403
    assert inbound_rows() == []


def _post_raw(live_app, body: bytes, params: dict[str, str] | None = None) -> requests.Response:
    params = params or {"msg_signature": "a" * 40, "timestamp": "1700000000", "nonce": "n1"}
    return requests.post(live_app.base_url + URL, params=params, data=body, timeout=5)


def test_malformed_xml_is_a_bad_request(live_app, rep):
    assert _post_raw(live_app, b"<xml><Encrypt>abc</Encr").status_code == 400
    assert _post_raw(live_app, b"not xml at all").status_code == 400
    assert _post_raw(live_app, b"<xml><NoEncrypt/></xml>").status_code == 400
    assert inbound_rows() == []


def test_an_undecryptable_body_with_a_valid_signature_is_a_bad_request(live_app, rep):
    from salesnav.bot.crypto import signature

    wecom = live_app.settings.wecom
    garbage = "bm90IGEgY2lwaGVydGV4dA=="  # valid base64, not AES blocks
    now = _now()
    params = {"msg_signature": signature(wecom.token, now, "n1", garbage), "timestamp": now, "nonce": "n1"}
    body = f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>".encode()
    assert _post_raw(live_app, body, params).status_code == 400
    assert inbound_rows() == []


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Encrypt>&xxe;</Encrypt></xml>"""

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>c</ToUserName><FromUserName>rep01</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""


def test_xml_entity_tricks_in_the_envelope_are_rejected(live_app, rep):
    assert _post_raw(live_app, XXE).status_code == 400
    assert inbound_rows() == []


def test_xml_entity_tricks_inside_a_correctly_encrypted_message_are_rejected(live_app, rep):
    response = callbacks.post_callback(live_app.base_url, live_app.settings, LAUGHS)
    assert response.status_code == 400
    assert inbound_rows() == []


def test_an_oversized_body_is_a_bad_request(live_app, rep):
    huge = b"<xml><Encrypt>" + b"A" * (70 * 1024) + b"</Encrypt></xml>"
    assert _post_raw(live_app, huge).status_code == 400
    assert inbound_rows() == []


def test_an_unknown_message_type_is_stored_acknowledged_and_ignored(live_app, rep):
    xml = (
        "<xml><ToUserName>c</ToUserName><FromUserName>rep01</FromUserName><CreateTime>1700000000</CreateTime>"
        "<MsgType>location</MsgType><Location_X>31.2</Location_X><Location_Y>121.4</Location_Y>"
        "<MsgId>77</MsgId></xml>"
    )
    assert callbacks.post_callback(live_app.base_url, live_app.settings, xml).status_code == 200
    live_app.drain()
    [row] = inbound_rows()
    assert row.status is InboundStatus.IGNORED and row.payload["Location_X"] == "31.2"
    assert Chat(live_app).sent() == []


# --- freshness: a correctly signed callback is accepted only within five minutes of our clock -----------


@pytest.mark.parametrize("shift", [timedelta(hours=-5), timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_correctly_signed_callback_with_a_stale_or_future_timestamp_is_forbidden(live_app, rep, shift):
    xml = callbacks.text_xml(live_app.settings, "rep01", "你好")
    signed = callbacks.sign(live_app.settings, xml, timestamp=_now(shift))
    assert callbacks.post_callback(live_app.base_url, live_app.settings, signed).status_code == 403
    assert inbound_rows() == []


@pytest.mark.parametrize("shift", [timedelta(minutes=-4), timedelta(minutes=4)])
def test_a_callback_signed_within_five_minutes_either_way_is_accepted(live_app, rep, shift):
    xml = callbacks.text_xml(live_app.settings, "rep01", "你好")
    signed = callbacks.sign(live_app.settings, xml, timestamp=_now(shift))
    assert callbacks.post_callback(live_app.base_url, live_app.settings, signed).status_code == 200
    assert len(inbound_rows()) == 1


def test_url_verification_with_a_stale_timestamp_is_forbidden(live_app):
    signed = callbacks.sign(live_app.settings, "echo", timestamp=_now(timedelta(hours=-5)))
    encrypted = callbacks.parse_xml(signed.body).findtext("Encrypt")
    params = {**signed.params, "echostr": encrypted}
    assert requests.get(live_app.base_url + URL, params=params, timeout=5).status_code == 403


def test_a_signed_timestamp_that_is_not_a_number_is_forbidden(live_app, rep):
    xml = callbacks.text_xml(live_app.settings, "rep01", "你好")
    signed = callbacks.sign(live_app.settings, xml, timestamp="soon")
    assert callbacks.post_callback(live_app.base_url, live_app.settings, signed).status_code == 403
    assert inbound_rows() == []


# --- content types: the signature decides, whatever the Content-Type header says -------------------------


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_a_signed_callback_is_accepted_whatever_its_content_type(live_app, rep, content_type):
    signed = callbacks.sign(live_app.settings, callbacks.text_xml(live_app.settings, "rep01", "帮助"))
    response = requests.post(
        live_app.base_url + URL,
        params=signed.params,
        data=signed.body.encode(),
        headers={"Content-Type": content_type},
        timeout=5,
    )
    assert response.status_code == 200
    assert len(inbound_rows()) == 1


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_forged_callback_carrying_a_nul_byte_is_forbidden_not_a_bad_request(live_app, rep, content_type):
    """The signature is checked before the content: the answer to a stranger is 403, whatever they sent."""
    signed = callbacks.sign(live_app.settings, callbacks.text_xml(live_app.settings, "rep01", "帮助"))
    params = {**signed.params, "msg_signature": "f" * 40, "nonce": "n\x00"}
    response = requests.post(
        live_app.base_url + URL,
        params=params,
        data=signed.body.encode(),
        headers={"Content-Type": content_type},
        timeout=5,
    )
    assert response.status_code == 403
    assert inbound_rows() == []


# --- absurd nesting: refused before anything walks the tree ---------------------------------------------


def _nested(depth: int) -> str:
    return "<a>" * depth + "x" + "</a>" * depth


def test_a_correctly_encrypted_message_nested_5000_deep_is_a_bad_request(live_app, rep):
    xml = (
        "<xml><ToUserName>c</ToUserName><FromUserName>rep01</FromUserName><CreateTime>1700000000</CreateTime>"
        f"<MsgType>text</MsgType><Content>{_nested(5000)}</Content><MsgId>5</MsgId></xml>"
    )
    response = callbacks.post_callback(live_app.base_url, live_app.settings, xml)
    assert response.status_code == 400
    assert inbound_rows() == []


def test_an_envelope_nested_5000_deep_is_a_bad_request(live_app, rep):
    assert _post_raw(live_app, f"<xml>{_nested(5000)}<Encrypt>abc</Encrypt></xml>".encode()).status_code == 400
    assert inbound_rows() == []


def test_a_template_card_event_keeps_its_nested_selections(live_app, rep):
    """The depth limit leaves room for WeCom's deepest real message."""
    from salesnav.bot.parse import parse_message

    xml = callbacks.template_card_event_xml(
        live_app.settings,
        "rep01",
        task_id="t1",
        key="KEY",
        response_code="rc",
        selected={"emotion": ["positive", "neutral"]},
    )
    assert parse_message(xml).selected_options == {"emotion": ["positive", "neutral"]}
