"""Malformed requests get a clear 400/413/422 in Chinese, never a 500, and nothing is half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from salesnav.app import create_app
from salesnav.models import Annotation, Customer, Task, Touchpoint
from tests import factories as f

pytestmark = pytest.mark.smoke


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"path": "/api/v1/materials?q=%00abc"},
        {"path": "/healthz?x=a%00"},
        {"path": "/api/v1/auth/login", "method": "POST", "json": {"code": "dev-rep01\u0000"}},
    ],
)
def test_a_nul_byte_anywhere_is_refused_with_a_chinese_400(settings, database, request_kwargs):
    web = create_app(settings).test_client()
    path = request_kwargs.pop("path")
    response = web.open(path, **request_kwargs)
    assert response.status_code == 400
    assert response.get_json()["message"] == "请求中包含非法字符"


# --- input that used to be a 500: each is refused in Chinese and nothing is half-written ----------------

JSON = {"Content-Type": "application/json"}
CHINESE = "\u4e00-\u9fff"


def _chinese_error(response, *statuses: int) -> dict:
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert body and any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body
    return body


def _count(model) -> int:
    from salesnav.models import session as db

    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_json_nested_100k_deep_is_a_chinese_400(client, org, login, opening):
    closing = "]" if opening == "[" else "}"
    deep = '{"code": ' + opening * 100_000 + "1" + closing * 100_000 + "}"
    _chinese_error(client.post("/api/v1/auth/login", data=deep, headers=JSON), 400)
    rep = login(org.rep)
    body = '{"name": "深医院", "tags": ' + opening * 100_000 + "1" + closing * 100_000 + "}"
    _chinese_error(client.post("/api/v1/customers", data=body, headers={**JSON, **rep}), 400)
    assert _count(Customer) == 0


def test_json_nested_moderately_deep_is_refused_before_any_recursive_walk(client, org, login):
    rep = login(org.rep)
    body = '{"name": "深医院", "tags": ' + "[" * 500 + "]" * 500 + "}"
    _chinese_error(client.post("/api/v1/customers", data=body, headers={**JSON, **rep}), 400)
    assert _count(Customer) == 0


@pytest.mark.parametrize("text", ["\\ud800x", "x\\udfff", "\\udc00\\ud800"])
def test_a_lone_surrogate_in_json_is_a_chinese_400_and_nothing_is_written(client, org, login, text):
    rep = login(org.rep)
    body = '{"name": "' + text + '医院"}'
    response = client.post("/api/v1/customers", data=body, headers={**JSON, **rep})
    assert _chinese_error(response, 400)["message"] == "请求中包含无法识别的字符"
    for body in ('{"name": "医院", "tags": ["' + text + '"]}', '{"name": "医院", "' + text + '": 1}'):
        _chinese_error(client.post("/api/v1/customers", data=body, headers={**JSON, **rep}), 400)
    assert _count(Customer) == 0


def test_a_nul_byte_in_an_uploaded_file_name_or_a_repeated_parameter_is_a_chinese_400(client, org, login):
    import io

    from salesnav.models import Attachment
    from tests.miniprogram_api.test_attachments import png_bytes

    rep = login(org.rep)
    upload = {"file": (io.BytesIO(png_bytes()), "发票\x00.png")}
    response = client.post("/api/v1/attachments", headers=rep, data=upload, content_type="multipart/form-data")
    assert _chinese_error(response, 400)["message"] == "请求中包含非法字符"
    response = client.get("/api/v1/customers?q=a&q=%00", headers=rep)
    assert _chinese_error(response, 400)["message"] == "请求中包含非法字符"
    assert _count(Attachment) == 0


def test_a_number_of_5000_digits_is_a_chinese_400(client, org, login):
    rep = login(org.rep)
    body = '{"name": "医院", "tags": [1' + "0" * 5000 + "]}"
    assert _chinese_error(client.post("/api/v1/customers", data=body, headers={**JSON, **rep}), 400)["message"] == (
        "请求中的数字过长"
    )
    assert _count(Customer) == 0


def test_a_proper_surrogate_pair_is_an_ordinary_character(client, org, login):
    rep = login(org.rep)
    response = client.post("/api/v1/customers", data='{"name": "\\ud83d\\ude00 医院"}', headers={**JSON, **rep})
    assert response.status_code == 201 and response.get_json()["name"] == "😀 医院"


EXTREME_TIMES = [
    "0001-01-01T00:00:00+08:00",  # before year 1 once moved to UTC
    "0001-01-01T00:00:00",  # read in the business time zone: the same
    "9999-12-31T23:59:59-08:00",  # after year 9999 once moved to UTC
    "9999-12-31T23:59:59+14:00",
    "1900-01-01T00:00:00+08:00",  # representable, but no sales record is that old
]


@pytest.mark.parametrize("moment", EXTREME_TIMES)
def test_a_time_at_year_1_or_9999_is_a_chinese_422_and_nothing_is_written(client, org, login, session, moment):
    customer = f.customer(session, org.rep, name="北京协和医院")
    session.commit()
    rep = login(org.rep)
    for field in ("occurred_at", "next_action_due", "form_opened_at", "submitted_at"):
        body = {"customer_id": customer.id, "type": "phone", field: moment, "next_action": "回访"}
        response = client.post("/api/v1/touchpoints", json=body, headers=rep)
        assert "时间" in _chinese_error(response, 422)["message"], field
    _chinese_error(client.post("/api/v1/tasks", json={"title": "回访", "due_at": moment}, headers=rep), 422)
    _chinese_error(client.get("/api/v1/touchpoints", query_string={"since": moment}, headers=rep), 422)
    assert _count(Touchpoint) == 0 and _count(Task) == 0


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1900-01-01"])
def test_a_week_at_year_1_or_9999_is_refused_in_chinese(client, org, login, live_api, day):
    manager = login(org.manager)
    _chinese_error(client.get("/api/v1/dashboards/team", query_string={"week": day}, headers=manager), 422)
    from tests.pages.conftest import sign_in

    browser, _ = sign_in(live_api.base_url, org.manager.wecom_userid)
    page = browser.get(live_api.base_url + "/dashboards/team", params={"week": day})
    assert page.status_code == 400 and "日期" in page.text


def test_an_annotation_naming_a_missing_audio_attachment_is_a_chinese_404_and_nothing_is_written(
    client,
    org,
    login,
    session,
):
    customer = f.customer(session, org.rep, name="北京协和医院")
    touchpoint = f.touchpoint(session, org.rep, customer, summary="拜访")
    session.commit()
    manager = login(org.manager)
    body = {"touchpoint_id": touchpoint.id, "text": "好", "audio_attachment_id": 987654}
    _chinese_error(client.post("/api/v1/annotations", json=body, headers=manager), 404)
    assert _count(Annotation) == 0
