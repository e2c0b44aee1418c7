"""Rule 3 (客户健康红灯): the third 抵触 signal for one customer within 7 days turns it red and sends
the sales manager and the key account manager a PDF of all its touchpoints."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from salesnav import clock
from salesnav.bot.client import get_client
from salesnav.jobs.rules import run_scan
from salesnav.models import Alert, AlertState, Attachment, Customer, Emotion, Health, Role
from salesnav.models import session as db
from tests import factories as f
from tests.rules.conftest import received, received_texts


@pytest.fixture
def customer(session, frozen_clock, app):
    org = f.org(session)
    kam = f.user(session, "kam01", Role.MANAGER, org.sales, org.director, name="冯大客户经理")
    cust = f.customer(session, org.rep, name="瑞金医院")
    cust.key_account_manager_id = kam.id
    session.commit()
    return org, cust


def resistant(session, org, cust, summary: str) -> None:
    f.touchpoint(session, org.rep, cust, emotion=Emotion.RESISTANT, summary=summary)
    session.commit()


def health(cust_id: int) -> Health:
    with db.transaction() as s:
        return s.get(Customer, cust_id).health


def health_alerts() -> list[Alert]:
    with db.transaction() as s:
        return list(s.scalars(select(Alert).where(Alert.rule == "health_red").order_by(Alert.id)))


def test_third_resistant_signal_in_seven_days_turns_customer_red_and_sends_the_pdf(
    session, customer, frozen_clock, app
):
    org, cust = customer
    f.touchpoint(session, org.rep, cust, emotion=Emotion.POSITIVE, summary="首次拜访，主任对新机型感兴趣")
    for day, text in enumerate(["报价后主任表示预算不足", "采购科质疑售后响应时间", "主任明确表示倾向竞品"]):
        frozen_clock.advance(timedelta(days=2))
        resistant(session, org, cust, text)
        app.drain()
        assert health(cust.id) is (Health.RED if day == 2 else Health.GREEN)

    text = (
        "【客户健康红灯】客户「瑞金医院」（负责人：李销售）近 7 天出现 3 次抵触信号"
        "（03-04 09:30、03-06 09:30、03-08 09:30），健康度已转为红灯。"
        "该客户全部 4 条触点记录的 PDF 随后发送，请尽快介入。"
    )
    assert received_texts(app, "mgr01") == [text]
    assert received_texts(app, "kam01") == [text]
    assert received_texts(app, "rep01") == [] and received_texts(app, "dir01") == []

    [to_manager] = received(app, "mgr01", "file")
    [to_kam] = received(app, "kam01", "file")
    pdf = get_client().download_media(to_manager["payload"]["media_id"])
    assert get_client().download_media(to_kam["payload"]["media_id"]) == pdf  # the same kept file
    [alert] = health_alerts()
    with db.transaction() as s:
        kept = s.get(Attachment, alert.detail["pdf_attachment_id"])
        assert kept.content_type == "application/pdf" and kept.size_bytes == len(pdf)
    pages = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in (
        "客户健康红灯：瑞金医院",
        "共 4 条触点记录",
        "首次拜访，主任对新机型感兴趣",
        "报价后主任表示预算不足",
        "采购科质疑售后响应时间",
        "主任明确表示倾向竞品",
        "抵触",
        "李销售",
    ):
        assert expected in pages


def test_three_signals_spread_over_more_than_seven_days_stay_green(session, customer, frozen_clock, app):
    org, cust = customer
    for _ in range(3):
        resistant(session, org, cust, "客户不满意")
        frozen_clock.advance(timedelta(days=3, hours=12, seconds=1))  # the first has left the window by the third
    app.drain()
    assert health(cust.id) is Health.GREEN and health_alerts() == []
    assert received_texts(app, "mgr01") == []


def test_a_fourth_signal_in_the_same_red_spell_sends_nothing_more(session, customer, frozen_clock, app):
    org, cust = customer
    for _ in range(4):
        resistant(session, org, cust, "客户不满意")
        frozen_clock.advance(timedelta(hours=1))
    app.drain()
    assert len(health_alerts()) == 1
    assert len(received_texts(app, "mgr01")) == 1 and len(received(app, "mgr01", "file")) == 1


def test_red_light_resolves_itself_once_the_signals_age_out(session, customer, frozen_clock, app):
    org, cust = customer
    for _ in range(3):
        resistant(session, org, cust, "客户不满意")
    app.drain()
    assert health(cust.id) is Health.RED

    frozen_clock.advance(timedelta(days=7))
    run_scan(clock.now())
    [alert] = health_alerts()
    assert alert.state is AlertState.RESOLVED and alert.resolution == "近 7 天抵触信号已少于 3 次"
    assert health(cust.id) is Health.GREEN
