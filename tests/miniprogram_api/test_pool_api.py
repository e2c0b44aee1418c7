"""公海 through the API: the list with the asker's quota, a claim, a manager's assignment, each refusal in Chinese."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from salesnav.handlers import pool
from salesnav.models import PoolEntry
from tests import factories as f


def _pooled(session, org, frozen_clock, name: str) -> int:
    cust = f.customer(session, org.rep, name=name, grade="三乙")
    frozen_clock.advance(timedelta(days=46))
    pool.scan(session)
    frozen_clock.advance(timedelta(days=3))
    pool.scan(session)
    entry_id = session.scalars(select(PoolEntry.id).where(PoolEntry.customer_id == cust.id)).one()
    session.commit()
    return entry_id


def test_a_rep_sees_the_pool_and_claims_within_the_quota(client, org, login, session, frozen_clock):
    pool.claim_rate_limiter()[0].reset()
    entry_id = _pooled(session, org, frozen_clock, "六安市立医院")
    rep = login(org.other_rep)
    listed = client.get("/api/v1/pool", headers=rep).get_json()
    [item] = listed["items"]
    assert (item["entry_id"], item["name"], item["reason"], item["cooldown_until"]) == (
        entry_id,
        "六安市立医院",
        "长期未跟进",
        None,
    )
    assert listed["quota"] == {"claimed_today": 0, "claims_per_day": 5, "held": 0, "max_held": 200}
    assert (listed["can_assign"], listed["assignees"]) == (False, [])
    claimed = client.post(f"/api/v1/pool/{entry_id}/claim", headers=rep)
    assert claimed.status_code == 200
    assert claimed.get_json()["owner_name"] == "周销售"
    again = client.post(f"/api/v1/pool/{entry_id}/claim", headers=login(org.outsider_rep))
    assert again.status_code == 404 and "可能已被领取" in again.get_json()["message"]
    assert client.get("/api/v1/pool", headers=rep).get_json()["quota"]["claimed_today"] == 1


def test_the_previous_owner_is_refused_until_the_cool_down_ends(client, org, login, session, frozen_clock):
    entry_id = _pooled(session, org, frozen_clock, "六安市立医院")
    rep = login(org.rep)
    [item] = client.get("/api/v1/pool", headers=rep).get_json()["items"]
    assert item["cooldown_until"] is not None
    refused = client.post(f"/api/v1/pool/{entry_id}/claim", headers=rep)
    assert refused.status_code == 400 and "原负责人" in refused.get_json()["message"]


def test_a_manager_assigns_to_the_team_only(client, org, login, session, frozen_clock):
    entry_id = _pooled(session, org, frozen_clock, "苏州市肿瘤医院")
    manager = login(org.manager)
    listed = client.get("/api/v1/pool", headers=manager).get_json()
    assert listed["can_assign"] is True
    assert {a["name"] for a in listed["assignees"]} == {"钱主管", "李销售", "周销售"}
    outsider = client.post(f"/api/v1/pool/{entry_id}/assign", headers=manager, json={"rep_id": org.outsider_rep.id})
    assert outsider.status_code == 403 and "不在您的团队中" in outsider.get_json()["message"]
    by_rep = client.post(f"/api/v1/pool/{entry_id}/assign", headers=login(org.rep), json={"rep_id": org.rep.id})
    assert by_rep.status_code == 403
    assigned = client.post(f"/api/v1/pool/{entry_id}/assign", headers=manager, json={"rep_id": org.other_rep.id})
    assert assigned.status_code == 200 and assigned.get_json()["owner_name"] == "周销售"
    bad = client.post(f"/api/v1/pool/{entry_id}/assign", headers=manager, json={"rep_id": "x"})
    assert bad.status_code == 422


def test_a_rep_reads_the_brief_of_their_own_customer_only(client, org, login, session, frozen_clock):
    from salesnav import clock

    cust = f.customer(session, org.rep, name="无锡市人民医院")
    f.touchpoint(session, org.rep, cust, next_action="上门演示", next_action_due=clock.now() + timedelta(days=1))
    session.commit()
    brief = client.get(f"/api/v1/customers/{cust.id}/brief", headers=login(org.rep))
    assert brief.status_code == 200
    body = brief.get_json()
    assert body["customer"]["name"] == "无锡市人民医院" and body["what"] == "上门演示"
    assert body["people"][0]["role"] == "使用者" and body["text"].startswith("【拜访简报】「无锡市人民医院」")
    assert client.get(f"/api/v1/customers/{cust.id}/brief", headers=login(org.other_rep)).status_code == 404
