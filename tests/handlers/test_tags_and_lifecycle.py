"""Customer tags and lifecycle stages with a moved clock: rule tags whose preview is what the job applies, manual
tags, and the stages entered and left as time passes, each change a customer event recorded exactly once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from salesnav.handlers import contracts, lifecycle, rule_settings, tags
from salesnav.handlers.contracts import PlannedInstalment
from salesnav.handlers.customer_events import record_customer_event
from salesnav.handlers.customers import create_customer
from salesnav.handlers.errors import DomainError, Forbidden, NotFound
from salesnav.jobs import customer_tags
from salesnav.jobs import queue as jobs_queue
from salesnav.models import Customer, CustomerEvent, CustomerTag, Health, LifecycleStage, TagKind, TagRun
from salesnav.models import session as db
from tests import factories as f
from tests.handlers.battle_pack.arrange import customer, local, won_deal

DAY0 = date(2026, 3, 2)
WAN = 10_000_00
GRADE_3A = {"match": "all", "conditions": [{"type": "field", "field": "grade", "op": "in", "value": ["三级甲等"]}]}
DOWNLOADED = {
    "match": "all",
    "conditions": [{"type": "event", "kinds": ["material.downloaded"], "within_days": 30, "min_count": 1}],
}


@pytest.fixture
def org(session, frozen_clock):
    frozen_clock.set(local(DAY0, 10))
    org = f.org(session)
    session.commit()
    return org


def settled(session):
    """Commit, and let the recompute an admin's change queued run (in-process, its own thread) before going on."""
    session.commit()
    backend = jobs_queue.backend()
    if isinstance(backend, jobs_queue.InProcessBackend):
        backend.drain()


def events(session, customer_id, kinds=("tag.added", "tag.removed", "lifecycle.entered", "lifecycle.left")):
    rows = session.scalars(
        select(CustomerEvent)
        .where(CustomerEvent.customer_id == customer_id, CustomerEvent.kind.in_(kinds))
        .order_by(CustomerEvent.id)
    )
    return [(e.kind, e.payload.get("tag") or e.payload.get("stage"), e.payload["label"]) for e in rows]


def held(session, customer_id):
    return [t.label for t in tags.customer_tags(session, customer_id)]


def test_a_rule_tags_preview_is_what_the_job_applies_and_a_rerun_records_nothing_twice(session, org, frozen_clock):
    changzhou = customer(session, org.rep, "常州妇幼保健院", grade="三级甲等")
    wuxi = customer(session, org.rep, "无锡人民医院", grade="三级甲等")
    customer(session, org.rep, "江阴社区医院", grade="一级")
    tag = tags.save_definition(session, org.admin, label="三甲", kind=TagKind.RULE, rule=GRADE_3A)
    intent = tags.save_definition(session, org.admin, label="高意向", kind="规则标签", rule=DOWNLOADED)
    record_customer_event(session, customer_id=wuxi.id, kind="material.downloaded", occurred_at=frozen_clock.now())
    settled(session)

    shown = tags.preview(session, GRADE_3A, frozen_clock.now())
    assert (shown.count, shown.names) == (2, sorted(["常州妇幼保健院", "无锡人民医院"]))
    assert shown.rule_text == "客户等级 是其中之一 三级甲等"
    assert tags.preview(session, DOWNLOADED, frozen_clock.now()).names == ["无锡人民医院"]

    customer_tags.recompute()
    session.expire_all()
    holders = set(session.scalars(tags.customers_with_tag(session, tag.code)))
    assert holders == {changzhou.id, wuxi.id}
    assert held(session, wuxi.id) == ["三甲", "高意向"]
    assert session.get(Customer, wuxi.id).tags == ["三甲", "高意向"]  # the denormalised set follows the truth
    assert events(session, wuxi.id) == [("tag.added", tag.code, "三甲"), ("tag.added", intent.code, "高意向")]

    customer_tags.recompute()  # idempotent: nothing changed, nothing recorded
    customer_tags.refresh()
    session.expire_all()
    assert len(events(session, wuxi.id)) == 2

    frozen_clock.advance(timedelta(days=31))  # the download falls out of the rule's 30 days
    customer_tags.refresh()  # a new business day: the full run
    session.expire_all()
    assert held(session, wuxi.id) == ["三甲"]
    assert events(session, wuxi.id)[-1] == ("tag.removed", intent.code, "高意向")
    frozen_clock.advance(timedelta(minutes=5))
    customer_tags.refresh()
    session.expire_all()
    assert len(events(session, wuxi.id)) == 3

    with db.transaction() as s:  # a new download: the tag comes back (on the same row)
        record_customer_event(s, customer_id=wuxi.id, kind="material.downloaded")
    frozen_clock.advance(timedelta(minutes=5))
    customer_tags.refresh()
    session.expire_all()
    assert held(session, wuxi.id) == ["三甲", "高意向"] and session.get(Customer, wuxi.id).tags == ["三甲", "高意向"]
    assert events(session, wuxi.id)[-1] == ("tag.added", intent.code, "高意向")
    assert session.scalar(select(func.count()).select_from(CustomerTag).where(CustomerTag.customer_id == wuxi.id)) == 2


