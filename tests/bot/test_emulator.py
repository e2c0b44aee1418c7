"""The WeCom emulator speaks WeCom's protocol over HTTP, with our database as its directory."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import requests
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.app import create_app
from salesnav.bot.client import WeComClient, WeComError
from salesnav.bot.emulator import EmulatorNotAllowed, mount
from salesnav.bot.emulator import state as emulator_state
from salesnav.settings import Settings
from tests import factories
from tests.bot.conftest import LiveApp


def _token(live_app: LiveApp) -> str:
    wecom = live_app.settings.wecom
    answer = requests.get(
        live_app.emulator_url + "/cgi-bin/gettoken",
        params={"corpid": wecom.corp_id, "corpsecret": wecom.secret},
        timeout=5,
    ).json()
    assert answer["errcode"] == 0 and answer["expires_in"] == 7200
    return answer["access_token"]


def test_gettoken_accepts_only_the_configured_corp_and_secret(live_app: LiveApp) -> None:
    url = live_app.emulator_url + "/cgi-bin/gettoken"
    wrong_secret = requests.get(
        url, params={"corpid": live_app.settings.wecom.corp_id, "corpsecret": "nope"}, timeout=5
    ).json()
    wrong_corp = requests.get(
        url, params={"corpid": "ww-other", "corpsecret": live_app.settings.wecom.secret}, timeout=5
    ).json()

    assert wrong_secret["errcode"] == 40001
    assert wrong_corp["errcode"] == 40013
    assert _token(live_app) == _token(live_app)  # like WeCom: one token while it is valid


def test_message_send_checks_the_access_token(
    live_app: LiveApp, frozen_clock: clock.FrozenClock, session: Session
) -> None:
    factories.org(session)
    session.commit()
    url = live_app.emulator_url + "/cgi-bin/message/send"
    message = {
        "touser": "rep01",
        "agentid": live_app.settings.wecom.agent_id,
        "msgtype": "text",
        "text": {"content": "你好"},
    }
    token = _token(live_app)

    assert requests.post(url, json=message, timeout=5).json()["errcode"] == 41001
    assert requests.post(url, params={"access_token": "forged"}, json=message, timeout=5).json()["errcode"] == 40014
    assert requests.post(url, params={"access_token": token}, json=message, timeout=5).json()["errcode"] == 0
    frozen_clock.advance(timedelta(hours=2))
    assert requests.post(url, params={"access_token": token}, json=message, timeout=5).json()["errcode"] == 42001
    assert [m["payload"]["content"] for m in live_app.emulator.sent("rep01")] == ["你好"]


def test_past_the_companys_calls_a_minute_wecom_answers_45009_and_counts_what_it_received(
    live_app: LiveApp, frozen_clock: clock.FrozenClock, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulator_state, "COMPANY_LIMIT", (timedelta(minutes=1), 3))  # WeCom's is 10,000
    factories.org(session)
    session.commit()
    url = live_app.emulator_url + "/cgi-bin/message/send"
    token = _token(live_app)
    agent = live_app.settings.wecom.agent_id

    def send(n: int) -> int:
        body = {"touser": "rep01", "agentid": agent, "msgtype": "text", "text": {"content": f"第{n}条"}}
        return requests.post(url, params={"access_token": token}, json=body, timeout=5).json()["errcode"]

    assert [send(n) for n in range(4)] == [0, 0, 0, 45009]
    frozen_clock.advance(timedelta(seconds=60))  # the minute has passed: room again
    assert send(4) == 0
    counts = live_app.emulator.control()["counts"]
    assert counts == {"api_calls": 5, "sends": 5, "rate_limited": 1, "delivered": 4, "dropped": 0}


def test_past_30_messages_a_minute_to_one_member_wecom_drops_them_silently_and_the_count_shows_it(
    live_app: LiveApp, frozen_clock: clock.FrozenClock, session: Session
) -> None:
    factories.org(session)
    session.commit()
    url = live_app.emulator_url + "/cgi-bin/message/send"
    token = _token(live_app)
    agent = live_app.settings.wecom.agent_id
    answers = [
        requests.post(
            url,
            params={"access_token": token},
            json={"touser": "rep01", "agentid": agent, "msgtype": "text", "text": {"content": f"提醒{n}"}},
            timeout=5,
        ).json()["errcode"]
        for n in range(31)
    ]
    assert set(answers) == {0}  # the call succeeds; the member never sees the 31st
    assert len(live_app.emulator.sent("rep01")) == 30
    assert live_app.emulator.control()["counts"]["dropped"] == 1


def test_message_send_rejects_what_wecom_rejects(live_app: LiveApp, session: Session) -> None:
    factories.org(session)
    session.commit()
    token = _token(live_app)
    agent = live_app.settings.wecom.agent_id

    def send(body: dict) -> dict:
        return requests.post(
            live_app.emulator_url + "/cgi-bin/message/send", params={"access_token": token}, json=body, timeout=5
        ).json()

    assert send({"touser": "rep01", "agentid": agent, "msgtype": "text", "text": {"content": ""}})["errcode"] == 44004
    assert send({"touser": "rep01", "agentid": 1, "msgtype": "text", "text": {"content": "x"}})["errcode"] == 40056
    assert send({"touser": "rep01", "agentid": agent, "msgtype": "video2", "video2": {}})["errcode"] == 40008
    assert (
        send({"touser": "rep01", "agentid": agent, "msgtype": "file", "file": {"media_id": "missing"}})["errcode"]
        == 40007
    )
    assert send({"touser": "ghost", "agentid": agent, "msgtype": "text", "text": {"content": "x"}})["errcode"] == 81013
    partly = send({"touser": "rep01|ghost", "agentid": agent, "msgtype": "text", "text": {"content": "x"}})
    assert partly["errcode"] == 0 and partly["invaliduser"] == "ghost"
    assert len(live_app.emulator.sent(everything=True)) == 6
    assert len(live_app.emulator.sent()) == 1


def test_directory_comes_from_our_database(live_app: LiveApp, session: Session) -> None:
    org = factories.org(session)
    session.commit()
    client = WeComClient(live_app.settings.wecom)

    departments = client.get("department/list")["department"]
    users = client.get("user/list", department_id=1, fetch_child=1)["userlist"]
    sales_id = next(d["id"] for d in departments if d["name"] == "销售部")
    sales_users = client.get("user/list", department_id=sales_id)["userlist"]

    assert {d["name"] for d in departments} >= {"销售部", "市场部", "交付部"}
    assert {u["userid"] for u in users} >= {"rep01", "mgr01", "admin"}
    rep = next(u for u in sales_users if u["userid"] == org.rep.wecom_userid)
    assert rep["name"] == "李销售" and rep["direct_leader"] == ["mgr01"]
    assert "mkt01" not in {u["userid"] for u in sales_users}


def test_login_codes_are_dev_userid(live_app: LiveApp, session: Session) -> None:
    factories.org(session)
    session.commit()
    client = WeComClient(live_app.settings.wecom)

    login = client.code_to_session("dev-rep01")
    assert login["userid"] == "rep01" and login["session_key"]
    assert login["corpid"] == live_app.settings.wecom.corp_id
    assert client.get("auth/getuserinfo", code="dev-mgr01")["userid"] == "mgr01"
    with pytest.raises(WeComError) as refused:
        client.code_to_session("dev-nobody")
    assert refused.value.errcode == 40029


def test_media_round_trip_and_file_message(live_app: LiveApp, session: Session) -> None:
    factories.org(session)
    session.commit()
    client = WeComClient(live_app.settings.wecom)

    media_id = client.upload_media("file", "报价单.pdf", b"%PDF-1.4 quote", "application/pdf")
    client.send_file("rep01", media_id)

    assert client.download_media(media_id) == b"%PDF-1.4 quote"
    assert live_app.emulator.sent("rep01")[0]["payload"] == {"media_id": media_id}
    with pytest.raises(WeComError) as bad_type:
        client.upload_media("pdf", "x.pdf", b"12345")
    assert bad_type.value.errcode == 40004


def test_template_card_update_uses_the_response_code_once(live_app: LiveApp, session: Session) -> None:
    factories.org(session)
    session.commit()
    client = WeComClient(live_app.settings.wecom)
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": "记触点"},
        "task_id": "t-1",
        "button_list": [{"text": "协和医院", "key": "c1"}],
    }

    sent = client.send_template_card("rep01", card)
    client.update_template_card(["rep01"], sent.response_code or "", replace_name="已记录")

    assert live_app.emulator.card_updates()[0]["button"] == {"replace_name": "已记录"}
    with pytest.raises(WeComError):
        client.update_template_card(["rep01"], sent.response_code or "", replace_name="再次")


def test_menu_and_external_contact(live_app: LiveApp, session: Session) -> None:
    factories.org(session)
    session.commit()
    client = WeComClient(live_app.settings.wecom)
    live_app.emulator.control(
        external_contacts={"wm-1": {"name": "张主任", "corp_name": "协和医院", "follow_user": "rep01"}}
    )

    client.create_menu({"button": [{"type": "click", "name": "记触点", "key": "TOUCHPOINT_NEW"}]})
    contact = client.get("externalcontact/get", external_userid="wm-1")

    assert (
        live_app.emulator.state()["menus"][str(live_app.settings.wecom.agent_id)]["button"][0]["key"]
        == "TOUCHPOINT_NEW"
    )
    assert contact["external_contact"]["corp_name"] == "协和医院"
    assert contact["follow_user"][0]["userid"] == "rep01"


def test_emulator_is_never_mounted_without_emulator_mode(database: str, settings: Settings) -> None:
    real = dataclasses.replace(settings, wecom=dataclasses.replace(settings.wecom, emulator=False))
    app = create_app(real)

    assert app.test_client().get("/_wecom/sent").status_code == 404
    with pytest.raises(EmulatorNotAllowed):
        mount(app)
