"""Who sees what: a rep their own records, a manager the team's, a director all; others' records are 404."""

from __future__ import annotations

import pytest

from salesnav.handlers.opportunities import create_from_touchpoint
from tests import factories as f


@pytest.fixture
def deals(session, org, frozen_clock):
    """One customer, touchpoint and opportunity each for rep01 (team A), rep02 (team A) and rep03 (team B)."""
    out = {}
    for rep in (org.rep, org.other_rep, org.outsider_rep):
        cust = f.customer(session, rep, name=f"{rep.name}的医院")
        tp = f.touchpoint(session, rep, cust, summary="拜访")
        opp = create_from_touchpoint(
            session, rep, touchpoint_id=tp.id, title="DR", product_line="DR", expected_amount_fen=100_000
        )
        out[rep.wecom_userid] = {"customers": cust.id, "touchpoints": tp.id, "opportunities": opp.id}
    session.commit()
    return out


def _listed(client, headers, resource):
    return {item["id"] for item in client.get(f"/api/v1/{resource}", headers=headers).get_json()["items"]}


@pytest.mark.parametrize("resource", ["customers", "touchpoints", "opportunities"])
def test_a_rep_cannot_read_or_list_another_reps_records(client, org, login, deals, resource):
    rep = login(org.rep)
    assert _listed(client, rep, resource) == {deals["rep01"][resource]}
    theirs = deals["rep02"][resource]
    response = client.get(f"/api/v1/{resource}/{theirs}", headers=rep)
    assert response.status_code == 404
    assert set(response.get_json()) == {"error", "message"} and "不存在" in response.get_json()["message"]


def test_a_rep_cannot_change_another_reps_records(client, org, login, deals):
    rep = login(org.rep)
    other = deals["rep02"]
    assert (
        client.patch(f"/api/v1/touchpoints/{other['touchpoints']}", headers=rep, json={"summary": "篡改"}).status_code
        == 404
    )
    assert (
        client.post(
            f"/api/v1/opportunities/{other['opportunities']}/advance", headers=rep, json={"to_stage": "输单"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/touchpoints", headers=rep, json={"customer_id": other["customers"], "type": "phone"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/opportunities",
            headers=rep,
            json={
                "touchpoint_id": other["touchpoints"],
                "title": "x",
                "product_line": "DR",
                "expected_amount_fen": 100,
            },
        ).status_code
        == 404
    )


@pytest.mark.parametrize("resource", ["customers", "touchpoints", "opportunities"])
def test_a_manager_sees_their_team_only(client, org, login, deals, resource):
    manager = login(org.manager)
    assert _listed(client, manager, resource) == {deals["rep01"][resource], deals["rep02"][resource]}
    assert client.get(f"/api/v1/{resource}/{deals['rep03'][resource]}", headers=manager).status_code == 404


@pytest.mark.parametrize("resource", ["customers", "touchpoints", "opportunities"])
def test_a_director_sees_all_of_sales(client, org, login, deals, resource):
    director = login(org.director)
    assert _listed(client, director, resource) == {d[resource] for d in deals.values()}


def test_lists_are_paginated_with_totals(client, org, login, session):
    for i in range(7):
        f.customer(session, org.rep, name=f"分页医院{i}")
    session.commit()
    rep = login(org.rep)
    page = client.get("/api/v1/customers", headers=rep, query_string={"page": 2, "per_page": 3}).get_json()
    assert (page["page"], page["per_page"], page["total"], len(page["items"])) == (2, 3, 7, 3)
    too_many = client.get("/api/v1/customers", headers=rep, query_string={"per_page": 101})
    assert too_many.status_code == 422 and too_many.get_json()["fields"]["per_page"] == ["须在 1–100 之间"]
