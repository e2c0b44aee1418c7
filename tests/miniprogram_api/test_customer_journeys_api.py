"""A customer's journeys in the mini-program: the customer's detail and its 诊断 say which journeys the customer
is in, at which step and by when (codes with their Chinese labels); the chat's 诊断 says it in a sentence."""

from __future__ import annotations

from salesnav.models import EnrollmentState
from tests import factories as f
from tests.bot.chat import Chat
from tests.handlers.journeys.rows import ACTIVE, COMPLETED, DONE, OPEN, Run, enrol, journey


def _arrange(session, org):
    customer = f.customer(session, org.rep, name="北京协和医院")
    enrol(session, journey(session, "续费前三个月"), customer, 40, COMPLETED, [Run("s1", DONE)])
    whitepaper = journey(session, "白皮书下载后的跟进")
    enrol(
        session,
        whitepaper,
        customer,
        2,
        ACTIVE,
        [Run("s1", DONE), Run("s2", DONE, "then"), Run("s3", OPEN, sla_in_hours=-3)],
    )
    session.commit()
    return customer


def test_the_customers_detail_lists_the_journeys_they_are_in_with_the_step_and_its_deadline(
    client, session, org, login, frozen_clock
):
    customer = _arrange(session, org)
    body = client.get(f"/api/v1/customers/{customer.id}", headers=login(org.rep)).get_json()
    assert [(j["journey_name"], j["state"], j["state_label"]) for j in body["journeys"]] == [
        ("白皮书下载后的跟进", "active", "进行中"),
        ("续费前三个月", "completed", "已完成"),
    ]
    now = body["journeys"][0]
    assert (now["step_key"], now["step_title"], now["step_state"], now["step_state_label"]) == (
        "s3",
        "市场部约演示",
        "open",
        "进行中",
    )
    assert now["overdue"] is True and now["due_at"] and now["summary"].endswith("（已超时）")
    assert body["journeys"][1]["step_state"] is None and body["journeys"][1]["step_state_label"] is None
    # The list stays as it was (no journeys per row: one query per page, not per customer).
    listed = client.get("/api/v1/customers", headers=login(org.rep)).get_json()["items"]
    assert "journeys" not in listed[0]
    assert client.get(f"/api/v1/customers/{customer.id}", headers=login(org.outsider_rep)).status_code == 404


def test_the_diagnosis_carries_the_journeys_and_the_chat_says_where_the_customer_is(
    client, session, org, login, frozen_clock, live_api
):
    customer = _arrange(session, org)
    body = client.get(f"/api/v1/customers/{customer.id}/diagnosis", headers=login(org.rep)).get_json()
    assert [j["journey_name"] for j in body["journeys"]] == ["白皮书下载后的跟进", "续费前三个月"]
    assert body["journeys"][0]["state"] == EnrollmentState.ACTIVE.value

    rep = Chat(live_api, "rep01")
    rep.say("诊断 协和")
    text = rep.last_text()
    assert "客户旅程：\n「白皮书下载后的跟进」当前步骤「市场部约演示」 · 进行中，截止 " in text
    assert "（已超时）" in text and "续费前三个月" not in text  # the chat names the journeys they are in now
