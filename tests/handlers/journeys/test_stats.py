"""How a journey works, figured from records worked out by hand: the funnel (entered, at each step, completed,
stuck past a deadline, exited), the branch taken at a condition, and the won deals and amount of the customers
who went through it against similar customers (same kind, region and rep team) who never entered it; and the
journeys one customer is in."""

from __future__ import annotations

from datetime import timedelta

from salesnav import clock
from salesnav.handlers.journeys.stats import (
    Group,
    customer_journeys,
    describe_customer_journey,
    journey_stats,
    window_of,
)
from salesnav.models import CustomerKind, JourneyStepRun, OpportunityStatus, StepRunState
from tests import factories as f
from tests.handlers.journeys.rows import ACTIVE, CANCELLED, COMPLETED, DONE, EXITED, OPEN, Run, enrol, journey, won


def test_the_funnel_and_the_comparison_from_records_worked_out_by_hand(session, frozen_clock):
    org = f.org(session)
    j = journey(session)
    # All hospitals in 上海; rep and other_rep are 钱主管's team, outsider_rep 孙主管's.
    a, b, d, e, fc = (f.customer(session, org.rep, name=n) for n in ("甲医院", "乙医院", "丁医院", "戊医院", "己医院"))
    c = f.customer(session, org.other_rep, name="丙医院")
    enrol(session, j, a, 10, COMPLETED, [Run("s1", DONE), Run("s2", DONE, "then"), Run("s3", DONE, sla_in_hours=-30)])
    enrol(session, j, b, 5, ACTIVE, [Run("s1", DONE), Run("s2", DONE, "then"), Run("s3", OPEN, sla_in_hours=-2)])
    enrol(session, j, c, 3, ACTIVE, [Run("s1", OPEN, sla_in_hours=5)])
    enrol(session, j, d, 20, EXITED, [Run("s1", DONE), Run("s2", CANCELLED)])
    enrol(session, j, fc, 8, COMPLETED, [Run("s1", DONE), Run("s2", DONE, "else")])
    enrol(session, j, e, 200, COMPLETED, [Run("s1", DONE)])  # entered before the 90 days: not counted
    other = journey(session, "另一个旅程")
    enrol(session, other, a, 1, ACTIVE, [Run("s1", OPEN, sla_in_hours=-1)])  # another journey's: not counted

    # Similar customers never in the journey: 庚 (rep) and 辛 (other_rep). Not similar: 北京, another team, a
    # distributor; 戊 was in the journey (200 days ago), 删 is deleted.
    g = f.customer(session, org.rep, name="庚医院")
    f.customer(session, org.other_rep, name="辛医院")
    beijing = f.customer(session, org.rep, name="北京医院")
    beijing.region = "北京"
    elsewhere = f.customer(session, org.outsider_rep, name="外组医院")
    dealer = f.customer(session, org.rep, name="某经销商")
    dealer.kind = CustomerKind.DISTRIBUTOR
    gone = f.customer(session, org.rep, name="删医院")

    won(session, a, org.rep, 1_000_000, days_ago=5)
    won(session, a, org.rep, 7_000_000, days_ago=120)  # before the window
    won(session, b, org.rep, 500_000, days_ago=2)
    won(session, b, org.rep, 9_000_000, days_ago=2, status=OpportunityStatus.LOST)
    won(session, d, org.rep, 300_000, days_ago=3)
    won(session, g, org.rep, 200_000, days_ago=10)
    for not_similar in (beijing, dealer, gone, e):
        won(session, not_similar, org.rep, 9_999, days_ago=1)
    won(session, elsewhere, org.outsider_rep, 9_999, days_ago=1)
    gone.deleted_at = clock.now()
    session.flush()

    stats = journey_stats(session, j, window_of(90))
    assert (stats.entered, stats.active, stats.completed, stats.exited, stats.stuck) == (5, 2, 2, 1, 1)
    steps = {s.key: s for s in stats.steps}
    assert [s.key for s in stats.steps] == ["s1", "s2", "s3"]
    assert (steps["s1"].reached, steps["s1"].now, steps["s1"].done, steps["s1"].stuck) == (5, 1, 4, 0)
    assert (steps["s2"].reached, steps["s2"].now, steps["s2"].done, steps["s2"].stuck) == (4, 0, 3, 0)
    assert (steps["s2"].then, steps["s2"].otherwise) == (2, 1)
    assert (steps["s3"].reached, steps["s3"].now, steps["s3"].done, steps["s3"].stuck) == (2, 1, 1, 1)
    assert steps["s3"].title == "市场部约演示" and steps["s2"].kind == "condition"

    # 甲乙丙丁己: 3 won deals (甲 ¥10,000, 乙 ¥5,000, 丁 ¥3,000) vs 庚辛: 1 (庚 ¥2,000).
    assert stats.journey == Group(customers=5, won_deals=3, revenue_fen=1_800_000, customers_won=3)
    assert stats.peers == Group(customers=2, won_deals=1, revenue_fen=200_000, customers_won=1)
    assert (stats.journey.won_share, stats.journey.revenue_per_customer_fen) == (0.6, 360_000)
    assert (stats.peers.won_share, stats.peers.revenue_per_customer_fen) == (0.5, 100_000)

    # Over a year 戊 (entered 200 days ago) is in the journey's group, and so are 甲's older deal and 戊's.
    wide = journey_stats(session, j, window_of(365))
    assert wide.entered == 6 and wide.journey.customers == 6 and wide.peers.customers == 2
    assert wide.journey.won_deals == 5  # 甲's deal of 120 days ago and 戊's are in the year


