"""The inbound webhook (issue 20): outside systems' events become customer events — signed, in a 5-minute window,
idempotent by the sender's event id, the customer by our id or a contact's mobile or WeCom external id; every
refusal a clear Chinese answer (400/401/413/422/503), never a 500. Through the real app on loopback."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers.webhook_events import sign
from salesnav.models import Contact, CustomerEvent, User
from salesnav.models import session as db
from salesnav.settings import Settings, SettingsError
from tests import factories as f
from tests.bot.conftest import serve

SECRET = "k3y-for-the-erp-Qx81-zZ90-pLm4"


@pytest.fixture
def hooked(settings, database):
    yield from serve(dataclasses.replace(settings, webhook_secret=SECRET))


@pytest.fixture
def hospital(session, frozen_clock):
    org = f.org(session)
    customer = f.customer(session, org.rep, name="北京协和医院")
    contact = Contact(
        customer_id=customer.id, name="李明", title="设备科主任", phone="+8613800138000", external_userid="wmLI"
    )
    session.add(contact)
    session.commit()
    return customer, contact


def _event(**changes):
    body = {
        "sender": "erp",
        "event_id": "order-1001",
        "kind": "order.paid",
        "occurred_at": "2026-03-02T09:00:00+08:00",
        "customer": {"mobile": "138 0013 8000"},
        "payload": {"order_no": "SO-1001", "amount_fen": 5_800_000},
    }
    body.update(changes)
    return body


def _post(app, body, *, secret=SECRET, at=None, signature=None, raw=None, path="/hooks/events"):
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    timestamp = str(int((at or clock.now()).timestamp()))
    headers = {
        "Content-Type": "application/json",
        "X-SalesNav-Timestamp": timestamp,
        "X-SalesNav-Signature": signature or sign(secret, timestamp, data),
    }
    return requests.post(f"{app.base_url}{path}", data=data, headers=headers)


def _rows():
    with db.transaction() as s:
        return [(e.kind, e.source, e.customer_id, e.contact_id, e.dedupe_key) for e in s.scalars(select(CustomerEvent))]


def test_a_signed_event_is_recorded_for_the_contact_found_by_mobile(hooked, hospital):
    customer, contact = hospital
    answer = _post(hooked, _event())
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "recorded" and answer.json()["kind"] == "webhook.order.paid"
    assert _rows() == [("webhook.order.paid", "webhook", customer.id, contact.id, "webhook:erp:order-1001")]
    with db.transaction() as s:
        event = s.scalars(select(CustomerEvent)).one()
        assert event.payload["order_no"] == "SO-1001" and event.payload["sender"] == "erp"
        assert event.occurred_at.isoformat() == "2026-03-02T01:00:00+00:00"


def test_the_customer_may_be_named_by_our_id_or_the_wecom_external_contact(hooked, hospital):
    customer, contact = hospital
    assert _post(hooked, _event(event_id="a", customer={"id": customer.id})).status_code == 201
    assert _post(hooked, _event(event_id="b", customer={"external_userid": "wmLI"})).status_code == 201
    assert [(r[2], r[3]) for r in _rows()] == [(customer.id, None), (customer.id, contact.id)]


def test_the_same_event_id_twice_is_recorded_once(hooked, hospital):
    first = _post(hooked, _event())
    again = _post(hooked, _event(payload={"changed": True}))
    assert first.status_code == 201
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert again.json()["id"] == first.json()["id"]
    assert len(_rows()) == 1
    # another sender may use the same id for its own event
    assert _post(hooked, _event(sender="crm")).status_code == 201 and len(_rows()) == 2


def test_unsigned_or_badly_signed_requests_are_refused(hooked, hospital):
    data = json.dumps(_event()).encode()
    unsigned = requests.post(f"{hooked.base_url}/hooks/events", data=data, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401 and unsigned.json()["message"].startswith("缺少签名")
    other_key = _post(hooked, _event(), secret="another-secret-of-enough-length-x1")
    assert other_key.status_code == 401 and other_key.json()["message"].startswith("签名不正确")
    now = str(int(clock.now().timestamp()))
    altered = requests.post(
        f"{hooked.base_url}/hooks/events",
        data=data.replace(b"order-1001", b"order-9999"),
        headers={"X-SalesNav-Timestamp": now, "X-SalesNav-Signature": sign(SECRET, now, data)},
    )
    assert altered.status_code == 401
    # the signature covers the timestamp: moving it to dodge the window breaks the signature
    later = str(int(clock.now().timestamp()) + 60)
    moved = requests.post(
        f"{hooked.base_url}/hooks/events",
        data=data,
        headers={"X-SalesNav-Timestamp": later, "X-SalesNav-Signature": sign(SECRET, now, data)},
    )
    assert moved.status_code == 401
    assert _rows() == []


def test_a_request_replayed_after_the_window_is_refused(hooked, hospital, frozen_clock):
    sent_at = frozen_clock.now()
    data = json.dumps(_event()).encode()
    stamp = str(int(sent_at.timestamp()))
    headers = {"X-SalesNav-Timestamp": stamp, "X-SalesNav-Signature": sign(SECRET, stamp, data)}
    frozen_clock.advance(timedelta(minutes=4, seconds=59))
    assert requests.post(f"{hooked.base_url}/hooks/events", data=data, headers=headers).status_code == 201
    frozen_clock.advance(timedelta(seconds=2))  # 5 min 1 s after signing: a replay
    replay = requests.post(f"{hooked.base_url}/hooks/events", data=data, headers=headers)
    assert replay.status_code == 401
    assert replay.json()["message"] == "请求时间与服务器相差 301 秒，超过 5 分钟：已拒绝（防止重放），请重新签名发送"
    assert len(_rows()) == 1


def test_bad_fields_and_unknown_customers_are_a_422_naming_the_field_in_chinese(hooked, hospital, session):
    cases = [
        (_event(kind="Order Paid"), "kind"),
        (_event(event_id=""), "event_id"),
        (_event(customer={}), "customer"),
        (_event(customer={"id": "abc"}), "customer"),
        (_event(occurred_at="昨天"), "occurred_at"),
        (_event(payload=[1, 2]), "payload"),
        (_event(payload={"big": "x" * 9000}), "payload"),
        ({**_event(), "extra": 1}, "extra"),
        ({k: v for k, v in _event().items() if k != "sender"}, "sender"),
    ]
    for body, field in cases:
        answer = _post(hooked, body)
        assert answer.status_code == 422, (body, answer.text)
        assert field in answer.json()["fields"], (field, answer.json())
    assert _post(hooked, _event(kind="x" * 60)).json()["fields"]["kind"] == [
        "须为小写字母开头的 a-z 0-9 _ .（1–49 个），如 order.paid"
    ]

    nobody = _post(hooked, _event(customer={"mobile": "13900000000"}))
    assert nobody.status_code == 422 and nobody.json()["message"] == "找不到手机号「13900000000」对应的客户联系人"
    gone = _post(hooked, _event(customer={"id": 999_999}))
    assert gone.status_code == 422 and gone.json()["message"] == "找不到编号为 999999 的客户"
    future = _post(hooked, _event(occurred_at="2027-01-01T00:00:00+08:00"))
    assert future.status_code == 422 and "不能发生在未来" in future.json()["message"]
    # the same mobile at two customers: ambiguous, say so
    other = f.customer(session, session.get(User, hospital[0].owner_id), name="华山医院")
    session.add(Contact(customer_id=other.id, name="李明", phone="+8613800138000"))
    session.commit()
    twice = _post(hooked, _event(event_id="amb"))
    assert twice.status_code == 422 and "对应多个客户" in twice.json()["message"]
    assert _rows() == []


def test_a_batch_is_recorded_in_one_request_each_event_answered_in_order(hooked, hospital):
    customer, contact = hospital
    events = [
        _event(event_id="b-1"),
        _event(event_id="b-2", customer={"id": customer.id}, kind="order.refunded"),
        _event(event_id="b-3", kind="Order Paid"),
        _event(event_id="b-4", customer={"id": 999_999}),
        _event(event_id="b-1"),
        "不是事件",
    ]
    answer = _post(hooked, {"events": events}, path="/hooks/events/batch")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["recorded"], body["duplicate"], body["refused"]) == (2, 1, 3)
    assert body["message"] == "已记录 2 个，重复 1 个，拒绝 3 个"
    results = body["results"]
    assert [r["status"] for r in results] == ["recorded", "recorded", "refused", "refused", "duplicate", "refused"]
    assert [r["index"] for r in results] == list(range(6))
    assert (results[0]["customer_id"], results[0]["contact_id"]) == (customer.id, contact.id)
    assert results[4]["id"] == results[0]["id"] and results[4]["message"].startswith("该事件已记录过")
    assert results[2]["fields"]["kind"] == ["须为小写字母开头的 a-z 0-9 _ .（1–49 个），如 order.paid"]
    assert results[3]["fields"] == {"customer.id": ["找不到编号为 999999 的客户"]}
    assert results[5]["fields"] == {"event": ["须为 JSON 对象"]}
    assert _rows() == [
        ("webhook.order.paid", "webhook", customer.id, contact.id, "webhook:erp:b-1"),
        ("webhook.order.refunded", "webhook", customer.id, None, "webhook:erp:b-2"),
    ]
    # the batch resent: nothing new
    again = _post(hooked, {"events": events[:2]}, path="/hooks/events/batch").json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"] and len(_rows()) == 2


def test_a_batch_is_signed_and_bounded_like_one_event(hooked, hospital):
    data = json.dumps({"events": [_event()]}).encode()
    url = f"{hooked.base_url}/hooks/events/batch"
    unsigned = requests.post(url, data=data, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401 and unsigned.json()["message"].startswith("缺少签名")
    for body in ({"events": []}, {"events": {}}, {"event": [_event()]}, {"events": [_event()], "more": 1}):
        answer = _post(hooked, body, path="/hooks/events/batch")
        assert answer.status_code == 422 and answer.json()["fields"] == {"events": ["必填"]}, answer.text
    many = [_event(event_id=f"m-{i}", payload={}) for i in range(501)]
    too_many = _post(hooked, {"events": many}, path="/hooks/events/batch")
    assert too_many.status_code == 422 and too_many.json()["message"] == "一次最多 500 个事件，请分批发送"
    assert _post(hooked, None, raw=b"[1]", path="/hooks/events/batch").status_code == 400
    assert _rows() == []


def test_malformed_bodies_are_400_never_500(hooked, hospital):
    for raw in (b"", b"not json", b"[1,2]", b"{", b"[" * 5000, b'{"a": "\\u0000"}', b"\xff\xfe"):
        answer = _post(hooked, None, raw=raw)
        assert answer.status_code == 400, (raw[:20], answer.status_code, answer.text)
        assert answer.json()["message"]
    huge = _post(hooked, None, raw=b"{" + b" " * (70 * 1024) + b"}")
    assert huge.status_code == 413


def test_without_a_secret_the_webhook_is_off(live_pages, hospital):
    answer = _post(live_pages, _event())
    assert answer.status_code == 503 and "SALESNAV_WEBHOOK_SECRET" in answer.json()["message"]


def test_a_weak_webhook_secret_stops_the_start(tmp_path):
    env = {"SALESNAV_DATA_DIR": str(tmp_path), "SALESNAV_WEBHOOK_SECRET": "short"}
    with pytest.raises(SettingsError, match="SALESNAV_WEBHOOK_SECRET"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "SALESNAV_WEBHOOK_SECRET": SECRET}).webhook_secret == SECRET


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"a":1}'
    expected = hmac.new(SECRET.encode(), b"1772413200." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1772413200", body) == "sha256=" + expected
