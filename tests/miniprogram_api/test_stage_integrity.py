"""Through the API a deal moves only as the process allows: a jump over several stages needs the evidence of each
stage it passes (or a manager's reason for each), a file item needs a file, and what a stage sets off — the
collaboration ticket at 样品测试, the credit check at 合同审批 — happens when it is passed as when it is entered."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from salesnav import clock
from salesnav.metrics.pipeline import process_compliance
from salesnav.metrics.scope import Scope, Window
from salesnav.models import Payment, Receivable
from tests import factories as f
from tests.miniprogram_api.test_attachments import png_bytes, pptx_bytes

ALL_OPEN_STAGES = ["需求确认", "方案演示", "样品测试", "商务谈判", "合同审批"]


def _deal(client, headers, session, owner, amount_fen=58_000_000):
    cust = f.customer(session, owner, name="常州市第二人民医院")
    session.commit()
    tp = client.post("/api/v1/touchpoints", headers=headers, json={"customer_id": cust.id, "type": "visit"}).get_json()
    response = client.post(
        "/api/v1/opportunities",
        headers=headers,
        json={
            "touchpoint_id": tp["id"],
            "title": "CT球管更换",
            "product_line": "CT球管",
            "expected_amount_fen": amount_fen,
        },
    )
    assert response.status_code == 201, response.get_json()
    return cust, response.get_json()


def _items(client, headers):
    """Stage name → {item name: (item id, kind)} as the client reads them."""
    stages = client.get("/api/v1/stages", headers=headers).get_json()["items"]
    return {s["name"]: {i["name"]: (i["id"], i["kind"]) for i in s["checklist"]} for s in stages}


def _upload(client, headers, data, name):
    response = client.post("/api/v1/attachments", headers=headers, data={"file": (io.BytesIO(data), name)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _full_evidence(client, headers, *stage_names):
    checklists = _items(client, headers)
    evidence = []
    for stage in stage_names:
        for name, (item_id, kind) in checklists[stage].items():
            if kind == "file":
                evidence.append(
                    {
                        "checklist_item_id": item_id,
                        "attachment_id": _upload(client, headers, png_bytes(), f"{name}.png"),
                    }
                )
            else:
                evidence.append({"checklist_item_id": item_id, "text": f"{name}已整理"})
    return evidence


def _advance(client, headers, opp, **body):
    return client.post(f"/api/v1/opportunities/{opp['id']}/advance", headers=headers, json=body)


def test_a_jump_from_first_contact_to_won_is_refused_stage_by_stage_and_changes_nothing(
    client, org, login, session, frozen_clock
):
    rep = login(org.rep)
    _, opp = _deal(client, rep, session, org.rep)
    response = _advance(client, rep, opp, to_stage="赢单")
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "checklist_incomplete"
    assert [s["stage"] for s in body["stages"]] == ALL_OPEN_STAGES
    assert {"stage": "样品测试", "missing": ["样品申请单"]} in body["stages"]
    assert body["message"].startswith("无法推进到「赢单」：途经阶段的检查清单未完成")
    after = client.get(f"/api/v1/opportunities/{opp['id']}", headers=rep).get_json()
    assert (after["stage"]["name"], after["status"]) == ("初步接触", "open")
    history = client.get(f"/api/v1/opportunities/{opp['id']}/history", headers=rep).get_json()["items"]
    assert len(history) == 1
    assert client.get("/api/v1/tickets", headers=rep).get_json()["items"] == []


def test_a_file_item_cannot_be_ticked_or_described_and_the_refusal_names_it(client, org, login, session, frozen_clock):
    rep = login(org.rep)
    _, opp = _deal(client, rep, session, org.rep)
    items = _items(client, rep)
    need_id, _ = items["需求确认"]["客户需求记录"]
    deck_id, _ = items["方案演示"]["演示PPT"]
    for given in ({"checked": True}, {"text": "已发给客户"}):
        response = _advance(
            client,
            rep,
            opp,
            to_stage="方案演示",
            evidence=[{"checklist_item_id": need_id, "text": "两支球管"}, {"checklist_item_id": deck_id, **given}],
        )
        assert response.status_code == 400
        assert response.get_json()["message"] == "「演示PPT」需要上传文件（图片、PDF 或 PPT），勾选或文字不能代替"
    voice = _upload(client, rep, b"#!SILK_V3" + b"\x00" * 64, "语音.silk")
    response = _advance(
        client, rep, opp, to_stage="方案演示", evidence=[{"checklist_item_id": deck_id, "attachment_id": voice}]
    )
    assert (
        response.status_code == 400
        and response.get_json()["message"] == "「演示PPT」的附件类型不符：请上传图片、PDF 或 PPT"
    )


def test_a_file_item_refuses_a_file_another_rep_uploaded(client, org, login, session, frozen_clock):
    rep, outsider = login(org.rep), login(org.outsider_rep)
    _, opp = _deal(client, rep, session, org.rep)
    theirs = _upload(client, outsider, pptx_bytes(), "别人的演示.pptx")
    deck_id, _ = _items(client, rep)["方案演示"]["演示PPT"]
    evidence = [e for e in _full_evidence(client, rep, "需求确认", "方案演示") if e["checklist_item_id"] != deck_id]
    evidence.append({"checklist_item_id": deck_id, "attachment_id": theirs})
    response = _advance(client, rep, opp, to_stage="方案演示", evidence=evidence)
    assert response.status_code == 400
    assert response.get_json()["message"] == "「演示PPT」的附件不存在或您无权使用，请重新上传"


def test_a_jump_with_the_evidence_of_every_stage_passed_goes_through_and_opens_the_ticket(
    client, org, login, session, frozen_clock
):
    rep = login(org.rep)
    _, opp = _deal(client, rep, session, org.rep)
    evidence = _full_evidence(client, rep, "需求确认", "方案演示", "样品测试", "商务谈判")
    response = _advance(client, rep, opp, to_stage="商务谈判", evidence=evidence)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["stage"]["name"] == "商务谈判"
    [row] = client.get(f"/api/v1/opportunities/{opp['id']}/history", headers=rep).get_json()["items"][1:]
    assert (row["from_stage"]["name"], row["to_stage"]["name"], row["checklist_complete"]) == (
        "初步接触",
        "商务谈判",
        True,
    )
    [ticket] = client.get("/api/v1/tickets", headers=rep).get_json()["items"]
    assert ticket["opportunity_id"] == opp["id"]
    assert {p["department_name"] for p in ticket["parts"]} == {"市场部", "交付部"}


def test_a_manager_skipping_stages_gives_a_reason_for_each_and_the_move_counts_as_non_compliant(
    client, org, login, session, frozen_clock
):
    rep, manager = login(org.rep), login(org.manager)
    _, opp = _deal(client, rep, session, org.rep)
    refused = _advance(client, rep, opp, to_stage="方案演示", override_reason="急", override_reasons={"需求确认": "急"})
    assert refused.status_code == 403 and refused.get_json()["message"] == "只有销售主管及以上可以跳过检查清单"
    one_reason = _advance(client, manager, opp, to_stage="方案演示", override_reason="客户要求尽快演示")
    assert one_reason.status_code == 422
    assert [s["stage"] for s in one_reason.get_json()["stages"]] == ["需求确认"]
    reasons = {"需求确认": "客户口头确认需求，纪要后补"}
    response = _advance(
        client, manager, opp, to_stage="方案演示", override_reason="线上演示已完成", override_reasons=reasons
    )
    assert response.status_code == 200, response.get_json()
    row = client.get(f"/api/v1/opportunities/{opp['id']}/history", headers=manager).get_json()["items"][-1]
    assert row["checklist_complete"] is False
    assert row["override_reason"] == "需求确认：客户口头确认需求，纪要后补；方案演示：线上演示已完成"
    now = clock.now()
    compliance = process_compliance(
        session, Window(now - timedelta(days=1), now + timedelta(days=1)), Scope.rep(org.rep)
    )
    assert (compliance.numerator, compliance.denominator) == (0, 1)


def test_a_big_deal_of_a_late_paying_customer_cannot_be_won_by_jumping_past_contract_approval(
    client, org, login, session, frozen_clock
):
    """A large deal (987k) whose customer paid 4 of 7 receivables on time (57 %)."""
    rep, manager = login(org.rep), login(org.manager)
    cust, opp = _deal(client, rep, session, org.rep, amount_fen=98_700_000)
    today = clock.now().date()
    for n in range(7):
        due = today - timedelta(days=30 * (n + 1))
        receivable = Receivable(customer_id=cust.id, invoice_no=f"INV-{n}", amount_fen=1_000_000, due_date=due)
        session.add(receivable)
        session.flush()
        paid = due - timedelta(days=1) if n < 4 else due + timedelta(days=20)
        at = datetime.combine(paid, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
        session.add(Payment(receivable_id=receivable.id, amount_fen=1_000_000, paid_at=at))
    session.commit()
    reasons = {stage: "测试跳过" for stage in ALL_OPEN_STAGES}
    response = _advance(client, manager, opp, to_stage="赢单", override_reasons=reasons)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "approval_frozen" and "57.1%" in body["message"]
    after = client.get(f"/api/v1/opportunities/{opp['id']}", headers=rep).get_json()
    assert (after["stage"]["name"], after["status"]) == ("初步接触", "open")