def test_a_journey_nobody_entered_has_empty_figures_and_no_peers(session, frozen_clock):
    f.org(session)
    j = journey(session)
    stats = journey_stats(session, j, window_of(90))
    assert (stats.entered, stats.active, stats.completed, stats.exited, stats.stuck) == (0, 0, 0, 0, 0)
    assert [(s.reached, s.now, s.done, s.stuck) for s in stats.steps] == [(0, 0, 0, 0)] * 3
    assert stats.journey == stats.peers == Group(0, 0, 0, 0)
    assert stats.journey.won_share is None and stats.journey.revenue_per_customer_fen is None


def test_a_step_removed_from_the_journey_still_shows_its_runs(session, frozen_clock):
    org = f.org(session)
    j = journey(session)
    customer = f.customer(session, org.rep)
    enrollment = enrol(session, j, customer, 1, ACTIVE, [Run("s1", DONE)])
    session.add(
        JourneyStepRun(
            enrollment_id=enrollment.id,
            journey_id=j.id,
            step_key="old_step",
            step_kind="wait",
            state=StepRunState.WAITING,
            due_at=clock.now(),
        )
    )
    session.flush()
    steps = journey_stats(session, j, window_of(90)).steps
    assert steps[-1].key == "old_step" and steps[-1].title == "old_step（已从旅程中删除）" and steps[-1].now == 1


def test_a_customers_journeys_say_where_they_are_active_first(session, frozen_clock):
    org = f.org(session)
    j, other = journey(session), journey(session, "续费前三个月")
    customer = f.customer(session, org.rep, name="协和医院")
    enrol(session, other, customer, 30, COMPLETED, [Run("s1", DONE)])
    enrol(session, j, customer, 2, ACTIVE, [Run("s1", DONE), Run("s2", DONE, "then"), Run("s3", OPEN, sla_in_hours=-3)])
    stranger = f.customer(session, org.rep)
    enrol(session, j, stranger, 1, ACTIVE, [Run("s1", OPEN, sla_in_hours=4)])

    items = customer_journeys(session, customer.id)
    assert [(i.journey_name, i.state) for i in items] == [("白皮书跟进", ACTIVE), ("续费前三个月", COMPLETED)]
    now = items[0]
    assert (now.step_key, now.step_title, now.step_state, now.overdue) == ("s3", "市场部约演示", OPEN, True)
    assert now.due_at == clock.now() - timedelta(hours=3)
    line = describe_customer_journey(now)
    assert line.startswith("「白皮书跟进」当前步骤「市场部约演示」 · 进行中，截止 ") and line.endswith("（已超时）")
    assert describe_customer_journey(items[1]) == "「续费前三个月」已完成"
    assert customer_journeys(session, f.customer(session, org.rep).id) == []
