"""The outbound WeCom client against the emulator, over real HTTP."""

from __future__ import annotations

import dataclasses

import pytest
from redis import Redis
from sqlalchemy.orm import Session

from salesnav.bot.client import WeComClient, WeComError, WeComRateLimited
from tests import factories
from tests.bot.conftest import LiveApp


@pytest.fixture
def client(live_app: LiveApp, session: Session) -> WeComClient:
    factories.org(session)
    session.commit()
    return WeComClient(live_app.settings.wecom, redis_url=live_app.settings.redis_url)


def test_text_reaches_the_right_member(live_app: LiveApp, client: WeComClient) -> None:
    result = client.send_text("rep01", "今天 10:00 前请更新协和医院的触点")

    sent = live_app.emulator.sent("rep01")
    assert [m["payload"]["content"] for m in sent] == ["今天 10:00 前请更新协和医院的触点"]
    assert sent[0]["msgid"] == result.msgid
    assert live_app.emulator.sent("rep02") == []


def test_every_message_type_is_accepted(live_app: LiveApp, client: WeComClient) -> None:
    image = client.upload_media("image", "名片.png", b"\x89PNG fake image", "image/png")
    voice = client.upload_media("voice", "语音.amr", b"#!AMR fake voice", "audio/amr")
    doc = client.upload_media("file", "方案.pdf", b"%PDF fake file", "application/pdf")

    client.send_markdown("rep01", "**今日作战包** 3 项待办")
    client.send_textcard("rep01", "回款提醒", "协和医院 12 万元逾期 7 天", "https://example.test/r/1")
    client.send_template_card(
        "rep01",
        {
            "card_type": "text_notice",
            "main_title": {"title": "商机阶段变更"},
            "card_action": {"type": 1, "url": "https://example.test"},
        },
    )
    client.send_image("rep01", image)
    client.send_voice("rep01", voice)
    client.send_file("rep01", doc)

    assert [m["msgtype"] for m in live_app.emulator.sent("rep01")] == [
        "markdown",
        "textcard",
        "template_card",
        "image",
        "voice",
        "file",
    ]


def test_expired_token_is_refreshed_and_the_call_retried(live_app: LiveApp, client: WeComClient) -> None:
    client.send_text("rep01", "第一条")
    live_app.emulator.expire_tokens()

    client.send_text("rep01", "第二条")

    assert [m["payload"]["content"] for m in live_app.emulator.sent("rep01")] == ["第一条", "第二条"]
    assert live_app.emulator.state()["gettoken_calls"] == 2


def test_a_token_error_is_retried_only_once(live_app: LiveApp, client: WeComClient) -> None:
    live_app.emulator.fail_next(42001, 42001)

    with pytest.raises(WeComError) as failure:
        client.send_text("rep01", "不会发出")

    assert failure.value.errcode == 42001
    assert live_app.emulator.sent("rep01") == []


@pytest.mark.parametrize("errcode", [45009, 45033])
def test_frequency_limits_raise_rate_limited(live_app: LiveApp, client: WeComClient, errcode: int) -> None:
    live_app.emulator.fail_next(errcode)

    with pytest.raises(WeComRateLimited) as limited:
        client.send_text("rep01", "稍后再发")

    assert limited.value.errcode == errcode


def test_token_is_shared_through_redis_by_two_clients(live_app: LiveApp, session: Session, redis_url: str) -> None:
    factories.org(session)
    session.commit()
    wecom = live_app.settings.wecom
    web = WeComClient(wecom, redis_url=redis_url)
    worker = WeComClient(dataclasses.replace(wecom), redis_url=redis_url)

    web.send_text("rep01", "来自 web")
    worker.send_text("rep01", "来自 worker")
    assert live_app.emulator.state()["gettoken_calls"] == 1
    assert web.access_token == worker.access_token

    live_app.emulator.expire_tokens()
    web.send_text("rep01", "web 刷新了令牌")
    worker.send_text("rep01", "worker 直接用新令牌")

    assert live_app.emulator.state()["gettoken_calls"] == 2
    assert len(live_app.emulator.sent("rep01")) == 4
    assert Redis.from_url(redis_url).keys("salesnav:wecom:*access_token")  # the one shared copy
