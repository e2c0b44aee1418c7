"""The brief before a visit: sent once, the lead time before the visit is due, to the visit's rep only, with
the three likely objections of similar deals (how often, and what preceded a win), the open items, the people
and the stage's talk track; and a new talk track reaching the reps whose deals are in its stage, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers import objections, rule_settings, visit_brief
from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.models import (
    DecisionRole,
    Emotion,
    Material,
    OpportunityStatus,
    OutboundMessage,
    Task,
    TaskStatus,
    VisitBrief,
)
from tests import factories as f


@pytest.fixture
def org(session):
    return f.org(session)


def _texts_to(session, userid: str) -> list[str]:
    rows = session.scalars(
        select(OutboundMessage).where(OutboundMessage.recipient_userid == userid).order_by(OutboundMessage.id)
    )
    return [row.body["content"] for row in rows]


def _deal(session, rep, cust, line="CT球管", **touch):
    tp = f.touchpoint(session, rep, cust, **touch)
    return create_from_touchpoint(
        session, rep, touchpoint_id=tp.id, title=f"{line}项目", product_line=line, expected_amount_fen=10_000_000
    )


def _history(session, org, frozen_clock):
    """Similar deals (CT球管, 三甲, 初步接触) of another rep: price came up 3 times, budget twice, and one won
    deal answered price with the cost sheet. A 超声 deal's objections must not count."""
    for n, (summary, answer) in enumerate(
        [
            ("对价格不满意，认为比竞品贵", "发送CT球管更换成本测算表"),
            ("嫌价格贵", "发送CT球管更换成本测算表"),
            ("价格偏高", "申请特价"),
            ("今年预算已冻结", None),
            ("等待预算批复", None),
        ]
    ):
        cust = f.customer(session, org.other_rep, grade="三甲")
        deal = _deal(session, org.other_rep, cust)
        f.touchpoint(
            session,
            org.other_rep,
            cust,
            opportunity_id=deal.id,
            emotion=Emotion.RESISTANT,
            summary=summary,
            next_action=answer,
            next_action_due=clock.now() + timedelta(days=1) if answer else None,
        )
        if n < 2:
            deal.status = OpportunityStatus.WON
    other = f.customer(session, org.other_rep, grade="三甲")
    ultrasound = _deal(session, org.other_rep, other, line="超声")
    for _ in range(6):
        f.touchpoint(session, org.other_rep, other, opportunity_id=ultrasound.id, summary="交付周期有顾虑")
    frozen_clock.advance(timedelta(hours=1))


def test_objections_are_read_from_the_summary():
    assert objections.objections_in("对价格不满意，认为比竞品贵15%") == ["价格偏高", "倾向竞品或原供应商"]
    assert objections.objections_in("表示今年预算已冻结") == ["预算受限"]
    assert objections.objections_in("同意安排科室试用") == []


def test_the_brief_comes_at_the_lead_time_once_and_to_the_visits_rep_only(session, org, frozen_clock):
    _history(session, org, frozen_clock)
    cust = f.customer(session, org.rep, name="无锡市人民医院", grade="三甲", roles=(DecisionRole.VETO,))
    deal = _deal(session, org.rep, cust)
    f.touchpoint(
        session,
        org.rep,
        cust,
        opportunity_id=deal.id,
        summary="沟通报价",
        next_action="上门讲解方案",
        next_action_due=clock.now() + timedelta(hours=3),
    )
    assert visit_brief.send_due(session) == 0  # 3 h ahead; the lead is 2 h
    frozen_clock.advance(timedelta(hours=1, minutes=1))
    assert visit_brief.send_due(session) == 1
    assert visit_brief.send_due(session) == 0
    [brief] = session.scalars(select(VisitBrief)).all()
    assert brief.rep_id == org.rep.id
    [text] = _texts_to(session, "rep01")
    assert "【拜访简报】无锡市人民医院「CT球管项目」" in text and "事项：上门讲解方案" in text
    assert "1. 价格偏高：出现 3 次" in text
    assert "赢单前的应对：发送CT球管更换成本测算表（2 次）" in text
    assert "2. 预算受限：出现 2 次" in text
    assert "交付周期" not in text  # another product line's objections
    assert "依据同产品线、同客户等级、同阶段的商机" in text
    assert "联系人1（设备科，否决者）" in text
    assert not any("拜访简报" in t for t in _texts_to(session, "rep02"))


def test_a_superseded_next_action_gets_no_brief(session, org, frozen_clock):
    cust = f.customer(session, org.rep)
    f.touchpoint(session, org.rep, cust, next_action="演示", next_action_due=clock.now() + timedelta(hours=1))
    frozen_clock.advance(timedelta(minutes=5))
    f.touchpoint(session, org.rep, cust, summary="电话沟通")
    assert visit_brief.send_due(session) == 0


