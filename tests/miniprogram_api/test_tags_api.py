"""Customer tags and the lifecycle stage through the API: the customer shows them with codes and labels, a rep puts
a manual tag on and takes it off, a rule tag is refused in Chinese, another team's customer does not exist."""

from __future__ import annotations

from sqlalchemy import select

from salesnav.handlers import tags
from salesnav.jobs import customer_tags
from salesnav.models import CustomerEvent, TagKind
from tests import factories as f
from tests.handlers.battle_pack.arrange import won_deal
from tests.handlers.test_tags_and_lifecycle import GRADE_3A


def settled(session, live_api):
    """Commit, and run the recompute the admin's changes queued (as a worker would)."""
    session.commit()
    live_api.drain()


def test_a_rep_tags_a_customer_through_the_api_and_sees_tags_and_lifecycle(
    client, org, login, session, frozen_clock, live_api
):
    changzhou = f.customer(session, org.rep, name="常州妇幼保健院", grade="三级甲等")
    won_deal(session, org.rep, changzhou, product_line="超声", start=frozen_clock.now(), days=[0, 0, 0, 0, 0, 0])
    tags.save_definition(session, org.admin, label="重点客户", kind=TagKind.MANUAL)
    rule_tag = tags.save_definition(session, org.admin, label="三甲", kind=TagKind.RULE, rule=GRADE_3A)
    settled(session, live_api)
    customer_tags.recompute(changzhou.id)  # the deal won: what the clock's next run would do
    rep = login(org.rep)

    listed = client.get("/api/v1/tags", headers=rep).get_json()["items"]
    assert [(t["label"], t["kind"], t["kind_label"]) for t in listed] == [
        ("重点客户", "manual", "手动标签"),
        ("三甲", "rule", "规则标签"),
    ]

    put = client.post(f"/api/v1/customers/{changzhou.id}/tags", json={"tag": "重点客户"}, headers=rep)
    assert put.status_code == 200
    assert (put.get_json()["label"], put.get_json()["source"], put.get_json()["source_label"]) == (
        "重点客户",
        "manual",
        "手动添加",
    )
    shown = client.get(f"/api/v1/customers/{changzhou.id}", headers=rep).get_json()
    assert [(t["code"], t["label"], t["source_label"]) for t in shown["tag_list"]] == [
        (rule_tag.code, "三甲", "规则计算"),
        ("zdkh", "重点客户", "手动添加"),
    ]
    assert shown["tags"] == ["三甲", "重点客户"]
    assert (shown["lifecycle"], shown["lifecycle_label"]) == ("trial", "新客户试用期")
    page = client.get("/api/v1/customers", headers=rep).get_json()
    assert [t["label"] for t in page["items"][0]["tag_list"]] == ["三甲", "重点客户"]

    refused = client.post(f"/api/v1/customers/{changzhou.id}/tags", json={"tag": "三甲"}, headers=rep)
    assert refused.status_code == 409
    assert refused.get_json()["message"] == "「三甲」是按规则自动计算的标签，不能手动添加或去掉。"
    unknown = client.post(f"/api/v1/customers/{changzhou.id}/tags", json={"tag": "VIP"}, headers=rep)
    assert unknown.status_code == 404 and unknown.get_json()["message"].startswith("没有名为「VIP」的标签")
    empty = client.post(f"/api/v1/customers/{changzhou.id}/tags", json={"tag": ""}, headers=rep)
    assert empty.status_code == 422

    outsider = login(org.outsider_rep)
    assert (
        client.post(f"/api/v1/customers/{changzhou.id}/tags", json={"tag": "重点客户"}, headers=outsider).status_code
        == 404
    )
    assert client.delete(f"/api/v1/customers/{changzhou.id}/tags/zdkh", headers=outsider).status_code == 404

    assert client.delete(f"/api/v1/customers/{changzhou.id}/tags/重点客户", headers=rep).status_code == 204
    assert client.delete(f"/api/v1/customers/{changzhou.id}/tags/zdkh", headers=rep).status_code == 204
    shown = client.get(f"/api/v1/customers/{changzhou.id}", headers=rep).get_json()
    assert [t["label"] for t in shown["tag_list"]] == ["三甲"]
    kinds = session.scalars(
        select(CustomerEvent.kind)
        .where(CustomerEvent.customer_id == changzhou.id, CustomerEvent.payload["tag"].as_string() == "zdkh")
        .order_by(CustomerEvent.id)
    ).all()
    assert kinds == ["tag.added", "tag.removed"]


def test_a_customer_filed_with_a_label_holds_it_as_a_manual_tag(client, org, login):
    rep = login(org.rep)
    filed = client.post("/api/v1/customers", json={"name": "展会线索医院", "tags": ["2026医博会"]}, headers=rep)
    assert filed.status_code == 201
    assert [(t["label"], t["kind"]) for t in filed.get_json()["tag_list"]] == [("2026医博会", "manual")]
    assert filed.get_json()["tags"] == ["2026医博会"]
