"""Tickets, tasks, annotations, materials and stages through the API, each with its scope."""

from __future__ import annotations

from datetime import timedelta

from salesnav import clock
from salesnav.handlers.opportunities import advance_stage, create_from_touchpoint
from salesnav.models import Material
from tests import factories as f


def _deal_in_sample_test(session, org):
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="超声", product_line="超声", expected_amount_fen=10_000_000
    )
    evidence = f.evidence_for(session, org.rep, "needs_confirmed", "solution_demo", "sample_test")
    advance_stage(session, org.rep, opportunity_id=opp.id, to_stage="sample_test", evidence=evidence)
    session.commit()
    return opp


def test_a_department_head_sees_and_answers_only_their_departments_part(client, org, login, session, frozen_clock):
    opp = _deal_in_sample_test(session, org)
    marketer = login(org.marketer)
    [ticket] = client.get("/api/v1/tickets", headers=marketer).get_json()["items"]
    assert ticket["opportunity_id"] == opp.id
    parts = {p["department_name"]: p["id"] for p in ticket["parts"]}
    refused = client.post(f"/api/v1/ticket-parts/{parts['交付部']}/answer", headers=marketer, json={"text": "好"})
    assert refused.status_code == 404
    answered = client.post(
        f"/api/v1/ticket-parts/{parts['交付部']}/answer",
        headers=login(org.deliverer),
        json={"text": "已排期", "schedule_date": "2026-03-10T09:00:00+08:00", "risks": "设备到货可能延迟"},
    )
    assert answered.status_code == 200 and answered.get_json()["status"] == "closed"
    assert client.get("/api/v1/tickets", headers=login(org.outsider_rep)).get_json()["total"] == 0


def test_the_rep_asks_marketing_for_enablement_on_their_ticket(client, org, login, session, frozen_clock):
    _deal_in_sample_test(session, org)
    rep = login(org.rep)
    [ticket] = client.get("/api/v1/tickets", headers=rep).get_json()["items"]
    response = client.post(
        f"/api/v1/tickets/{ticket['id']}/enablement-requests",
        headers=rep,
        json={"kind": "expert_live", "note": "请安排超声专家"},
    )
    assert response.status_code == 201 and response.get_json()["kind"] == "expert_live"
    assert client.get(f"/api/v1/tickets/{ticket['id']}", headers=login(org.outsider_rep)).status_code == 404


def test_marketing_answers_with_a_material_and_an_enablement_request_is_a_part_it_answers_the_same_way(
    client, org, login, session, frozen_clock, live_api
):
    opp = _deal_in_sample_test(session, org)
    material = Material(title="超声竞品对比", product_line="超声", tags=[], published_at=clock.now())
    retired = Material(title="旧版对比", tags=[], published_at=clock.now(), retired_at=clock.now())
    session.add_all([material, retired])
    session.commit()
    live_api.drain()
    [card] = [m["payload"] for m in live_api.emulator.sent("mkt01") if m["msgtype"] == "template_card"]
    assert card["main_title"]["desc"] == "提供竞品对比材料"  # the department heard of it when it opened

    marketer = login(org.marketer)
    [ticket] = client.get("/api/v1/tickets", headers=marketer).get_json()["items"]
    part_id = next(p["id"] for p in ticket["parts"] if p["department_name"] == "市场部")
    answer_url = f"/api/v1/ticket-parts/{part_id}/answer"
    refused = client.post(answer_url, headers=marketer, json={"material_ids": [retired.id]})
    assert refused.status_code == 400 and refused.get_json()["message"] == "所选素材不存在或已下架，请重新选择"
    answered = client.post(answer_url, headers=marketer, json={"material_ids": [material.id]})
    assert answered.status_code == 200
    assert answered.get_json()["status"] == "closed" and answered.get_json()["material_ids"] == [material.id]

    rep = login(org.rep)
    asked = client.post(f"/api/v1/tickets/{ticket['id']}/enablement-requests", headers=rep, json={"kind": "whitepaper"})
    assert asked.status_code == 201
    enablement_part = asked.get_json()["ticket_part_id"]
    detail = client.get(f"/api/v1/tickets/{ticket['id']}", headers=marketer).get_json()
    [part] = [p for p in detail["parts"] if p["id"] == enablement_part]
    assert part["enablement_request_id"] == asked.get_json()["id"] and part["sla_hours"] == 48
    assert part["request"] == "市场赋能请求：行业白皮书" and part["status"] == "open"
    live_api.drain()
    cards = [m["payload"] for m in live_api.emulator.sent("mkt01") if m["msgtype"] == "template_card"]
    assert cards[-1]["main_title"]["title"] == "市场赋能请求 · 行业白皮书"
    done = client.post(
        f"/api/v1/ticket-parts/{enablement_part}/answer", headers=marketer, json={"material_ids": [material.id]}
    )
    assert done.status_code == 200 and (done.get_json()["status"], done.get_json()["status_label"]) == (
        "closed",
        "已完成",
    )
    fulfilled = client.get(f"/api/v1/tickets/{ticket['id']}", headers=rep).get_json()["enablement_requests"]
    assert fulfilled[0]["fulfilled_at"] is not None and opp.id == ticket["opportunity_id"]


