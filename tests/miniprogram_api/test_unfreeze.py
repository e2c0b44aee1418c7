"""POST /api/v1/opportunities/{id}/unfreeze: a director (or admin) lifts a credit freeze with a reason through the
API — the same handler as the chat, the page and the CLI; everyone else gets a Chinese refusal."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from salesnav.models import AuditEntry, Opportunity
from salesnav.models import session as db
from tests.rules.arrange import frozen_deal

REASON = "客户已签预付款协议，首付30%"


@pytest.fixture
def frozen_id(session, org, live_api, frozen_clock) -> int:
    return frozen_deal(session, org, live_api.drain)


def _url(opp_id: int) -> str:
    return f"/api/v1/opportunities/{opp_id}/unfreeze"


def _texts(live_api, userid: str) -> list[str]:
    return [m["payload"]["content"] for m in live_api.emulator.sent(userid) if m["msgtype"] == "text"]


def test_a_director_lifts_the_freeze_with_a_reason_and_rep_and_manager_are_told(
    client, login, frozen_id, live_api, org
):
    response = client.post(_url(frozen_id), headers=login(org.director), json={"reason": REASON})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["opportunity"]["approval_frozen"] is False and body["opportunity"]["stage"]["name"] == "商务谈判"
    assert body["waiver"]["amount_fen"] == 58_000_000 and body["waiver"]["waived_by_name"] == "赵总监"
    assert body["waiver"]["reason"] == REASON and body["waiver"]["frozen_reason"].startswith("客户近 12 个月按时回款率")
    assert body["notified"] == ["李销售", "钱主管"]
    assert body["message"].startswith("已解除客户「协和医院」的商机「CT球管更换」的审批冻结")
    live_api.drain()
    assert _texts(live_api, "rep01")[-1].startswith("【审批冻结已解除】销售总监赵总监已解除客户「协和医院」")
    assert _texts(live_api, "mgr01")[-1] == _texts(live_api, "rep01")[-1]
    with db.transaction() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "approval_unfreeze")).one()
        assert (entry.actor_id, entry.after["channel"]) == (org.director.id, "api")

    again = client.post(_url(frozen_id), headers=login(org.director), json={"reason": REASON})
    assert again.status_code == 409
    assert again.get_json() == {"error": "conflict", "message": "该商机的审批未被冻结（可能已被解除）"}


@pytest.mark.parametrize("who", ["rep", "manager", "marketer"])
def test_anyone_but_a_director_or_admin_is_refused_in_chinese(client, login, frozen_id, org, who):
    response = client.post(_url(frozen_id), headers=login(getattr(org, who)), json={"reason": REASON})
    assert response.status_code == 403
    assert response.get_json() == {"error": "forbidden", "message": "只有销售总监或管理员可以解除审批冻结"}
    with db.transaction() as s:
        assert s.get(Opportunity, frozen_id).approval_frozen


def test_an_admin_may_lift_it(client, login, frozen_id, org):
    response = client.post(_url(frozen_id), headers=login(org.admin), json={"reason": "按总监电话指示解除"})
    assert response.status_code == 200 and response.get_json()["waiver"]["waived_by_name"] == "管理员"


def test_a_reason_is_required(client, login, frozen_id, org):
    director = login(org.director)
    missing = client.post(_url(frozen_id), headers=director, json={})
    assert missing.status_code == 422 and missing.get_json()["message"] == "提交的内容有误：reason：必填"
    blank = client.post(_url(frozen_id), headers=director, json={"reason": "   "})
    assert blank.status_code == 400 and blank.get_json()["message"] == "请填写解除冻结的理由"
    too_long = client.post(_url(frozen_id), headers=director, json={"reason": "长" * 501})
    assert (
        too_long.status_code == 422 and too_long.get_json()["message"] == "提交的内容有误：reason：长度须在 1–500 之间"
    )
    with db.transaction() as s:
        assert s.get(Opportunity, frozen_id).approval_frozen


def test_an_unknown_deal_is_not_found(client, login, org):
    response = client.post(_url(987654), headers=login(org.director), json={"reason": REASON})
    assert response.status_code == 404 and response.get_json()["message"] == "商机不存在或您无权查看"


def test_the_openapi_document_describes_it_with_an_example(client):
    operation = client.get("/api/v1/openapi.json").get_json()["paths"][
        "/api/v1/opportunities/{opportunity_id}/unfreeze"
    ]["post"]
    assert operation["summary"] == "解除审批冻结（销售总监或管理员，须填写理由）"
    assert "金额发生变化，则再次提交时重新校验" in operation["description"]
    assert operation["requestBody"]["content"]["application/json"]["example"] == {"reason": REASON}
    assert {"200", "400", "403", "404", "409", "422"} <= set(operation["responses"])
