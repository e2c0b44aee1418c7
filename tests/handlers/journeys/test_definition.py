"""A journey's definition: what an admin may build, and what is refused — in Chinese, naming the step."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from salesnav.handlers.journeys import examples
from salesnav.handlers.journeys.definition import END, DefinitionError, definition_json, parse_definition
from salesnav.models import Journey, Material


def example() -> dict:
    return copy.deepcopy(examples.whitepaper_definition())


def refused(data: object) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    return caught.value.messages


def test_the_articles_example_is_a_valid_definition_that_round_trips_through_its_json():
    definition = examples.whitepaper()
    assert [s.key for s in definition.steps][:3] == ["send_case", "book_demo", "compat_report"]
    assert [s.owner.label() for s in definition.steps[:3]] == ["客户的负责销售", "市场部", "交付部"]
    assert definition.following("compat_report") == "case_read"
    condition = definition.step("case_read").condition
    assert (condition.event, condition.within_hours, condition.then, condition.else_) == (
        "material.read",
        24,
        "book_visit",
        "nudge",
    )
    assert definition.following("book_visit") == END  # the branch taken does not fall into the other one
    assert definition.kinds_heard() == {"material.downloaded", "material.read", "opportunity.won"}
    assert parse_definition(definition_json(definition)) == definition
    assert definition_json(definition)["steps"][3]["condition"]["else"] == "nudge"


def test_each_problem_is_said_in_chinese_naming_its_step():
    data = example()
    data["steps"][1]["action"]["sla_hours"] = "两天"
    data["steps"][2]["owner"] = {"type": "role", "value": "boss"}
    data["steps"][0]["action"]["text"] = "请发给{姓名}"
    data["reentry_days"] = -1
    messages = refused(data)
    assert "第 2 步「市场部预约区域技术顾问线上演示」 · 动作 · 完成时限（小时）：须为数字" in messages
    assert any(m.startswith("第 3 步「交付部准备设备兼容性报告」 · 负责人：负责角色「boss」无效") for m in messages)
    assert any("「{姓名}」无法填写" in m and m.startswith("第 1 步") for m in messages)
    assert "再次进入间隔（天）：须不小于 0" in messages
    assert all(not any(ch.isascii() and ch.isalpha() for ch in m.split("：")[-1][:2]) for m in messages)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["steps"][1]["action"].pop("sla_hours"), "待办须填写完成时限（小时）"),
        (lambda d: d["steps"][3]["condition"].update(then="nowhere"), "指向的步骤「nowhere」不存在"),
        (lambda d: d["steps"][5].update(next="send_case"), "旅程须能走到结束"),
        (lambda d: d["steps"][4].update(key="send_case"), "步骤代码「send_case」重复"),
        (lambda d: d["steps"][0].pop("owner"), "动作步骤须指定负责人"),
        (lambda d: d["steps"][0].update(wait={"hours": 2}), "每个步骤须且只能是动作、等待、条件之一"),
        (lambda d: d["steps"][2]["owner"].update(type="rep"), "协同任务须由部门负责"),
        (lambda d: d["trigger"].update(kind="下载"), "进入条件的事件「下载」无效"),
        (lambda d: d.update(steps=[]), "步骤：至少须有 1 项"),
        (lambda d: d.update(quiet_hours={"start": "21:00", "end": "21:00"}), "免打扰的开始与结束不能相同"),
        (lambda d: d.update(frequency_cap={"per_contact_per_day": 0}), "每位联系人每天最多条数：须不小于 1"),
        (lambda d: d.update(colour="red"), "colour：不是可填写的项目"),
    ],
)
def test_a_definition_that_cannot_run_is_refused_with_its_reason(change, words):
    data = example()
    change(data)
    assert any(words in message for message in refused(data)), refused(data)


def test_not_a_json_object_is_refused_in_words():
    assert refused(["steps"]) == ["旅程定义格式不对：须为 JSON 对象"]


def test_a_fresh_company_has_the_ready_journey_installed_inactive_by_the_migration(database):
    from salesnav.models import session as db

    # The suite's schema was migrated from empty; the tables are emptied after each test, so look before any.
    with db.transaction() as session:
        journeys = session.scalars(select(Journey).where(Journey.template == examples.WHITEPAPER_TEMPLATE)).all()
        if not journeys:  # another test ran first and emptied the table: install as an admin action would
            examples.install_ready_journeys(session)
            journeys = session.scalars(select(Journey).where(Journey.template == examples.WHITEPAPER_TEMPLATE)).all()
        [journey] = journeys
        assert journey.active is False
        assert journey.trigger_kind == "material.downloaded"
        assert parse_definition(journey.definition).step("send_case").title == "销售当天发送同级医院案例"


def test_installing_again_changes_nothing_but_gives_the_untouched_example_its_case(session, frozen_clock):
    [journey] = examples.install_ready_journeys(session)
    assert "material_id" not in journey.definition["steps"][0]["action"]
    case = Material(title="某三甲医院AI影像案例", tags=["案例"], published_at=frozen_clock.now())
    session.add(case)
    session.flush()
    assert examples.install_ready_journeys(session) == []
    assert journey.definition["steps"][0]["action"]["material_id"] == case.id
    assert len(session.scalars(select(Journey)).all()) == 1


def test_each_line_comes_with_where_it_is_for_the_builder_page():
    from pydantic import ValidationError

    from salesnav.handlers.journeys.definition import JourneyDefinition, error_lines

    data = example()
    data["steps"][1]["action"]["sla_hours"] = "两天"
    with pytest.raises(ValidationError) as caught:
        JourneyDefinition.model_validate(data)
    assert error_lines(caught.value, data) == [
        (
            ("steps", 1, "action", "sla_hours"),
            "第 2 步「市场部预约区域技术顾问线上演示」 · 动作 · 完成时限（小时）：须为数字",
        )
    ]
