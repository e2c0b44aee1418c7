"""客户健康度诊断 on hand-built customers: each finding and each recommendation, the colour, the use count
and who may ask (a rep only for their own customers)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from salesnav import clock
from salesnav.demo.win_history import write_history
from salesnav.handlers import win_probability
from salesnav.handlers.collaboration import open_ticket
from salesnav.handlers.diagnosis import BAD, OK, WARN, Diagnosis, describe, diagnose
from salesnav.handlers.errors import NotFound
from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.handlers.stages import stage_by_code
from salesnav.metrics import management
from salesnav.metrics.scope import Scope, Window
from salesnav.models import (
    Contact,
    Customer,
    DecisionRole,
    DomainEvent,
    Emotion,
    Health,
    Opportunity,
    OpportunityStatus,
    Payment,
    Receivable,
    StageTransition,
    Touchpoint,
)
from tests import factories as f

R = DecisionRole


@pytest.fixture
def org(session, frozen_clock):
    return f.org(session)


def _contacts(customer: Customer) -> dict[DecisionRole, Contact]:
    return {c.decision_role: c for c in customer.contacts if c.decision_role}


def _touch(session, org, customer, emotion, days_ago, roles=(), **kw) -> Touchpoint:
    people = [_contacts(customer)[r] for r in roles]
    return f.touchpoint(
        session,
        org.rep,
        customer,
        occurred_at=clock.now() - timedelta(days=days_ago),
        emotion=emotion,
        contact_ids=[c.id for c in people],
        **kw,
    )


def _finding(diagnosis: Diagnosis, area: str) -> tuple[str, str]:
    [found] = [(x.severity, x.text) for x in diagnosis.findings if x.area == area]
    return found


def _healthy(session, org, name="华山医院") -> Customer:
    customer = f.customer(session, org.rep, name=name, roles=(R.INFLUENCER, R.PURCHASER, R.USER, R.VETO))
    for days, role in ((9, R.VETO), (6, R.PURCHASER), (3, R.INFLUENCER), (1, R.USER)):
        _touch(session, org, customer, Emotion.POSITIVE, days, roles=(role,))
    return customer


def test_a_healthy_customer_is_green_with_two_steps_to_keep_the_rhythm(session, org):
    customer = _healthy(session, org)
    diagnosis = diagnose(session, org.rep, customer.id)
    assert diagnosis.health is Health.GREEN
    assert _finding(diagnosis, "emotion") == (OK, "最近 4 次触点情绪保持积极（积极 → 积极 → 积极 → 积极）")
    assert _finding(diagnosis, "decision_chain") == (OK, "决策链已覆盖 4/4 个角色（影响者、采购者、使用者、否决者）")
    assert _finding(diagnosis, "payment") == (OK, "近 12 个月没有到期应收，暂无回款率")
    assert len(diagnosis.next_steps) == 2 and diagnosis.next_steps[0].startswith("保持每周至少一次有效触点")


def test_four_resistant_touchpoints_of_five_are_never_called_steady(session, org):
    customer = f.customer(session, org.rep, name="六安市立医院", roles=(R.USER,))
    for days, emotion in ((12, Emotion.RESISTANT), (9, Emotion.RESISTANT), (6, Emotion.POSITIVE)):
        _touch(session, org, customer, emotion, days, roles=(R.USER,))
    for days in (4, 2):
        _touch(session, org, customer, Emotion.RESISTANT, days, roles=(R.USER,))

    severity, text = _finding(diagnose(session, org.rep, customer.id), "emotion")

    assert severity == BAD and "平稳" not in text
    assert text == "最近 5 次触点情绪持续低迷（抵触 → 抵触 → 积极 → 抵触 → 抵触），其中 4 次抵触"


def test_falling_emotion_with_resistance_is_bad_and_asks_for_a_face_to_face_visit(session, org):
    customer = f.customer(session, org.rep, name="协和医院", roles=(R.USER, R.PURCHASER, R.INFLUENCER, R.VETO))
    _touch(session, org, customer, Emotion.POSITIVE, 12, roles=(R.VETO, R.INFLUENCER))
    _touch(session, org, customer, Emotion.NEUTRAL, 8, roles=(R.PURCHASER,))
    _touch(session, org, customer, Emotion.RESISTANT, 5, roles=(R.USER,), summary="主任嫌价格高，不想换供应商")
    _touch(session, org, customer, Emotion.RESISTANT, 2, roles=(R.USER,), summary="主任再次表示预算不够")

    diagnosis = diagnose(session, org.rep, customer.id)

    assert diagnosis.emotion.trend == "falling" and diagnosis.emotion.resistant == 2
    assert _finding(diagnosis, "emotion") == (BAD, "最近 4 次触点情绪走低（积极 → 中性 → 抵触 → 抵触），其中 2 次抵触")
    assert (
        diagnosis.next_steps[0]
        == "本周安排一次面访，当面弄清联系人1的顾虑（上次记录：主任再次表示预算不够），并请主管一同参加"
    )


def test_a_missing_veto_contact_is_named_and_finding_one_is_recommended(session, org):
    customer = f.customer(session, org.rep, name="瑞金医院", roles=(R.USER, R.PURCHASER))
    _touch(session, org, customer, Emotion.POSITIVE, 3, roles=(R.USER, R.PURCHASER))

    diagnosis = diagnose(session, org.rep, customer.id)

    assert (diagnosis.roles_met, diagnosis.roles_not_met, diagnosis.roles_missing) == (
        ["采购者", "使用者"],
        [],
        ["影响者", "否决者"],
    )
    assert _finding(diagnosis, "decision_chain") == (
        BAD,
        "决策链已覆盖 2/4 个角色（采购者、使用者）；没有影响者、否决者联系人",
    )
    assert "尽快找到否决者（如院办、设备科或分管院长）并建联，补录为「否决者」联系人" in diagnosis.next_steps


def test_a_veto_contact_on_file_but_never_met_asks_for_a_meeting(session, org):
    customer = f.customer(session, org.rep, name="仁济医院", roles=(R.USER, R.PURCHASER, R.INFLUENCER, R.VETO))
    _touch(session, org, customer, Emotion.POSITIVE, 3, roles=(R.USER, R.PURCHASER, R.INFLUENCER))
    diagnosis = diagnose(session, org.rep, customer.id)
    assert diagnosis.roles_not_met == ["否决者"]
    assert _finding(diagnosis, "decision_chain")[1].endswith("；否决者有联系人但近期未接触")
    assert "约见否决者联系人，确认其对方案和预算的意见" in diagnosis.next_steps


def _closed_deal_with_stay(session, org, customer, *, stage_code: str, days: int, product_line: str) -> None:
    """A deal closed last month that spent `days` in `stage_code` before moving on (history rows as advance writes)."""
    tp = f.touchpoint(session, org.rep, customer, occurred_at=clock.now() - timedelta(days=200))
    start = clock.now() - timedelta(days=120)
    stage = stage_by_code(session, stage_code)
    following = stage_by_code(session, "negotiation")
    opp = Opportunity(
        customer_id=customer.id,
        owner_id=org.rep.id,
        title="历史单",
        product_line=product_line,
        expected_amount_fen=100_000_00,
        stage_id=stage_by_code(session, "won").id,
        status=OpportunityStatus.WON,
        last_touchpoint_id=tp.id,
        last_follow_up_at=start,
        stage_entered_at=start,
        closed_at=clock.now() - timedelta(days=30),
    )
    session.add(opp)
    session.flush()
    for frm, to, at in (
        (None, stage.id, start),
        (stage.id, following.id, start + timedelta(days=days)),
        (following.id, stage_by_code(session, "won").id, start + timedelta(days=days + 5)),
    ):
        session.add(
            StageTransition(
                opportunity_id=opp.id,
                from_stage_id=frm,
                to_stage_id=to,
                actor_id=org.rep.id,
                touchpoint_id=tp.id,
                occurred_at=at,
            )
        )
    session.flush()


def test_a_deal_stuck_far_longer_than_similar_deals_is_stalled_and_its_missing_checklist_is_named(session, org):
    customer = _healthy(session, org, name="中山医院")
    other = f.customer(session, org.rep, name="历史医院", roles=(R.USER,))
    for days in (8, 12):
        _closed_deal_with_stay(session, org, other, stage_code="sample_test", days=days, product_line="CT球管")
    tp = _touch(session, org, customer, Emotion.POSITIVE, 0, roles=(R.USER,))
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="CT球管更换", product_line="CT球管", expected_amount_fen=58_000_000
    )
    opp.stage = stage_by_code(session, "sample_test")
    opp.stage_entered_at = clock.now() - timedelta(days=25)
    session.flush()

    diagnosis = diagnose(session, org.rep, customer.id)

    [deal] = diagnosis.deals
    assert deal.stalled and round(deal.baseline_days) == 10 and round(deal.days_in_stage) == 25
    assert _finding(diagnosis, "stage") == (
        BAD,
        "商机「CT球管更换」在「样品测试」已 25 天，同类商机平均 10 天，明显停滞",
    )
    assert "推动商机「CT球管更换」进入「商务谈判」，先补齐检查清单：报价单" in diagnosis.next_steps


def test_a_deal_within_the_usual_time_is_not_stalled(session, org):
    customer = _healthy(session, org, name="长海医院")
    other = f.customer(session, org.rep, name="历史医院", roles=(R.USER,))
    _closed_deal_with_stay(session, org, other, stage_code="sample_test", days=10, product_line="超声")
    tp = _touch(session, org, customer, Emotion.POSITIVE, 0, roles=(R.USER,))
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="超声探头", product_line="CT球管", expected_amount_fen=10_000_000
    )
    opp.stage = stage_by_code(session, "sample_test")
    opp.stage_entered_at = clock.now() - timedelta(days=12)
    session.flush()
    diagnosis = diagnose(session, org.rep, customer.id)
    # no CT球管 history: the baseline falls back to all closed deals, and 12 days is within 1.5 × 10
    assert _finding(diagnosis, "stage") == (OK, "商机「超声探头」在「样品测试」已 12 天，全部已结商机平均 10 天")


def test_open_collaboration_parts_are_listed_and_an_overdue_one_is_chased(session, org, frozen_clock):
    customer = _healthy(session, org, name="新华医院")
    tp = _touch(session, org, customer, Emotion.POSITIVE, 0, roles=(R.USER,))
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="DR升级", product_line="DR", expected_amount_fen=30_000_000
    )
    ticket = open_ticket(session, org.rep, opp, reason="进入样品测试")
    frozen_clock.advance(timedelta(hours=30))

    diagnosis = diagnose(session, org.rep, customer.id)

    assert [(p.department, p.overdue) for p in diagnosis.open_parts] == [("市场部", True), ("交付部", True)]
    found = [(x.severity, x.text) for x in diagnosis.findings if x.area == "collaboration"]
    assert found == [(WARN, "市场部「提供竞品对比材料」已超时"), (WARN, "交付部「确认排期并标注风险点」已超时")]
    assert f"催办市场部「提供竞品对比材料」（协同单 #{ticket.id} 已超时），必要时请主管协调" in diagnosis.next_steps


def test_a_low_on_time_payment_rate_is_bad_and_the_late_invoice_is_named(session, org):
    customer = _healthy(session, org, name="龙华医院")
    today = clock.now().date()
    for i, (due_days_ago, paid_days_after_due) in enumerate(((200, 0), (150, 30), (90, None), (60, 0))):
        due = today - timedelta(days=due_days_ago)
        receivable = Receivable(customer_id=customer.id, invoice_no=f"INV-{i}", amount_fen=10_000_00, due_date=due)
        session.add(receivable)
        session.flush()
        if paid_days_after_due is not None:
            paid = clock.now() - timedelta(days=due_days_ago - paid_days_after_due)
            session.add(Payment(receivable_id=receivable.id, amount_fen=10_000_00, paid_at=paid))
    session.flush()

    diagnosis = diagnose(session, org.rep, customer.id)

    assert diagnosis.payment.on_time_rate == 0.5
    assert _finding(diagnosis, "payment") == (BAD, "按时回款率 50%（4 笔应收中 2 笔逾期），低于 85%")
    [step] = [s for s in diagnosis.next_steps if s.startswith("与财务核对逾期回款")]
    assert "发票 INV-1" in step and step.endswith("；大单进入合同审批前须先解决")
    assert diagnosis.health is Health.YELLOW  # one bad finding


def test_two_bad_findings_make_the_customer_red_and_a_stored_red_light_is_never_softened(session, org):
    customer = f.customer(session, org.rep, name="曙光医院", roles=(R.USER,))
    _touch(session, org, customer, Emotion.RESISTANT, 4, roles=(R.USER,))
    _touch(session, org, customer, Emotion.RESISTANT, 1, roles=(R.USER,))
    assert diagnose(session, org.rep, customer.id).health is Health.RED

    calm = _healthy(session, org, name="岳阳医院")
    calm.health = Health.RED
    diagnosis = diagnose(session, org.rep, calm.id)
    assert diagnosis.health is Health.RED and diagnosis.stored_health is Health.RED


def test_a_customer_not_contacted_for_weeks_says_so_and_asks_for_a_call_today(session, org):
    customer = f.customer(session, org.rep, name="东方医院", roles=(R.USER, R.PURCHASER, R.INFLUENCER, R.VETO))
    _touch(session, org, customer, Emotion.POSITIVE, 20, roles=(R.USER, R.PURCHASER, R.INFLUENCER, R.VETO))
    diagnosis = diagnose(session, org.rep, customer.id)
    assert _finding(diagnosis, "activity") == (WARN, "已 20 天没有联系该客户")
    assert "今天就联系一次客户并记录触点，写明下一步和时间" in diagnosis.next_steps


def test_there_are_never_more_than_three_steps(session, org, frozen_clock):
    customer = f.customer(session, org.rep, name="胸科医院", roles=(R.USER,))
    _touch(session, org, customer, Emotion.POSITIVE, 30, roles=(R.USER,))
    _touch(session, org, customer, Emotion.RESISTANT, 20, roles=(R.USER,))
    diagnosis = diagnose(session, org.rep, customer.id)
    assert len(diagnosis.next_steps) == 3
    text = describe(diagnosis)
    assert text.startswith("【客户健康度诊断】胸科医院：🔴红灯") and "建议下一步：\n1. 本周安排一次面访" in text


def test_each_diagnosis_is_counted_for_the_usage_metric(session, org):
    customer = _healthy(session, org)
    diagnose(session, org.rep, customer.id, channel="chat")
    diagnose(session, org.rep, customer.id, channel="miniprogram")
    events = session.scalars(select(DomainEvent).where(DomainEvent.kind == "health.diagnosis_requested")).all()
    assert [(e.subject_id, e.actor_id, e.payload["channel"]) for e in events] == [
        (customer.id, org.rep.id, "chat"),
        (customer.id, org.rep.id, "miniprogram"),
    ]
    session.commit()
    window = Window.last_days(7, clock.now() + timedelta(seconds=1))
    assert management.health_diagnosis_use(session, window, Scope.company(session)).value == 2


def test_a_rep_cannot_diagnose_another_reps_customer_but_their_manager_and_the_director_can(session, org):
    customer = _healthy(session, org)
    for outsider in (org.other_rep, org.outsider_rep, org.other_manager, org.marketer):
        with pytest.raises(NotFound, match="客户不存在或您无权查看"):
            diagnose(session, outsider, customer.id)
    for allowed in (org.rep, org.manager, org.director):
        assert diagnose(session, allowed, customer.id).customer_name == "华山医院"
    counted = session.scalars(select(DomainEvent.actor_id).where(DomainEvent.kind == "health.diagnosis_requested"))
    assert list(counted) == [org.rep.id, org.manager.id, org.director.id]  # refusals are not uses


def test_each_open_deal_carries_its_win_probability_and_the_chat_text_says_it(session, org):
    customer = _healthy(session, org)
    tp = _touch(session, org, customer, Emotion.POSITIVE, 0, roles=(R.VETO,))
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title="CT球管更换", product_line="CT球管", expected_amount_fen=58_000_000
    )
    before = diagnose(session, org.rep, customer.id)
    [deal] = before.deals
    assert deal.win is not None and deal.win.source == win_probability.STAGE_TABLE and deal.win.percent == 10
    assert "赢单概率：\n商机「CT球管更换」赢单概率 10%\n  依据：已结商机不足 60 个" in describe(before)

    write_history(session, org.other_rep, deals=220, now=clock.now())
    assert win_probability.retrain(session, clock.now(), "20260302").model.in_use
    after = diagnose(session, org.rep, customer.id)

    [deal] = after.deals
    assert deal.opportunity_id == opp.id and deal.win.source == win_probability.MODEL and deal.win.reasons
    text = describe(after)
    line = f"商机「CT球管更换」赢单概率 {deal.win.percent}%（阶段赢率表 10%）"
    assert f"赢单概率：\n{line}\n  依据：模型 {deal.win.version}，学自本公司" in text
    assert text.index("赢单概率：") < text.index("建议下一步：")
