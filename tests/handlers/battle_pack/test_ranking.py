"""The 3 most important todos: score = amount (万元) × win probability × urgency × customer health."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from salesnav.bot.battle_pack_card import todo_line
from salesnav.demo.win_history import write_history
from salesnav.handlers import win_probability
from salesnav.handlers.battle_pack import snapshot
from salesnav.handlers.battle_pack.compose import battle_pack_for
from salesnav.handlers.battle_pack.ranking import TodoSource, rank_todos, score, urgency
from salesnav.models import Emotion, Health, Touchpoint, TouchpointType
from tests import factories as f
from tests.handlers.battle_pack.arrange import SHANGHAI, customer, local, next_action, open_deal, task

MONDAY = date(2026, 3, 2)


@pytest.fixture
def ten(frozen_clock):
    frozen_clock.set(local(MONDAY, 10))
    return frozen_clock.now()


def test_urgency_and_health_weights_are_the_documented_steps(ten):
    assert urgency(None, ten) == 0.8
    assert urgency(ten - timedelta(minutes=1), ten) == 3.0
    assert urgency(ten + timedelta(hours=24), ten) == 2.0
    assert urgency(ten + timedelta(hours=25), ten) == 1.5
    assert urgency(ten + timedelta(hours=73), ten) == 1.0
    # 50万元 × 75 % × due today (2) × red (1.5) = 112.5; a todo without a deal counts as 1万元 × 10 %.
    assert score(50_000_000, 75, ten + timedelta(hours=5), Health.RED, ten)[0] == pytest.approx(112.5)
    assert score(None, None, None, None, ten)[0] == pytest.approx(1 * 0.1 * 0.8 * 1)


def test_the_three_todos_come_from_tasks_next_actions_and_silent_deals_in_score_order(session, ten):
    org = f.org(session)
    rep = org.rep
    huashan = customer(session, rep, "华山医院", contact=("李总", "设备科"))
    xiehe = customer(session, rep, "协和医院", health=Health.RED)
    ruijin = customer(session, rep, "瑞金医院")
    ct = open_deal(
        session,
        rep,
        huashan,
        product_line="CT球管",
        stage="negotiation",
        amount_yuan=500_000,
        stage_entered_at=ten - timedelta(days=2),
    )
    us = open_deal(
        session,
        rep,
        xiehe,
        product_line="超声",
        stage="needs_confirmed",
        amount_yuan=1_000_000,
        stage_entered_at=ten - timedelta(days=1),
    )
    open_deal(
        session,
        rep,
        ruijin,
        product_line="监护仪",
        stage="initial_contact",
        amount_yuan=100_000,
        stage_entered_at=ten - timedelta(days=4),
    )  # silent for 4 days: past the 72 h threshold
    # An older next action on 华山, superseded by the newer touchpoint with the same customer.
    next_action(session, rep, huashan, at=ten - timedelta(hours=20), action="约院长见面", due=ten + timedelta(hours=3))
    next_action(
        session,
        rep,
        huashan,
        at=ten - timedelta(hours=18),
        action="发送CT球管更换成本测算表",
        due=local(MONDAY, 15),
        opp=ct,
    )
    next_action(session, rep, xiehe, at=ten - timedelta(hours=2), action="送样机", due=ten + timedelta(days=5))
    task(session, rep, "提交超声配置清单", due=ten + timedelta(hours=50), opp=us)
    task(session, rep, "整理周报", due=ten + timedelta(hours=5))
    task(session, org.other_rep, "别人的待办", due=ten)  # another rep's: never in this pack
    session.commit()

    pack = battle_pack_for(session, rep, ten, SHANGHAI)

    lines = [todo_line(t, ten, SHANGHAI) for t in pack.todos]
    # 华山: 50万 × 75 % × 2 × 1 = 75; 协和: 100万 × 20 % × 1.5 × 1.5 = 45; 瑞金: 10万 × 10 % × 3 × 1 = 3;
    # 整理周报 (1 × 0.1 × 2 = 0.2) is fourth and left out; 送样机 is due in 5 days, beyond 48 h.
    assert [round(t.score, 2) for t in pack.todos] == [75.0, 45.0, 3.0]
    assert lines[0] == "李总(华山医院设备科)需在15:00前发送CT球管更换成本测算表"
    assert lines[1] == "协和医院需在3月4日12:00前提交超声配置清单"
    assert lines[2].startswith('<font color="warning">瑞金医院：跟进商机「监护仪」并记录触点')
    assert lines[2].endswith("（已 4 天未跟进）</font>")
    assert [t.source for t in pack.todos] == [TodoSource.NEXT_ACTION, TodoSource.TASK, TodoSource.FOLLOW_UP]


def test_a_silent_deal_with_its_follow_up_task_is_one_todo_not_two(session, ten):
    org = f.org(session)
    cust = customer(session, org.rep, "仁济医院")
    opp = open_deal(
        session,
        org.rep,
        cust,
        product_line="DR设备",
        stage="solution_demo",
        amount_yuan=800_000,
        stage_entered_at=ten - timedelta(days=10),
    )
    task(
        session,
        org.rep,
        "跟进仁济医院：仁济医院DR设备",
        due=ten + timedelta(hours=32),
        opp=opp,
        origin="rule:follow_up_overdue",
    )
    session.commit()

    pack = battle_pack_for(session, org.rep, ten, SHANGHAI)

    assert [(t.source, t.action) for t in pack.todos] == [(TodoSource.TASK, "跟进仁济医院：DR设备")]
    assert todo_line(pack.todos[0], ten, SHANGHAI) == "需在明天18:00前跟进仁济医院：DR设备"  # the customer named once


def test_a_rep_with_nothing_due_gets_an_empty_todo_list(session, ten):
    org = f.org(session)
    session.commit()
    assert battle_pack_for(session, org.rep, ten, SHANGHAI).todos == []


def test_a_trained_win_model_reorders_deals_the_stage_table_ranks_alike(session, ten):
    """Two silent deals in the same stage: the stage table ranks the larger first; once a model learned from the
    company's closed deals is in use, the deal whose whole decision chain is met and whose customer is keen
    goes first."""
    org = f.org(session)
    write_history(session, org.other_rep, deals=220, now=ten)  # the company's history, another rep's deals
    rep = org.rep
    cold = customer(session, rep, "冷淡医院")
    keen = customer(session, rep, "积极医院")
    deals = {}
    for cust, amount in ((cold, 600_000), (keen, 500_000)):
        deals[cust.name] = open_deal(
            session,
            rep,
            cust,
            product_line="超声",
            stage="solution_demo",
            amount_yuan=amount,
            stage_entered_at=ten - timedelta(days=12),
            last_follow_up_at=ten - timedelta(days=5),
        )
    for days in (30, 20, 12, 5):
        for cust, emotion, roles in ((cold, Emotion.RESISTANT, 0), (keen, Emotion.POSITIVE, 31)):
            session.add(
                Touchpoint(
                    customer_id=cust.id,
                    rep_id=rep.id,
                    type=TouchpointType.VISIT,
                    emotion=emotion,
                    occurred_at=ten - timedelta(days=days),
                    contact_roles=roles,
                )
            )
    session.flush()

    def order() -> list[int | None]:
        snap = snapshot.load(session, ten, snapshot.rep_scope(rep_ids=[rep.id]))
        return [t.opportunity_id for t in rank_todos(snap, rep.id, top=None)]

    assert order() == [deals["冷淡医院"].id, deals["积极医院"].id]
    assert win_probability.retrain(session, ten, "20260302").model.in_use
    assert order() == [deals["积极医院"].id, deals["冷淡医院"].id]