def test_the_periodic_run_between_full_runs_looks_only_at_changed_customers(session, org, frozen_clock):
    quiet = customer(session, org.rep, "镇江医院", grade="二甲")
    busy = customer(session, org.rep, "南通医院", grade="二甲")
    tags.save_definition(session, org.admin, label="高意向", kind=TagKind.RULE, rule=DOWNLOADED)
    settled(session)  # the new definition queued a full recompute: today's full run
    assert session.scalars(select(TagRun.full)).all() == [True]
    frozen_clock.advance(timedelta(minutes=5))
    assert customer_tags.refresh()["full"] == 0  # (the customers filed just before the last run, looked at again)
    frozen_clock.advance(timedelta(minutes=5))
    assert customer_tags.refresh() == {"customers": 0, "changes": 0, "full": 0}
    with db.transaction() as s:
        record_customer_event(s, customer_id=busy.id, kind="material.downloaded")
    frozen_clock.advance(timedelta(minutes=5))
    result = customer_tags.refresh()
    assert result == {"customers": 1, "changes": 1, "full": 0}
    frozen_clock.advance(timedelta(minutes=5))  # the tag.added that run recorded is no change to look at again
    assert customer_tags.refresh() == {"customers": 0, "changes": 0, "full": 0}
    session.expire_all()
    assert held(session, busy.id) == ["高意向"] and held(session, quiet.id) == []


def test_manual_tags_are_defined_by_the_admin_and_put_on_by_people_who_see_the_customer(session, org):
    changzhou = customer(session, org.rep, "常州妇幼保健院")
    with pytest.raises(Forbidden):
        tags.save_definition(session, org.rep, label="重点", kind=TagKind.MANUAL)
    tags.save_definition(session, org.admin, label="重点", kind=TagKind.MANUAL)
    tags.save_definition(session, org.admin, label="三甲", kind=TagKind.RULE, rule=GRADE_3A)
    put, new = tags.apply_tag(session, org.rep, customer_id=changzhou.id, tag="重点")
    assert new and put.label == "重点" and put.source.label == "手动添加"
    assert not tags.apply_tag(session, org.rep, customer_id=changzhou.id, tag="重点")[1]
    with pytest.raises(DomainError, match="「三甲」是按规则自动计算的标签，不能手动添加或去掉"):
        tags.apply_tag(session, org.rep, customer_id=changzhou.id, tag="三甲")
    with pytest.raises(NotFound, match="没有名为「VIP」的标签。可用的标签：重点。"):
        tags.apply_tag(session, org.rep, customer_id=changzhou.id, tag="VIP")
    with pytest.raises(NotFound):  # another team's rep does not see the customer
        tags.apply_tag(session, org.outsider_rep, customer_id=changzhou.id, tag="重点")
    assert tags.remove_tag(session, org.rep, customer_id=changzhou.id, tag="重点")
    assert not tags.remove_tag(session, org.rep, customer_id=changzhou.id, tag="重点")
    assert events(session, changzhou.id) == [("tag.added", "zd", "重点"), ("tag.removed", "zd", "重点")]
    with pytest.raises(DomainError, match="已有名为「重点」的标签"):
        tags.save_definition(session, org.admin, label="重点", kind=TagKind.MANUAL)
    with pytest.raises(DomainError, match="第 1 个条件：「健康度」只能是绿灯、黄灯、红灯"):
        tags.save_definition(
            session,
            org.admin,
            label="风险",
            kind=TagKind.RULE,
            rule={"conditions": [{"type": "field", "field": "health", "op": "eq", "value": "紫"}]},
        )


def test_labels_given_when_filing_become_manual_tags(session, org):
    filed = create_customer(session, org.rep, name="展会线索医院", tags=["2026医博会", " "])
    assert held(session, filed.id) == ["2026医博会"]
    assert session.get(Customer, filed.id).tags == ["2026医博会"]
    assert [d.label for d in tags.definitions(session, kind=TagKind.MANUAL)] == ["2026医博会"]


def contract(session, rep, cust, signed_on, ends_on=None):
    deal = won_deal(
        session,
        rep,
        cust,
        product_line="CT设备",
        start=local(signed_on - timedelta(days=50), 9),
        days=[0, 10, 20, 30, 40, 50],
    )
    plan = [PlannedInstalment(100 * WAN, signed_on + timedelta(days=30))]
    contracts.save_contract(
        session, rep, deal.id, amount_fen=100 * WAN, signed_on=signed_on, plan=plan, ends_on=ends_on
    )
    return deal