def test_a_task_about_a_customer_is_a_visit_and_other_tasks_are_open_items(session, org, frozen_clock):
    cust = f.customer(session, org.rep, name="常州市第二人民医院")
    deal = _deal(session, org.rep, cust, line="DR设备")
    session.add_all(
        [
            Task(
                assignee_id=org.rep.id,
                title="拜访设备科",
                due_at=clock.now() + timedelta(minutes=90),
                subject_type="customer",
                subject_id=cust.id,
            ),
            Task(assignee_id=org.rep.id, title="补报价单", subject_type="opportunity", subject_id=deal.id),
            Task(
                assignee_id=org.rep.id,
                title="已完成的事",
                status=TaskStatus.DONE,
                subject_type="customer",
                subject_id=cust.id,
            ),
        ]
    )
    session.flush()
    assert visit_brief.send_due(session) == 1
    [text] = _texts_to(session, "rep01")
    assert "事项：拜访设备科" in text and "待办：补报价单" in text and "已完成的事" not in text
    assert "进入「需求确认」还缺：客户需求记录" in text
    assert "历史中还没有相似商机的异议记录" in text


def test_the_lead_time_is_a_setting(session, org, frozen_clock):
    rule_settings.update(session, org.admin, "brief.lead_minutes", 300)
    cust = f.customer(session, org.rep)
    f.touchpoint(session, org.rep, cust, next_action="演示", next_action_due=clock.now() + timedelta(hours=4))
    assert visit_brief.send_due(session) == 1


def _talk_track(session, title, line="CT球管", stage="initial_contact"):
    material = Material(
        title=title,
        product_line=line,
        stage_code=stage,
        tags=["话术"],
        url="https://example.test/t",
        published_at=clock.now(),
    )
    session.add(material)
    session.flush()
    return material


def test_a_new_talk_track_reaches_the_reps_with_deals_in_its_stage_once(session, org, frozen_clock):
    _deal(session, org.rep, f.customer(session, org.rep))
    _deal(session, org.rep, f.customer(session, org.rep))
    _deal(session, org.outsider_rep, f.customer(session, org.outsider_rep), line="超声")
    _talk_track(session, "《CT球管初次拜访话术》")
    assert visit_brief.deliver_talk_tracks(session) == 1  # one rep, once though two deals
    assert visit_brief.deliver_talk_tracks(session) == 0
    [text] = _texts_to(session, "rep01")
    assert "【新话术】" in text and "《CT球管初次拜访话术》" in text
    assert _texts_to(session, "rep03") == []
    frozen_clock.advance(timedelta(days=1))
    _talk_track(session, "《CT球管初次拜访话术（第二版）》")
    assert visit_brief.deliver_talk_tracks(session) == 1
    assert "第二版" in _texts_to(session, "rep01")[-1]


def test_the_brief_carries_the_newest_talk_track_of_the_stage(session, org, frozen_clock):
    cust = f.customer(session, org.rep)
    deal = _deal(session, org.rep, cust)
    _talk_track(session, "《旧话术》")
    frozen_clock.advance(timedelta(minutes=1))
    _talk_track(session, "《新话术》")
    _talk_track(session, "《谈判话术》", stage="negotiation")
    f.touchpoint(
        session,
        org.rep,
        cust,
        opportunity_id=deal.id,
        next_action="拜访",
        next_action_due=clock.now() + timedelta(hours=1),
    )
    visit_brief.send_due(session)
    [text] = [t for t in _texts_to(session, "rep01") if "拜访简报" in t]
    assert "本阶段话术：《新话术》" in text


def test_prediction_widens_to_the_line_when_the_group_is_small():
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    signals = [objections.ObjectionSignal(at, "价格偏高", "CT", "三乙", 1, False, None) for _ in range(5)]
    signals.append(objections.ObjectionSignal(at, "预算受限", "CT", "三甲", 1, False, None))
    prediction = objections.predict(signals, product_line="CT", grade="三甲", stage_id=1, min_similar=5)
    assert prediction.group == "同产品线、同阶段的商机"
    assert [o.objection for o in prediction.objections] == ["价格偏高", "预算受限"]
    assert objections.predict(signals, product_line="CT", grade="三甲", stage_id=1, before=at).objections == []


def test_what_the_rep_came_for_is_no_objection():
    assert objections.objections_in("讨论CT球管配置清单，需要内部再讨论") == ["内部决策未定"]
    assert objections.objections_in("回访超声售后满意度") == []
    assert objections.objections_in("解答DR设备技术参数疑问") == []


def test_a_small_groups_one_off_does_not_outvote_the_company():
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    company = [objections.ObjectionSignal(at, "预算受限", "DR", "三甲", 2, False, None) for _ in range(200)]
    group = [objections.ObjectionSignal(at, name, "CT", "三甲", 1, False, None) for name in ("价格偏高", "预算受限")]
    group += [objections.ObjectionSignal(at, "价格偏高", "CT", "三甲", 1, False, None) for _ in range(2)]
    group += [objections.ObjectionSignal(at, "交付周期顾虑", "CT", "三甲", 1, False, None) for _ in range(2)]
    prediction = objections.predict(company + group, product_line="CT", grade="三甲", stage_id=1)
    # Seven objections are too few to overrule what the whole company hears: 预算 first, though heard once here.
    assert [o.objection for o in prediction.objections] == ["预算受限", "价格偏高", "交付周期顾虑"]
    assert [o.count for o in prediction.objections] == [1, 3, 2]
    group += [objections.ObjectionSignal(at, "价格偏高", "CT", "三甲", 1, False, None) for _ in range(60)]
    prediction = objections.predict(company + group, product_line="CT", grade="三甲", stage_id=1)
    assert prediction.objections[0].objection == "价格偏高"  # a group that truly differs does
