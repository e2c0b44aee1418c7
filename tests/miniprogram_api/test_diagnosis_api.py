"""GET /api/v1/customers/<id>/diagnosis: the mini-program's 客户健康度诊断, scoped like every customer read."""

from __future__ import annotations

from sqlalchemy import func, select

from salesnav.models import DecisionRole, DomainEvent, Emotion
from salesnav.models import session as db
from tests import factories as f


def _uses() -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).where(DomainEvent.kind == "health.diagnosis_requested"))


def test_the_rep_gets_the_diagnosis_of_their_customer_and_the_use_is_counted(client, session, org, login, frozen_clock):
    customer = f.customer(session, org.rep, name="瑞金医院", roles=(DecisionRole.USER, DecisionRole.PURCHASER))
    f.touchpoint(session, org.rep, customer, emotion=Emotion.POSITIVE, contact_ids=[customer.contacts[0].id])
    session.commit()

    response = client.get(f"/api/v1/customers/{customer.id}/diagnosis", headers=login(org.rep))

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["customer_name"], body["health"], body["stored_health"]) == ("瑞金医院", "yellow", "green")
    assert body["roles_met"] == ["使用者"] and body["roles_not_met"] == ["采购者"]
    assert body["roles_missing"] == ["影响者", "否决者"]
    assert body["emotion"] == {"recent": ["积极"], "trend": "none", "trend_label": "无记录", "resistant": 0}
    assert {x["area"] for x in body["findings"]} == {"emotion", "decision_chain", "payment"}
    assert 2 <= len(body["next_steps"]) <= 3
    assert body["payment"]["on_time_rate"] is None
    assert _uses() == 1


def test_another_rep_gets_a_404_and_nothing_is_counted(client, session, org, login):
    customer = f.customer(session, org.rep, name="瑞金医院")
    session.commit()
    response = client.get(f"/api/v1/customers/{customer.id}/diagnosis", headers=login(org.other_rep))
    assert response.status_code == 404
    assert response.get_json()["message"] == "客户不存在或您无权查看"
    assert _uses() == 0


def test_the_diagnosis_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/customers/{customer_id}/diagnosis" in spec["paths"]
