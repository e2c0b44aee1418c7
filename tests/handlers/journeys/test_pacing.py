"""No customer or rep is flooded: quiet hours hold a journey's messages until the window opens, the per-contact
frequency cap defers (never drops) the excess to the next day, visibly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from salesnav.handlers.journeys import runner
from salesnav.handlers.journeys.definition import QuietHours, parse_definition
from salesnav.models import HoldReason, StepRunState
from salesnav.models import session as db
from tests.handlers.journeys import arrange as a
from tests.rules.conftest import received_texts


def messages(*texts: str, **extra) -> dict:
    return {
        "trigger": {"kind": "material.opened"},
        "steps": [
            {"key": f"m{i}", "title": f"第{i}条", "owner": {"type": "rep"}, "action": {"type": "message", "text": t}}
            for i, t in enumerate(texts, 1)
        ],
        "reentry_days": 0,
        **extra,
    }


def test_a_message_due_in_quiet_hours_waits_for_the_window_to_open(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock, with_deal=False)
    journey_id = a.journey(session, h, messages("{联系人}打开了资料", quiet_hours={"start": "21:00", "end": "08:00"}))
    frozen_clock.set(datetime(2026, 3, 2, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai
    a.event(app, h, "material.opened")

    [run] = a.runs(journey_id).values()
    opens = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
    assert (run.state, run.hold_reason, run.wake_at) == (StepRunState.HELD, HoldReason.QUIET_HOURS, opens)
    assert received_texts(app, h.org.rep.wecom_userid) == []
    frozen_clock.set(opens - timedelta(minutes=1))
    assert a.advance(app) == {}
    assert received_texts(app, h.org.rep.wecom_userid) == []
    frozen_clock.set(opens)
    assert a.advance(app) == {"ran": 1}
    [said] = received_texts(app, h.org.rep.wecom_userid)
    assert said.endswith("李主任（设备科主任）打开了资料")
    assert a.runs(journey_id)["m1"].state is StepRunState.DONE


def test_quiet_hours_within_a_day_and_across_midnight():
    morning = QuietHours(start="12:00", end="14:00")
    night = QuietHours(start="21:00", end="08:00")
    at = lambda h, m=0: datetime(2026, 3, 2, h, m, tzinfo=UTC) - timedelta(hours=8)  # noqa: E731  # Shanghai time
    assert runner.quiet_until(morning, at(12, 30)) == at(14)
    assert runner.quiet_until(morning, at(14)) is None
    assert runner.quiet_until(night, at(21)) == at(8) + timedelta(days=1)
    assert runner.quiet_until(night, at(7, 59)) == at(8)
    assert runner.quiet_until(night, at(8)) is None
    assert parse_definition(messages("x", quiet_hours={"start": "21:00", "end": "08:00"})).quiet_hours == night


def test_the_frequency_cap_defers_the_excess_to_the_next_day_without_dropping_it(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock, with_deal=False)
    cap = {"per_contact_per_day": 2}
    first = a.journey(session, h, messages("一", "二", "三", frequency_cap=cap), name="三条消息")
    second = a.journey(session, h, messages("四", frequency_cap=cap), name="另一旅程")
    start = frozen_clock.now()
    a.event(app, h, "material.opened")

    runs = a.runs(first)
    assert [runs[k].state for k in ("m1", "m2", "m3")] == [StepRunState.DONE, StepRunState.DONE, StepRunState.HELD]
    assert a.runs(second)["m1"].state is StepRunState.HELD  # the cap counts the contact's messages of every journey
    tomorrow = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    for run in (a.runs(first)["m3"], a.runs(second)["m1"]):
        assert (run.hold_reason, run.wake_at, run.detail["held_for"]) == (
            HoldReason.FREQUENCY_CAP,
            tomorrow,
            "超出每日频次上限",
        )
    assert [t.split("\n")[-1] for t in received_texts(app, h.org.rep.wecom_userid)] == ["一", "二"]
    with db.transaction() as s:
        assert runner.messages_counted(s, f"contact:{h.contact_id}", runner.business_day(start)) == 2

    frozen_clock.set(tomorrow)
    assert a.advance(app) == {"ran": 2}
    assert sorted(t.split("\n")[-1] for t in received_texts(app, h.org.rep.wecom_userid)) == ["一", "三", "二", "四"]
    assert a.runs(first)["m3"].held_count == 1
    with db.transaction() as s:
        assert runner.messages_counted(s, f"contact:{h.contact_id}", runner.business_day(tomorrow)) == 2


def test_the_trigger_filters_on_tag_lifecycle_and_payload(session, frozen_clock, app):
    from salesnav.handlers.tags import apply_tag
    from salesnav.models import Customer, LifecycleStage, TagDefinition, TagKind

    h = a.hospital(session, frozen_clock, with_deal=False)
    session.add(TagDefinition(code="hot", label="高意向", kind=TagKind.MANUAL, active=True))
    session.commit()
    wanted = messages("跟进", trigger={"kind": "material.opened", "filter": {"tag": "高意向", "lifecycle": "trial"}})
    journey_id = a.journey(session, h, wanted)
    by_payload = a.journey(
        session,
        h,
        messages("官网来的", trigger={"kind": "webhook.crm", "filter": {"payload": {"source": "官网"}}}),
        name="官网线索",
    )

    a.event(app, h, "material.opened")  # neither the tag nor the lifecycle stage yet
    apply_tag(session, h.org.rep, customer_id=h.customer_id, tag="高意向")
    session.commit()
    a.event(app, h, "material.opened")  # the tag, not the stage
    assert a.enrollments(journey_id) == []
    session.get(Customer, h.customer_id).lifecycle_stage = LifecycleStage.TRIAL
    session.commit()
    a.event(app, h, "material.opened")
    assert len(a.enrollments(journey_id)) == 1

    a.event(app, h, "webhook.crm", source="展会")
    assert a.enrollments(by_payload) == []
    a.event(app, h, "webhook.crm", source="官网")
    assert len(a.enrollments(by_payload)) == 1


def test_a_wait_then_an_email_to_a_role_and_a_step_with_no_one_to_do_it(session, frozen_clock, app, mailbox):
    box, _ = mailbox
    h = a.hospital(session, frozen_clock, with_deal=False)
    definition = {
        "trigger": {"kind": "webhook.crm"},
        "steps": [
            {"key": "pause", "title": "等两小时", "wait": {"hours": 2}},
            {
                "key": "brief",
                "title": "主管知悉",
                "owner": {"type": "role", "value": "manager"},
                "action": {"type": "email", "subject": "{客户}进入旅程", "text": "{销售}负责的{客户}进入了旅程。"},
            },
            {
                "key": "finance",
                "title": "财务核对",
                "owner": {"type": "role", "value": "key_account"},
                "action": {"type": "message", "text": "请核对{客户}的账期"},
            },
        ],
    }
    journey_id = a.journey(session, h, definition)
    start = frozen_clock.now()
    a.event(app, h, "webhook.crm")
    assert a.runs(journey_id)["pause"].wake_at == start + timedelta(hours=2)
    assert box.messages == []

    frozen_clock.set(start + timedelta(hours=2))
    assert a.advance(app) == {"waited": 1}
    [mail] = box.messages
    assert mail["To"] == "mgr01@example.test" and mail["Subject"] == "嘉兴市第一医院进入旅程"
    assert "李销售负责的嘉兴市第一医院进入了旅程。" in mail.get_body(("plain",)).get_content()
    steps = a.runs(journey_id)
    assert (steps["brief"].state, steps["brief"].detail["emailed_to"]) == (StepRunState.DONE, ["mgr01@example.test"])
    # the customer has no key account manager: the step cannot be done by anyone, and says so; the journey goes on
    assert (steps["finance"].state, steps["finance"].detail["why"]) == (
        StepRunState.FAILED,
        "找不到负责人（大客户经理）",
    )
    [enrollment] = a.enrollments(journey_id)
    assert enrollment.flow_ended_at == start + timedelta(hours=2)
