"""POST /api/v1/materials/{id}/links: the client asks for a material's 雷达 link for a customer (and contact)."""

from __future__ import annotations

from datetime import date, timedelta

import requests

from salesnav.handlers import radar
from salesnav.models import Contact
from tests import factories as f
from tests.handlers.battle_pack.arrange import customer, local, material, open_deal


def test_a_rep_gets_a_tracked_link_that_opens_the_page_and_names_the_contact(
    client, org, login, session, frozen_clock, live_api
):
    cust = f.customer(session, org.rep, name="北京协和医院")
    contact = Contact(customer_id=cust.id, name="李明", title="设备科主任")
    session.add(contact)
    paper = material(session, "AI影像辅助诊断白皮书", published_at=frozen_clock.now() - timedelta(days=1))
    session.commit()

    answer = client.post(
        f"/api/v1/materials/{paper.id}/links",
        headers=login(org.rep),
        json={"customer_id": cust.id, "contact_id": contact.id},
    )

    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["url"].startswith(f"{live_api.base_url}/r/")
    assert (body["customer_name"], body["contact_name"], body["material_title"]) == (
        "北京协和医院",
        "李明",
        "AI影像辅助诊断白皮书",
    )
    assert body["expires_at"].startswith("2026-04-01")  # 30 days after 2026-03-02
    page = requests.get(body["url"])
    assert page.status_code == 200 and "AI影像辅助诊断白皮书" in page.text


def test_a_customer_out_of_scope_a_contact_of_another_customer_or_a_retired_material_is_404(
    client, org, login, session, frozen_clock
):
    mine = f.customer(session, org.rep)
    theirs = f.customer(session, org.outsider_rep)
    paper = material(session, "白皮书", published_at=frozen_clock.now() - timedelta(days=1))
    retired = material(session, "旧手册", published_at=frozen_clock.now() - timedelta(days=1), retired=True)
    session.commit()
    rep = login(org.rep)

    for material_id, body in (
        (paper.id, {"customer_id": theirs.id}),
        (paper.id, {"customer_id": mine.id, "contact_id": theirs.contacts[0].id}),
        (retired.id, {"customer_id": mine.id}),
        (999_999, {"customer_id": mine.id}),
    ):
        answer = client.post(f"/api/v1/materials/{material_id}/links", headers=rep, json=body)
        assert answer.status_code == 404, (material_id, body, answer.get_json())
        assert answer.get_json()["message"]


def test_a_link_request_without_a_customer_is_a_422_in_chinese(client, org, login, session, frozen_clock):
    paper = material(session, "白皮书", published_at=frozen_clock.now())
    session.commit()
    answer = client.post(f"/api/v1/materials/{paper.id}/links", headers=login(org.rep), json={})
    assert answer.status_code == 422
    assert "customer_id" in answer.get_json()["fields"]


def test_without_a_token_the_link_is_refused(client, org, session, frozen_clock):
    paper = material(session, "白皮书", published_at=frozen_clock.now())
    session.commit()
    assert client.post(f"/api/v1/materials/{paper.id}/links", json={"customer_id": 1}).status_code == 401


def test_todays_material_carries_a_tracked_link_for_its_deals_customer(client, org, login, session, frozen_clock):
    frozen_clock.set(local(date(2026, 3, 2), 9))
    deck = material(session, "CT球管更换成本测算表", product_line="CT球管", published_at=frozen_clock.now())
    huashan = customer(session, org.rep, "华山医院")
    open_deal(
        session,
        org.rep,
        huashan,
        product_line="CT球管",
        stage="solution_demo",
        amount_yuan=500_000,
        stage_entered_at=frozen_clock.now() - timedelta(days=2),
    )
    session.commit()
    body = client.get("/api/v1/today", headers=login(org.rep)).get_json()
    picked = body["material"]
    assert picked["material_id"] == deck.id
    [link] = picked["share_links"]
    assert (link["customer_id"], link["customer_name"]) == (huashan.id, "华山医院")
    claims = radar.read_link(link["url"].rsplit("/r/", 1)[1])
    assert (claims.material_id, claims.customer_id, claims.rep_id, claims.contact_id) == (
        deck.id,
        huashan.id,
        org.rep.id,
        None,
    )


def test_an_id_too_large_for_any_table_is_not_found_not_a_server_error(client, org, login):
    answer = client.post("/api/v1/materials/99999999999999999999999/links", headers=login(org.rep), json={})
    assert answer.status_code == 404
