"""The journey builder in headless Chromium, on a phone (390 px) and on a desk: an admin picks a trigger, adds
three steps (a task, a condition branching on an event, a department's ticket part), saves, and sees the journey
listed; a mistake is shown in Chinese beside its field. Screenshots under test-output/admin/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from salesnav.handlers.journeys.definition import parse_definition
from salesnav.models import Journey
from salesnav.models import session as db
from tests.pages.admin.conftest import shot, sign_in_browser, submit

DESK = {"width": 1280, "height": 900}


@pytest.fixture
def desk_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESK, locale="zh-CN")
    yield context.new_page()
    context.close()


def _step(page: Any, index: int) -> Any:
    return page.locator(f'fieldset.step[data-index="{index}"]')


def _add_step(page: Any) -> None:
    submit(page, page.locator("#add-step"))


def build_three_steps(page: Any, live: Any, name: str) -> None:
    sign_in_browser(page, live, "/admin/journeys")
    submit(page, page.locator("#new-journey"))
    page.fill("#name", name)
    page.select_option("#trigger-kind", label="下载了资料")
    page.fill("#filter-title", "设备科")

    first = _step(page, 0)
    first.locator('input[name="steps.0.title"]').fill("销售当天发同级医院案例")
    first.locator('select[name="steps.0.action.type"]').select_option("task")
    first.locator('textarea[name="steps.0.action.text"]').fill("请今天把同级医院的案例发给{客户}")
    first.locator('input[name="steps.0.action.sla_hours"]').fill("8")
    assert first.locator('[data-part="wait"]').is_hidden()  # the script shows only what a task uses

    _add_step(page)
    second = _step(page, 1)
    assert page.locator('input[name="steps.0.title"]').input_value() == "销售当天发同级医院案例"  # kept
    second.locator('input[name="steps.1.title"]').fill("三天内是否读了案例")
    second.locator('select[name="steps.1.kind"]').select_option("condition")
    assert second.locator('[data-part="action"]').is_hidden()
    assert second.locator('[data-part="condition"]').is_visible()
    second.locator('select[name="steps.1.condition.event"]').select_option(label="阅读了资料")
    second.locator('input[name="steps.1.condition.within_hours"]').fill("72")

    _add_step(page)
    third = _step(page, 2)
    third.locator('input[name="steps.2.title"]').fill("市场部约线上演示")
    third.locator('select[name="steps.2.owner.type"]').select_option("department")
    assert third.locator('[data-owner="department"]').is_visible()
    assert third.locator('[data-owner="role"]').is_hidden()
    third.locator('select[name="steps.2.owner.department"]').select_option(label="市场部")
    third.locator('select[name="steps.2.action.type"]').select_option("ticket_part")
    third.locator('select[name="steps.2.action.template"]').select_option(label="预约线上演示")
    assert "预约区域技术顾问做线上演示" in third.locator('textarea[name="steps.2.action.text"]').input_value()
    third.locator('textarea[name="steps.2.action.text"]').fill("请在 {截止} 前为{客户}预约线上演示")
    third.locator('input[name="steps.2.action.sla_hours"]').fill("48")

    second = _step(page, 1)  # the third step now exists to branch to
    second.locator('select[name="steps.1.condition.then"]').select_option(label="第 3 步：市场部约线上演示")
    second.locator('select[name="steps.1.condition.else"]').select_option(label="结束旅程")
    page.locator('input[name="exit.events"][value="opportunity.won"]').check()


def test_an_admin_builds_a_journey_with_a_condition_on_a_phone_and_sees_it_listed(live, org, page):
    build_three_steps(page, live, "白皮书下载后的跟进")
    shot(page, "journey-builder-phone")
    submit(page, page.locator("#save-journey"))
    assert "已保存客户旅程「白皮书下载后的跟进」（尚未启用）" in page.inner_text("body")
    row = page.locator('#journeys .journey[data-name="白皮书下载后的跟进"]')
    assert "下载了资料" in row.inner_text() and "3 步" in row.inner_text() and "未启用" in row.inner_text()
    shot(page, "journeys-list-phone")

    submit(page, row.get_by_role("button", name="启用"))
    assert "已启用「白皮书下载后的跟进」" in page.inner_text("body")
    with db.transaction() as s:
        journey = s.scalars(select(Journey).where(Journey.name == "白皮书下载后的跟进")).one()
        assert journey.active
        definition = parse_definition(journey.definition)
        task, branch, demo = definition.steps
        assert (task.action.type, task.action.sla_hours, task.owner.type) == ("task", 8, "rep")
        assert (branch.condition.event, branch.condition.within_hours) == ("material.read", 72)
        assert (branch.condition.then, branch.condition.else_) == (demo.key, "end")
        assert (demo.owner.type, demo.owner.value, demo.action.type) == ("department", "marketing", "ticket_part")
        assert definition.exit.events == ["opportunity.won"]
        journey_id = journey.id

    row = page.locator('#journeys .journey[data-name="白皮书下载后的跟进"]')
    with page.expect_navigation():
        row.get_by_role("link", name="看效果").click()
    assert "每一步" in page.inner_text("body") and "成交对比" in page.inner_text("body")
    assert page.locator("#steps tr[data-key]").count() == 3
    shot(page, "journey-stats-phone")
    assert page.url.endswith(f"/admin/journeys/{journey_id}/stats")


def test_a_mistake_is_shown_in_chinese_beside_its_field_and_nothing_is_saved(live, org, page):
    build_three_steps(page, live, "不会保存的旅程")
    _step(page, 0).locator('input[name="steps.0.action.sla_hours"]').fill("")  # a task needs its deadline
    _step(page, 1).locator('input[name="steps.1.condition.within_hours"]').fill("三天")
    submit(page, page.locator("#save-journey"))
    banner = page.inner_text("#form-errors")  # on a phone the fields are far below: the banner lists them too
    assert (
        "保存未成功，请按提示修改" in banner
        and "第 2 步「三天内是否读了案例」 · 条件 · 时限（小时）：须为数字" in banner
    )
    first_error = _step(page, 0).locator('.field-error[data-for="steps.0.action.sla_hours"]')
    assert first_error.inner_text() == "第 1 步「销售当天发同级医院案例」 · 动作：待办须填写完成时限（小时）"
    assert first_error.is_visible()
    within = _step(page, 1).locator('.field-error[data-for="steps.1.condition.within_hours"]')
    assert within.inner_text() == "第 2 步「三天内是否读了案例」 · 条件 · 时限（小时）：须为数字"
    assert within.is_visible()
    assert page.locator('input[name="steps.1.condition.within_hours"]').input_value() == "三天"
    shot(page, "journey-builder-error-phone")
    with db.transaction() as s:
        assert s.scalars(select(Journey.id).where(Journey.name == "不会保存的旅程")).first() is None


def test_the_builder_and_the_figures_on_a_desk(live, org, desk_page):
    build_three_steps(desk_page, live, "桌面上搭的旅程")
    shot(desk_page, "journey-builder-desk")
    submit(desk_page, desk_page.locator("#save-journey"))
    shot(desk_page, "journeys-list-desk")
    row = desk_page.locator('#journeys .journey[data-name="桌面上搭的旅程"]')
    with desk_page.expect_navigation():
        row.get_by_role("link", name="看效果").click()
    assert desk_page.locator("#funnel .card").count() == 5
    shot(desk_page, "journey-stats-desk")


def test_an_admin_archives_a_journey_that_ran_and_deletes_one_that_never_did_on_a_phone(live, org, page, session):
    from tests import factories as f
    from tests.handlers.journeys.rows import ACTIVE, OPEN, Run, enrol, journey

    ran = journey(session, name="跑过的旅程")
    enrol(session, ran, f.customer(session, org.rep, name="甲医院"), 2, ACTIVE, [Run("s1", OPEN, sla_in_hours=6)])
    session.commit()
    build_three_steps(page, live, "没跑过的旅程")
    submit(page, page.locator("#save-journey"))

    unrun = page.locator('#journeys .journey[data-name="没跑过的旅程"]')
    assert "还没有客户进入" in unrun.inner_text()
    submit(page, unrun.get_by_role("link", name="删除"))
    assert "这个旅程还没有客户进入过，删除后不留任何记录" in page.inner_text("body")
    shot(page, "journey-delete-confirm-phone")
    submit(page, page.locator("#confirm-remove"))
    assert "已删除客户旅程「没跑过的旅程」" in page.inner_text("body")
    assert page.locator('#journeys .journey[data-name="没跑过的旅程"]').count() == 0

    row = page.locator('#journeys .journey[data-name="跑过的旅程"]')
    assert "进入过 1 位客户，1 位在旅程中" in row.inner_text()
    submit(page, row.get_by_role("link", name="归档"))
    body = page.inner_text("body")
    assert "已有 1 位客户进入过这个旅程，所以不能删除，只能归档" in body and "正在旅程中的 1 位客户将被移出" in body
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "journey-archive-confirm-phone")
    submit(page, page.locator("#confirm-remove"))
    assert "已归档客户旅程「跑过的旅程」，1 位客户移出旅程" in page.inner_text("body")
    archived = page.locator('#archived-journeys .journey[data-name="跑过的旅程"]')
    assert "已归档" in archived.inner_text() and "进入过 1 位客户" in archived.inner_text()
    shot(page, "journeys-archived-phone")
    with page.expect_navigation():
        archived.get_by_role("link", name="看效果").click()
    assert "已归档" in page.inner_text("body") and page.locator("#funnel .card").count() == 5
