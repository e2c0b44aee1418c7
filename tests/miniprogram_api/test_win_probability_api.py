"""GET /api/v1/opportunities/<id>/win-probability, and each deal's 赢单概率 in the customer diagnosis."""

from __future__ import annotations

from salesnav import clock
from salesnav.demo.win_history import write_history
from salesnav.handlers import win_probability
from tests.rules.arrange import deal


def test_below_the_minimum_history_the_deal_gets_its_stage_table_figure(client, session, org, login, frozen_clock):
    _, opp = deal(session, org, stage="negotiation")
    session.commit()

    response = client.get(f"/api/v1/opportunities/{opp.id}/win-probability", headers=login(org.rep))

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "opportunity_id": opp.id,
        "probability": 0.75,
        "percent": 75,
        "stage_percent": 75,
        "source": "stage_table",
        "source_label": "阶段赢率表",
        "version": None,
        "note": "已结商机不足 60 个（赢、输各至少 10 个）前，按阶段赢率表计",
        "reasons": [],
    }


def test_with_a_model_in_use_the_deal_and_the_diagnosis_show_the_learned_figure_and_reasons(
    client, session, org, login, frozen_clock
):
    customer, opp = deal(session, org, stage="sample_test")
    write_history(session, org.other_rep, deals=220, now=clock.now())
    model = win_probability.retrain(session, clock.now(), "20260302").model
    session.commit()
    headers = login(org.rep)

    body = client.get(f"/api/v1/opportunities/{opp.id}/win-probability", headers=headers).get_json()

    assert (body["source"], body["version"], body["stage_percent"]) == ("model", model.version, 60)
    assert 0 < body["probability"] < 1 and body["percent"] == round(body["probability"] * 100)
    assert body["reasons"] and all(r["helps"] == (r["weight"] > 0) for r in body["reasons"])
    diagnosis = client.get(f"/api/v1/customers/{customer.id}/diagnosis", headers=headers).get_json()
    [in_diagnosis] = diagnosis["deals"]
    assert in_diagnosis["win"] == body


def test_another_reps_deal_is_a_404_in_chinese(client, session, org, login):
    _, opp = deal(session, org)
    session.commit()
    response = client.get(f"/api/v1/opportunities/{opp.id}/win-probability", headers=login(org.other_rep))
    assert response.status_code == 404
    assert response.get_json()["message"] == "商机不存在或您无权查看"


def test_the_win_probability_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/opportunities/{opportunity_id}/win-probability" in spec["paths"]