def test_lifecycle_trial_then_churn_after_silence_then_renewal_window_each_change_recorded_once(
    session, org, frozen_clock
):
    rule_settings.update(session, org.admin, "lifecycle.trial_days", 30)
    rule_settings.update(session, org.admin, "lifecycle.churn_silent_days", 45)
    rule_settings.update(session, org.admin, "lifecycle.renewal_months", 3)
    changzhou = customer(session, org.rep, "常州妇幼保健院")
    contract(session, org.rep, changzhou, DAY0, ends_on=date(2026, 12, 31))
    session.commit()

    customer_tags.refresh()
    session.expire_all()
    assert lifecycle.customer_lifecycle(session, changzhou.id) is LifecycleStage.TRIAL
    assert events(session, changzhou.id) == [("lifecycle.entered", "trial", "新客户试用期")]

    frozen_clock.set(local(DAY0 + timedelta(days=31), 10))  # the trial ends; the last touchpoint is 31 days old
    customer_tags.refresh()
    customer_tags.refresh()
    session.expire_all()
    assert lifecycle.customer_lifecycle(session, changzhou.id) is None
    assert events(session, changzhou.id)[-1] == ("lifecycle.left", "trial", "新客户试用期")

    frozen_clock.set(local(DAY0 + timedelta(days=46), 10))  # 46 days without a touchpoint
    customer_tags.refresh()
    session.expire_all()
    assert lifecycle.customer_lifecycle(session, changzhou.id) is LifecycleStage.CHURN_RISK
    with db.transaction() as s:
        f.touchpoint(s, org.rep, s.get(Customer, changzhou.id))
    frozen_clock.advance(timedelta(minutes=5))
    customer_tags.refresh()  # the touchpoint: the changed customer, between full runs
    session.expire_all()
    assert lifecycle.customer_lifecycle(session, changzhou.id) is None

    frozen_clock.set(local(date(2026, 9, 29), 10))  # the day before the window opens: touched a week ago
    with db.transaction() as s:
        f.touchpoint(s, org.rep, s.get(Customer, changzhou.id), occurred_at=local(date(2026, 9, 24), 10))
    customer_tags.refresh()
    session.expire_all()
    assert lifecycle.customer_lifecycle(session, changzhou.id) is None
    frozen_clock.set(local(date(2026, 9, 30), 10))  # 3 months before 12-31: the renewal window opens
    customer_tags.refresh()
    customer_tags.refresh()
    session.expire_all()
    assert lifecycle.customer_lifecycle(session, changzhou.id) is LifecycleStage.RENEWAL
    assert events(session, changzhou.id) == [
        ("lifecycle.entered", "trial", "新客户试用期"),
        ("lifecycle.left", "trial", "新客户试用期"),
        ("lifecycle.entered", "churn_risk", "流失预警"),
        ("lifecycle.left", "churn_risk", "流失预警"),
        ("lifecycle.entered", "renewal", "老客户续费前3个月"),
    ]


def test_red_health_is_a_churn_warning_and_the_preview_follows_proposed_settings(session, org, frozen_clock):
    a = customer(session, org.rep, "甲医院", health=Health.RED)
    contract(session, org.rep, a, DAY0)
    b = customer(session, org.rep, "乙医院")
    contract(session, org.rep, b, DAY0)
    session.commit()
    current = rule_settings.lifecycle(session)
    shown = {p.stage: (p.count, p.names) for p in lifecycle.preview(session, current, frozen_clock.now())}
    assert shown[LifecycleStage.CHURN_RISK] == (1, ["甲医院"]) and shown[LifecycleStage.TRIAL] == (1, ["乙医院"])
    proposed = current.model_copy(update={"churn_on_red_health": False})
    shown = {p.stage: (p.count, p.names) for p in lifecycle.preview(session, proposed, frozen_clock.now())}
    assert shown[LifecycleStage.TRIAL] == (2, ["乙医院", "甲医院"])
    customer_tags.recompute(a.id, b.id)
    session.expire_all()
    assert lifecycle.customers_in_stage(session, "churn_risk") == [a.id]
    # without a contract end date: signed on DAY0 + 12 months; the window opens 3 months before
    patient = current.model_copy(update={"churn_silent_days": 3650})
    frozen_clock.set(local(date(2026, 11, 30), 10))
    assert lifecycle.stages(session, frozen_clock.now(), [b.id], patient) == {}
    frozen_clock.set(local(date(2026, 12, 1), 10))  # 2027-03-01 is the last day; the window opens 2026-12-01
    assert lifecycle.stages(session, frozen_clock.now(), [b.id], patient)[b.id][0] is LifecycleStage.RENEWAL
