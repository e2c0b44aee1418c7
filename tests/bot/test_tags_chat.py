"""Customer tags from the chat, through the callback and the emulator: 「标签 常州妇幼 重点客户」, 去标签, and the
customer's tags and lifecycle stage shown where the chat shows the customer (标签 客户, 诊断)."""

from __future__ import annotations

from sqlalchemy import select

from salesnav.handlers import tags
from salesnav.models import Customer, CustomerEvent, LifecycleStage, TagKind
from salesnav.models import session as db
from tests import factories as f
from tests.bot.chat import Chat

GRADE_3A = {"conditions": [{"type": "field", "field": "grade", "op": "in", "value": ["三级甲等", "三甲"]}]}


def settled(session, live_app):
    """Commit, and run the recompute the admin's change queued (as a worker would)."""
    session.commit()
    live_app.drain()


def held(customer_id):
    with db.transaction() as s:
        return [t.label for t in tags.customer_tags(s, customer_id)], s.get(Customer, customer_id).tags


def tag_events(customer_id):
    with db.transaction() as s:
        return [
            (e.kind, e.payload["label"])
            for e in s.scalars(
                select(CustomerEvent)
                .where(CustomerEvent.customer_id == customer_id, CustomerEvent.kind.like("tag.%"))
                .order_by(CustomerEvent.id)
            )
        ]


def test_a_rep_tags_a_customer_in_the_chat_and_takes_the_tag_off_again(session, frozen_clock, live_app):
    org = f.org(session)
    changzhou = f.customer(session, org.rep, name="常州妇幼保健院")
    tags.save_definition(session, org.admin, label="重点客户", kind=TagKind.MANUAL)
    tags.save_definition(session, org.admin, label="三甲", kind=TagKind.RULE, rule=GRADE_3A)
    settled(session, live_app)  # the new rule tag's recompute: 三甲 on the customer
    rep = Chat(live_app, "rep01")

    rep.say("标签 常州妇幼 重点客户")
    assert rep.last_text() == "✅ 常州妇幼保健院 已加上标签：重点客户\n标签：三甲、重点客户"
    assert held(changzhou.id) == (["三甲", "重点客户"], ["三甲", "重点客户"])

    rep.say("标签 常州妇幼 三甲")  # a rule tag is the rule's: refused, nothing written
    assert rep.last_text() == "「三甲」是按规则自动计算的标签，不能手动添加或去掉。"
    rep.say("标签 常州妇幼 VIP")
    assert rep.last_text().startswith("没有名为「VIP」的标签。可用的标签：重点客户。")

    with db.transaction() as s:
        s.get(Customer, changzhou.id).lifecycle_stage = LifecycleStage.TRIAL
    rep.say("标签 常州妇幼")
    assert rep.last_text() == "常州妇幼保健院\n标签：三甲、重点客户 · 生命周期：新客户试用期"

    rep.say("诊断 常州妇幼")
    lines = rep.last_text().split("\n")
    assert (
        lines[0].startswith("【客户健康度诊断】常州妇幼保健院")
        and lines[1] == "标签：三甲、重点客户 · 生命周期：新客户试用期"
    )

    rep.say("去标签 常州妇幼 重点客户")
    assert rep.last_text() == "✅ 常州妇幼保健院 已去掉标签：重点客户\n标签：三甲 · 生命周期：新客户试用期"
    assert held(changzhou.id) == (["三甲"], ["三甲"])
    assert tag_events(changzhou.id) == [("tag.added", "三甲"), ("tag.added", "重点客户"), ("tag.removed", "重点客户")]


def test_another_reps_customer_cannot_be_tagged_from_the_chat(session, frozen_clock, live_app):
    org = f.org(session)
    f.customer(session, org.rep, name="常州妇幼保健院")
    f.customer(session, org.other_rep, name="无锡人民医院")
    tags.save_definition(session, org.admin, label="重点客户", kind=TagKind.MANUAL)
    settled(session, live_app)
    other = Chat(live_app, "rep02")
    other.say("标签 常州妇幼保健院 重点客户")
    assert other.last_text().startswith("没有找到客户「常州妇幼保健院」")
    other.say("标签")
    assert other.last_text() == "请写上客户名称和标签，例如：标签 常州妇幼 重点客户；只写客户名称可查看其标签"