def test_tasks_are_created_listed_and_completed(client, org, login, frozen_clock):
    rep = login(org.rep)
    due = (clock.now() + timedelta(days=1)).isoformat()
    created = client.post("/api/v1/tasks", headers=rep, json={"title": "给设备科送样品", "due_at": due})
    assert created.status_code == 201 and created.get_json()["assignee_id"] == org.rep.id
    manager = login(org.manager)
    assigned = client.post("/api/v1/tasks", headers=manager, json={"title": "补齐报价单", "assignee_id": org.rep.id})
    assert assigned.status_code == 201
    assert (
        client.post(
            "/api/v1/tasks", headers=manager, json={"title": "越界", "assignee_id": org.outsider_rep.id}
        ).status_code
        == 404
    )
    assert client.get("/api/v1/tasks", headers=rep).get_json()["total"] == 2
    done = client.post(f"/api/v1/tasks/{created.get_json()['id']}/complete", headers=rep)
    assert done.status_code == 200 and done.get_json()["status"] == "done"
    open_only = client.get("/api/v1/tasks", headers=rep, query_string={"status": "open"}).get_json()
    assert [t["title"] for t in open_only["items"]] == ["补齐报价单"]
    assert client.get("/api/v1/tasks", headers=login(org.outsider_rep)).get_json()["total"] == 0


def test_a_manager_annotates_a_touchpoint_and_the_rep_reads_it(client, org, login, session, frozen_clock):
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    session.commit()
    note = client.post(
        "/api/v1/annotations", headers=login(org.manager), json={"touchpoint_id": tp.id, "text": "下次带上临床数据"}
    )
    assert note.status_code == 201, note.get_json()
    assert note.get_json()["recipient_id"] == org.rep.id
    rep = login(org.rep)
    listed = client.get("/api/v1/annotations", headers=rep, query_string={"touchpoint_id": tp.id}).get_json()
    assert [a["text"] for a in listed["items"]] == ["下次带上临床数据"]
    assert listed["items"][0]["author_name"] == "钱主管"
    refused = client.post("/api/v1/annotations", headers=rep, json={"touchpoint_id": tp.id, "text": "自评"})
    assert refused.status_code == 403
    assert client.get("/api/v1/annotations", headers=login(org.outsider_rep)).get_json()["total"] == 0


def test_materials_are_filtered_by_product_line_and_stage(client, org, login, session, frozen_clock):
    now = clock.now()
    session.add_all(
        [
            Material(title="CT球管白皮书", product_line="CT球管", stage_code="solution_demo", published_at=now),
            Material(title="超声案例", product_line="超声", stage_code="solution_demo", published_at=now),
            Material(title="通用公司介绍", published_at=now),
            Material(title="已下架", product_line="CT球管", published_at=now, retired_at=now),
        ]
    )
    session.commit()
    found = client.get(
        "/api/v1/materials", headers=login(org.rep), query_string={"product_line": "CT球管", "stage": "方案演示"}
    ).get_json()
    assert sorted(m["title"] for m in found["items"]) == ["CT球管白皮书", "通用公司介绍"]


def test_stages_list_their_checklists(client, org, login):
    stages = client.get("/api/v1/stages", headers=login(org.rep)).get_json()["items"]
    demo = next(s for s in stages if s["code"] == "solution_demo")
    assert [i["name"] for i in demo["checklist"]] == ["演示PPT", "客户问题清单", "内部资源协调记录"]
    assert demo["checklist"][0]["kind"] == "file"
