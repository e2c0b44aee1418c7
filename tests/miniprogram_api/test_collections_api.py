"""回款 through the API: a won deal's contract and plan (GET/PUT …/contract), a payment to the oldest open
instalment, the collections book in the viewer's scope, and `overdue_receivable_fen` on deals and customers."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.handlers.battle_pack.arrange import customer, local, won_deal

SIGNED = date(2026, 3, 2)
PLAN = {
    "contract_no": "HT-2026-018",
    "amount_fen": 100_000_000,
    "signed_on": "2026-03-02",
    "instalments": [
        {"amount_fen": 30_000_000, "due_date": "2026-03-31"},
        {"amount_fen": 60_000_000, "due_date": "2026-09-30"},
        {"amount_fen": 10_000_000, "due_date": "2027-03-31"},
    ],
}


@pytest.fixture
def deal_id(session, org, frozen_clock) -> int:
    frozen_clock.set(local(SIGNED, 10))
    ruijin = customer(session, org.rep, "瑞金医院")
    deal = won_deal(
        session,
        org.rep,
        ruijin,
        product_line="MR设备",
        start=local(SIGNED - timedelta(days=60), 9),
        days=[0, 10, 20, 30, 40, 50],
    )
    session.commit()
    return deal.id


def test_the_rep_enters_the_plan_and_everyone_in_scope_sees_it_age(client, login, org, deal_id, frozen_clock):
    rep = login(org.rep)
    empty = client.get(f"/api/v1/opportunities/{deal_id}/contract", headers=rep).get_json()
    assert empty == {"opportunity_id": deal_id, "won": True, "contract": None}

    saved = client.put(f"/api/v1/opportunities/{deal_id}/contract", headers=rep, json=PLAN)
    assert saved.status_code == 200, saved.get_json()
    contract = saved.get_json()["contract"]
    assert contract["amount_fen"] == 100_000_000 and contract["contract_no"] == "HT-2026-018"
    assert [(i["instalment_no"], i["amount_fen"], i["due_date"], i["status"]) for i in contract["instalments"]] == [
        (1, 30_000_000, "2026-03-31", "未到期"),
        (2, 60_000_000, "2026-09-30", "未到期"),
        (3, 10_000_000, "2027-03-31", "未到期"),
    ]

    frozen_clock.set(local(date(2026, 5, 5), 9))  # instalment 1 is 35 days overdue
    rep = login(org.rep)  # two months on: a fresh sign-in
    deal = client.get(f"/api/v1/opportunities/{deal_id}", headers=rep).get_json()
    assert deal["overdue_receivable_fen"] == 30_000_000
    [listed] = client.get("/api/v1/customers", headers=login(org.manager)).get_json()["items"]
    assert listed["name"] == "瑞金医院" and listed["overdue_receivable_fen"] == 30_000_000

    book = client.get("/api/v1/collections", headers=login(org.manager)).get_json()
    assert [(b["label"], b["count"]) for b in book["buckets"]] == [
        ("未到期", 2),
        ("1–30 天", 0),
        ("31–60 天", 1),
        ("61–90 天", 0),
        ("90 天以上", 0),
    ]
    assert book["overdue_fen"] == 30_000_000 and book["items"][0]["what"] == "第 1 期（合同 HT-2026-018）"
    assert book["on_time_rate"] == 0.0 and book["on_time_source"] == "receivables"
    assert client.get("/api/v1/collections", headers=login(org.outsider_rep)).get_json()["items"] == []
    mine = client.get(f"/api/v1/collections?customer_id={listed['id']}", headers=rep).get_json()
    assert mine["on_time_receivables"] == 1 and mine["on_time_late"] == 1

    paid = client.post(f"/api/v1/opportunities/{deal_id}/payments", headers=rep, json={"amount_fen": 35_000_000})
    assert paid.status_code == 201, paid.get_json()
    assert [i["status"] for i in paid.get_json()["contract"]["instalments"]] == ["已回款", "部分回款", "未到期"]
    assert client.get(f"/api/v1/opportunities/{deal_id}", headers=rep).get_json()["overdue_receivable_fen"] == 0


def test_bad_plans_are_refused_in_chinese(client, login, org, deal_id):
    rep = login(org.rep)
    short = {**PLAN, "instalments": PLAN["instalments"][:2]}
    response = client.put(f"/api/v1/opportunities/{deal_id}/contract", headers=rep, json=short)
    assert response.status_code == 400
    assert response.get_json()["message"] == "各期金额合计 90万元，与合同金额 100万元 不一致，请核对"
    zero = {**PLAN, "amount_fen": 0}
    response = client.put(f"/api/v1/opportunities/{deal_id}/contract", headers=rep, json=zero)
    assert response.status_code == 422 and "合同金额必须大于 0" in response.get_json()["message"]
    outsider = client.put(f"/api/v1/opportunities/{deal_id}/contract", headers=login(org.outsider_rep), json=PLAN)
    assert outsider.status_code == 404 and outsider.get_json()["message"] == "商机不存在或您无权查看"
    nothing = client.post(f"/api/v1/opportunities/{deal_id}/payments", headers=rep, json={"amount_fen": 1_000_000})
    assert nothing.status_code == 400 and nothing.get_json()["message"] == "商机「瑞金医院MR设备」没有未回款的应收款"


def test_the_contracts_end_date_is_entered_kept_cleared_and_dates_the_renewal_window(
    client, login, org, deal_id, session, frozen_clock
):
    from salesnav.handlers import lifecycle, rule_settings
    from salesnav.models import Contract

    def renewal_counted_from() -> date | None:  # what the 续费 window (and a 合同到期 journey) is computed from
        session.expire_all()
        customer_id = contract_customer(session, deal_id)
        return lifecycle.facts(session, rule_settings.lifecycle(session), [customer_id])[customer_id].contract_end

    rep = login(org.rep)
    url = f"/api/v1/opportunities/{deal_id}/contract"
    saved = client.put(url, headers=rep, json={**PLAN, "ends_on": "2026-08-31"})
    assert saved.status_code == 200, saved.get_json()
    contract = saved.get_json()["contract"]
    assert (contract["ends_on"], contract["term_ends_on"]) == ("2026-08-31", "2026-08-31")
    assert client.get(url, headers=rep).get_json()["contract"]["ends_on"] == "2026-08-31"

    assert renewal_counted_from() == date(2026, 8, 31)

    kept = client.put(url, headers=rep, json=PLAN)  # a client that does not send it changes nothing of it
    assert kept.status_code == 200 and kept.get_json()["contract"]["ends_on"] == "2026-08-31"
    cleared = client.put(url, headers=rep, json={**PLAN, "ends_on": None}).get_json()["contract"]
    assert cleared["ends_on"] is None and cleared["term_ends_on"] == "2027-03-01"  # 12 months after signing
    assert renewal_counted_from() == date(2027, 3, 1)
    assert session.query(Contract).filter_by(opportunity_id=deal_id).one().ends_on is None

    early = client.put(url, headers=rep, json={**PLAN, "ends_on": "2026-03-02"})
    assert early.status_code == 400
    assert early.get_json()["message"] == "合同到期日 2026-03-02 必须晚于签约日 2026-03-02"
    garbled = client.put(url, headers=rep, json={**PLAN, "ends_on": "明年"})
    assert garbled.status_code == 422 and re.search(r"[\u4e00-\u9fff]", garbled.get_json()["message"])


def contract_customer(session, deal_id: int) -> int:
    from salesnav.models import Opportunity

    return session.get(Opportunity, deal_id).customer_id
