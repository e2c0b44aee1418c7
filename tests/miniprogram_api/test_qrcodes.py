"""QR-code entry: the PNG decodes to a short signed scene that opens the right pre-filled form."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from PIL import Image
from pyzbar.pyzbar import decode

from tests import factories as f


def _scan(png: bytes) -> str:
    [symbol] = decode(Image.open(io.BytesIO(png)))
    return parse_qs(urlsplit(symbol.data.decode()).query)["scene"][0]


def test_a_customer_qr_code_opens_that_customers_touchpoint_form(client, org, login, session, frozen_clock):
    cust = f.customer(session, org.rep, name="瑞金医院")
    session.commit()
    rep = login(org.rep)
    response = client.post("/api/v1/qrcodes", headers=rep, json={"kind": "touchpoint", "customer_id": cust.id})
    assert response.status_code == 201 and response.mimetype == "image/png"
    scene = _scan(response.data)
    assert scene == response.headers["X-Scene"] and len(scene) <= 32
    form = client.get(f"/api/v1/qrcodes/scene/{scene}", headers=rep).get_json()
    assert form["form"] == "touchpoint"
    assert form["prefill"]["customer_id"] == cust.id and form["prefill"]["customer_name"] == "瑞金医院"
    assert [c["name"] for c in form["prefill"]["contacts"]] == ["联系人1"]


def test_an_exhibition_qr_code_opens_the_lead_form_with_type_expo(client, org, login, frozen_clock):
    rep = login(org.rep)
    response = client.post("/api/v1/qrcodes", headers=rep, json={"kind": "expo_lead", "expo": "2026上海医疗器械展"})
    form = client.get(f"/api/v1/qrcodes/scene/{_scan(response.data)}", headers=login(org.other_rep)).get_json()
    assert form["form"] == "expo_lead"
    assert form["prefill"]["type"] == "展会" and form["prefill"]["expo"] == "2026上海医疗器械展"


def test_a_forged_scene_is_refused(client, org, login, frozen_clock):
    rep = login(org.rep)
    scene = client.post("/api/v1/qrcodes", headers=rep, json={"kind": "expo_lead", "expo": "展"}).headers["X-Scene"]
    row_id, signature = scene.split(".")
    forged = f"{int(row_id, 36) + 1:x}.{signature}"
    response = client.get(f"/api/v1/qrcodes/scene/{forged}", headers=rep)
    assert response.status_code == 400 and response.get_json()["message"] == "二维码无效，请让对方重新生成"


def test_an_expired_scene_is_gone(client, org, login, frozen_clock):
    rep = login(org.rep)
    created = client.post("/api/v1/qrcodes", headers=rep, json={"kind": "expo_lead", "expo": "展", "valid_days": 1})
    frozen_clock.advance(timedelta(days=1, seconds=1))
    response = client.get(f"/api/v1/qrcodes/scene/{created.headers['X-Scene']}", headers=login(org.rep))
    assert response.status_code == 410 and response.get_json()["message"] == "二维码已过期，请让对方重新生成"


def test_a_qr_code_for_someone_elses_customer_cannot_be_made_or_opened(client, org, login, session, frozen_clock):
    cust = f.customer(session, org.rep)
    session.commit()
    outsider = login(org.outsider_rep)
    refused = client.post("/api/v1/qrcodes", headers=outsider, json={"kind": "touchpoint", "customer_id": cust.id})
    assert refused.status_code == 404
    scene = client.post(
        "/api/v1/qrcodes", headers=login(org.rep), json={"kind": "touchpoint", "customer_id": cust.id}
    ).headers["X-Scene"]
    assert client.get(f"/api/v1/qrcodes/scene/{scene}", headers=outsider).status_code == 404


def test_a_touchpoint_qr_code_needs_a_customer(client, org, login):
    response = client.post("/api/v1/qrcodes", headers=login(org.rep), json={"kind": "touchpoint"})
    assert response.status_code == 422 and response.get_json()["fields"]["customer_id"] == ["触点二维码需要指定客户"]
