"""QR-code entry: the PNG decodes to a short signed scene that opens the right pre-filled form."""

from __future__ import annotations

import dataclasses
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
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
    assert (form["prefill"]["type"], form["prefill"]["type_label"]) == ("expo", "展会") and form["prefill"][
        "expo"
    ] == "2026上海医疗器械展"


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


# --- with a mini-program configured: 小程序码 from WeChat's code API (the emulator's) ------------------


@pytest.fixture
def mini_program_api(settings, database):

    from tests.bot.conftest import serve

    yield from serve(dataclasses.replace(settings, miniprogram_appid="wx0123456789abcdef", miniprogram_secret="mp"))


def _sign_in(app, userid: str) -> dict[str, str]:
    answer = app.app.test_client().post("/api/v1/auth/login", json={"code": f"dev-{userid}"})
    return {"Authorization": "Bearer " + answer.get_json()["token"]}


def test_with_a_mini_program_the_code_opens_its_scan_page_with_the_scene(mini_program_api, session, frozen_clock):
    org = f.org(session)
    cust = f.customer(session, org.rep)
    session.commit()
    client = mini_program_api.app.test_client()
    made = client.post(
        "/api/v1/qrcodes",
        headers=_sign_in(mini_program_api, "rep01"),
        json={"kind": "touchpoint", "customer_id": cust.id},
    )
    assert made.status_code == 201 and made.mimetype == "image/png"
    [symbol] = decode(Image.open(io.BytesIO(made.data)))
    assert symbol.data.decode() == f"pages/scan/index?scene={made.headers['X-Scene']}"
    assert "X-Link" not in made.headers


def test_an_unreachable_code_api_is_a_chinese_502(mini_program_api, session, frozen_clock):
    f.org(session)
    session.commit()
    mini_program_api.app.config["SALESNAV"] = dataclasses.replace(
        mini_program_api.app.config["SALESNAV"],
        wechat_api_base="http://127.0.0.1:9",  # nothing listens there
    )
    client = mini_program_api.app.test_client()
    made = client.post(
        "/api/v1/qrcodes", headers=_sign_in(mini_program_api, "rep01"), json={"kind": "expo_lead", "expo": "展"}
    )
    assert made.status_code == 502 and made.get_json()["message"] == "微信小程序码服务暂时无法使用，请稍后再试"
