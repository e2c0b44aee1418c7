"""Saving a journey: validated, its trigger kept beside it, a version per change, heard at once when switched on."""

from __future__ import annotations

import pytest

from salesnav.handlers.journeys import examples, listening, store
from salesnav.handlers.journeys.definition import DefinitionError
from salesnav.models import DepartmentKind
from tests import factories


def test_a_saved_journey_is_inactive_until_switched_on_and_then_its_kinds_are_heard(session, frozen_clock):
    org = factories.org(session)
    journey = store.save_journey(session, org.admin, name="白皮书跟进", definition=examples.whitepaper_definition())
    assert (journey.active, journey.version, journey.trigger_kind) == (False, 1, "material.downloaded")
    assert listening.heard_kinds(session) == frozenset()
    store.set_active(session, org.admin, journey.id, True)
    assert listening.heard_kinds(session) == {"material.downloaded", "material.read", "opportunity.won"}
    changed = examples.whitepaper_definition()
    changed["trigger"]["kind"] = "material.opened"
    store.save_journey(session, org.admin, name="白皮书跟进", definition=changed, journey_id=journey.id)
    assert (journey.version, journey.trigger_kind) == (2, "material.opened")


def test_a_department_or_material_that_does_not_exist_is_refused_in_words(session, frozen_clock):
    org = factories.org(session)
    data = examples.whitepaper_definition(case_material_id=999_999)
    data["steps"][1]["owner"]["value"] = "法务部"
    with pytest.raises(DefinitionError) as caught:
        store.save_journey(session, org.admin, name="x", definition=data)
    assert caught.value.messages == [
        "步骤「销售当天发送同级医院案例」的素材不存在或已下架，请重新选择",
        "步骤「市场部预约区域技术顾问线上演示」的负责部门「法务部」不存在",
    ]
    assert store.department_named(session, "交付部").kind is DepartmentKind.DELIVERY
    assert store.department_named(session, "delivery").id == org.delivery.id


def test_a_paused_journey_enters_no_one_but_still_hears_what_those_in_it_wait_for(session, frozen_clock, app):
    from tests.handlers.journeys import arrange as a

    h = a.hospital(session, frozen_clock)
    journey_id = a.ready_journey(session, h)
    a.download(app, h)
    store.set_active(session, h.org.admin, journey_id, False)
    session.commit()
    assert listening.heard_kinds(session) == {"material.read", "opportunity.won"}  # not the trigger any more
    a.event(app, h, "opportunity.won")
    [enrollment] = a.enrollments(journey_id)
    assert enrollment.exit_reason == "客户商机赢单"
    assert listening.heard_kinds(session) == frozenset()  # no one left in it
