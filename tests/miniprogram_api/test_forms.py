"""The three forms through HTTP: touchpoint and opportunity create/read/update, an exhibition lead,
entry times, and a stage advance refused with the missing checklist items listed."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from salesnav import clock
from salesnav.models import AuditEntry, DomainEvent, Touchpoint
from tests import factories as f


def _customer(session, owner):
    cust = f.customer(session, owner, name="上海市第一人民医院")
    session.commit()
    return cust


def test_a_touchpoint_logged_from_the_form_keeps_its_entry_time(client, org, login, session, frozen_clock):
    cust = _customer(session, org.rep)
    rep = login(org.rep)
    # The phone's clock runs 3 minutes fast; the form stood open for 48 seconds.
    phone_now = clock.now() + timedelta(minutes=3)
    response = client.post(
        "/api/v1/touchpoints",
        headers=rep,
        json={
            "customer_id": cust.id,
            "type": "visit",
            "emotion": "positive",
            "summary": "设备科讨论CT球管更换",
            "contact_ids": [cust.contacts[0].id],
            "next_action": "周五送报价",
            "next_action_due": "2026-03-06T10:00:00+08:00",
            "form_opened_at": (phone_now - timedelta(seconds=48)).isoformat(),
            "submitted_at": phone_now.isoformat(),
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["type"], body["emotion"], body["source"]) == ("visit", "positive", "miniprogram")
    assert (body["type_label"], body["emotion_label"], body["source_label"]) == ("面访", "积极", "小程序")
    assert body["effective"] is True and body["customer_name"] == "上海市第一人民医院"
    stored = session.get(Touchpoint, body["id"])
    assert (stored.submitted_at - stored.form_opened_at) == timedelta(seconds=48)

    read = client.get(f"/api/v1/touchpoints/{body['id']}", headers=rep)
    assert read.status_code == 200 and read.get_json()["next_action"] == "周五送报价"


def test_a_time_without_offset_is_read_in_business_time(client, org, login, session, frozen_clock):
    cust = _customer(session, org.rep)
    response = client.post(
        "/api/v1/touchpoints",
        headers=login(org.rep),
        json={"customer_id": cust.id, "type": "phone", "next_action": "回电", "next_action_due": "2026-03-03T09:00:00"},
    )
    due = datetime.fromisoformat(response.get_json()["next_action_due"])
    assert due == datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


def test_the_rep_corrects_their_touchpoint_and_the_change_is_audited(client, org, login, session, frozen_clock):
    cust = _customer(session, org.rep)
    rep = login(org.rep)
    created = client.post(
        "/api/v1/touchpoints", headers=rep, json={"customer_id": cust.id, "type": "wechat"}
    ).get_json()
    response = client.patch(
        f"/api/v1/touchpoints/{created['id']}",
        headers=rep,
        json={"emotion": "resistant", "summary": "客户对价格不满", "next_action": "申请特价", "next_action_due": None},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["emotion"] == "resistant" and response.get_json()["summary"] == "客户对价格不满"
    audit = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "touchpoint")).one()
    assert audit.before["emotion"] == "neutral" and audit.after["emotion"] == "resistant"


def test_a_manager_reads_but_cannot_change_a_team_members_touchpoint(client, org, login, session, frozen_clock):
    cust = _customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    session.commit()
    manager = login(org.manager)
    assert client.get(f"/api/v1/touchpoints/{tp.id}", headers=manager).status_code == 200
    response = client.patch(f"/api/v1/touchpoints/{tp.id}", headers=manager, json={"summary": "改"})
    assert response.status_code == 403 and response.get_json()["message"] == "只能修改自己记录的触点"


def test_invalid_form_input_is_answered_field_by_field_in_chinese(client, org, login, session):
    response = client.post("/api/v1/touchpoints", headers=login(org.rep), json={"type": "飞鸽传书", "summary": 3})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation"
    assert body["fields"]["customer_id"] == ["必填"]
    assert body["fields"]["summary"] == ["必须是文字"]
    assert body["fields"]["type"][0].startswith("只能是：")
    assert body["message"].startswith("提交的内容有误：")


def test_a_domain_refusal_keeps_the_stable_error_shape(client, org, login, session, frozen_clock):
    cust = _customer(session, org.rep)
    response = client.post(
        "/api/v1/touchpoints",
        headers=login(org.rep),
        json={"customer_id": cust.id, "type": "visit", "next_action_due": "2026-03-06T10:00:00+08:00"},
    )
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid", "message": "填写了下一步时间，请同时写明下一步动作"}


def test_an_exhibition_lead_files_customer_contact_and_expo_touchpoint(client, org, login, session, frozen_clock):
    rep = login(org.rep)
    customer = client.post(
        "/api/v1/customers",
        headers=rep,
        json={
            "name": "苏州康华医疗器械有限公司",
            "kind": "distributor",
            "region": "苏州",
            "contacts": [{"name": "陈经理", "title": "采购", "phone": "138 1234 5678", "decision_role": "purchaser"}],
            "form_opened_at": (clock.now() - timedelta(seconds=30)).isoformat(),
            "submitted_at": clock.now().isoformat(),
        },
    )
    assert customer.status_code == 201, customer.get_json()
    cust = customer.get_json()
    assert cust["contacts"][0]["phone"] == "+8613812345678" and cust["kind"] == "distributor"
    tp = client.post(
        "/api/v1/touchpoints",
        headers=rep,
        json={
            "customer_id": cust["id"],
            "type": "expo",
            "summary": "展会：2026上海医疗器械展",
            "contact_ids": [cust["contacts"][0]["id"]],
        },
    )
    assert tp.status_code == 201 and tp.get_json()["type"] == "expo"
    found = client.get("/api/v1/customers", headers=rep, query_string={"phone": "12345678"}).get_json()
    assert [c["name"] for c in found["items"]] == ["苏州康华医疗器械有限公司"]
    entry = session.scalars(select(DomainEvent).where(DomainEvent.kind == "form.entered")).one()
    assert entry.payload == {"form": "customer", "entry_seconds": 30.0}


def test_customers_are_found_by_name_or_pinyin_initials(client, org, login, session):
    for name in ("上海市第一人民医院", "复旦大学附属华山医院", "苏州康华医疗器械有限公司"):
        f.customer(session, org.rep, name=name)
    session.commit()
    rep = login(org.rep)

    def names(**query):
        return [c["name"] for c in client.get("/api/v1/customers", headers=rep, query_string=query).get_json()["items"]]

    assert names(q="华山") == ["复旦大学附属华山医院"]
    assert names(q="rmyy") == ["上海市第一人民医院"]
    assert names(q="KH") == ["苏州康华医疗器械有限公司"]


def _opportunity(client, headers, session, owner):
    cust = _customer(session, owner)
    tp = client.post("/api/v1/touchpoints", headers=headers, json={"customer_id": cust.id, "type": "visit"}).get_json()
    response = client.post(
        "/api/v1/opportunities",
        headers=headers,
        json={
            "touchpoint_id": tp["id"],
            "title": "CT球管更换",
            "product_line": "CT球管",
            "expected_amount_fen": 58_000_000,
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_an_opportunity_is_created_from_a_touchpoint_and_read_back(client, org, login, session, frozen_clock):
    rep = login(org.rep)
    opp = _opportunity(client, rep, session, org.rep)
    assert opp["expected_amount_fen"] == 58_000_000 and opp["stage"]["name"] == "初步接触" and opp["status"] == "open"
    read = client.get(f"/api/v1/opportunities/{opp['id']}", headers=rep).get_json()
    assert read["title"] == "CT球管更换" and read["customer_name"] == "上海市第一人民医院"


def test_advancing_without_the_checklist_is_refused_with_the_missing_items(client, org, login, session, frozen_clock):
    rep = login(org.rep)
    opp = _opportunity(client, rep, session, org.rep)
    response = client.post(f"/api/v1/opportunities/{opp['id']}/advance", headers=rep, json={"to_stage": "需求确认"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "checklist_incomplete"
    assert body["missing"] == ["客户需求记录"]
    assert "无法进入「需求确认」：检查清单未完成，还缺：客户需求记录" in body["message"]


def test_checklist_evidence_can_point_to_uploaded_attachments(client, org, login, session, frozen_clock):
    from tests.miniprogram_api.test_attachments import png_bytes, pptx_bytes

    rep = login(org.rep)
    opp = _opportunity(client, rep, session, org.rep)
    stages = client.get("/api/v1/stages", headers=rep).get_json()["items"]
    demo = next(s for s in stages if s["name"] == "方案演示")
    items = {i["name"]: i["id"] for i in demo["checklist"]}

    def upload(data, name):
        return client.post("/api/v1/attachments", headers=rep, data={"file": (io.BytesIO(data), name)}).get_json()

    deck, questions = upload(pptx_bytes(), "演示.pptx"), upload(png_bytes(), "问题.png")
    # 需求确认 needs its own evidence first.
    needs = next(s for s in stages if s["name"] == "需求确认")
    assert (
        client.post(
            f"/api/v1/opportunities/{opp['id']}/advance",
            headers=rep,
            json={
                "to_stage": "需求确认",
                "evidence": [{"checklist_item_id": needs["checklist"][0]["id"], "text": "需要两支球管"}],
            },
        ).status_code
        == 200
    )
    response = client.post(
        f"/api/v1/opportunities/{opp['id']}/advance",
        headers=rep,
        json={
            "to_stage": "方案演示",
            "evidence": [
                {"checklist_item_id": items["演示PPT"], "attachment_id": deck["id"]},
                {"checklist_item_id": items["客户问题清单"], "attachment_id": questions["id"]},
                {"checklist_item_id": items["内部资源协调记录"], "text": "已约工程师周三到场"},
            ],
            "form_opened_at": (clock.now() - timedelta(minutes=1)).isoformat(),
        },
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["stage"]["name"] == "方案演示"
    assert {e["item_name"]: e["attachment_id"] for e in body["evidence"]}["演示PPT"] == deck["id"]
    history = client.get(f"/api/v1/opportunities/{opp['id']}/history", headers=rep).get_json()["items"]
    assert [(h["from_stage"] and h["from_stage"]["name"], h["to_stage"]["name"]) for h in history] == [
        (None, "初步接触"),
        ("初步接触", "需求确认"),
        ("需求确认", "方案演示"),
    ]
