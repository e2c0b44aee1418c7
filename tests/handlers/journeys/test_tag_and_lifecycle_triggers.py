"""Journeys triggered by the tags and lifecycle part (docs/journeys.md): a download gives the customer the rule tag
高意向 at the tags job's next run, whose tag.added enters a journey; a lifecycle stage the job computes enters
another through lifecycle.entered — each once, however often the job runs again."""

from __future__ import annotations

from datetime import timedelta

from salesnav.handlers import tags
from salesnav.jobs import customer_tags
from salesnav.models import Customer, Health, TagKind
from tests.handlers.battle_pack.arrange import won_deal
from tests.handlers.journeys import arrange as a
from tests.rules.conftest import received_texts

DOWNLOADED = {"conditions": [{"type": "event", "kinds": ["material.downloaded"], "within_days": 30}]}


def message(text: str, trigger: dict) -> dict:
    step = {"key": "m1", "title": "提醒销售", "owner": {"type": "rep"}, "action": {"type": "message", "text": text}}
    return {"trigger": trigger, "steps": [step], "reentry_days": 30}


def refresh(app) -> dict[str, int]:
    """The clock's tags job, and the journeys' work it queued."""
    done = customer_tags.refresh()
    app.drain()
    return done


def test_a_download_tags_the_customer_and_the_tag_enters_a_journey_once(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock, with_deal=False)
    tags.save_definition(session, h.org.admin, label="高意向", kind=TagKind.RULE, rule=DOWNLOADED)
    session.commit()
    journey_id = a.journey(
        session, h, message("{客户}成了高意向客户，请今天联系", {"kind": "tag.added", "filter": {"tag": "高意向"}})
    )
    app.drain()
    refresh(app)
    assert a.enrollments(journey_id) == []

    a.download(app, h)
    frozen_clock.advance(timedelta(minutes=5))
    assert refresh(app)["changes"] == 1
    [enrolled] = a.enrollments(journey_id)
    assert enrolled.customer_id == h.customer_id
    assert received_texts(app, h.org.rep.wecom_userid)[-1].endswith("嘉兴市第一医院成了高意向客户，请今天联系")

    frozen_clock.advance(timedelta(minutes=5))
    refresh(app)
    frozen_clock.advance(timedelta(minutes=5))
    refresh(app)
    assert len(a.enrollments(journey_id)) == 1


def test_a_lifecycle_stage_the_job_computes_enters_a_journey(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock, with_deal=False)
    journey_id = a.journey(
        session,
        h,
        message("{客户}进入流失预警，请安排回访", {"kind": "lifecycle.entered", "filter": {"lifecycle": "churn_risk"}}),
    )
    customer = session.get(Customer, h.customer_id)
    won_deal(
        session,
        h.org.rep,
        customer,
        product_line="CT设备",
        start=frozen_clock.now() - timedelta(days=50),
        days=[0, 10, 20, 30, 40, 50],
    )
    session.commit()
    refresh(app)  # 新客户试用期: not this journey's stage
    assert a.enrollments(journey_id) == []

    customer = session.get(Customer, h.customer_id)
    customer.health = Health.RED  # red health: 流失预警
    session.commit()
    frozen_clock.advance(timedelta(minutes=5))
    refresh(app)
    [enrolled] = a.enrollments(journey_id)
    assert enrolled.customer_id == h.customer_id
    assert received_texts(app, h.org.rep.wecom_userid)[-1].endswith("嘉兴市第一医院进入流失预警，请安排回访")
