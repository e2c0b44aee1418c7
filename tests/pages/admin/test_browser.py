"""The admin page in headless Chromium on a phone-sized screen: sign in, change a threshold after its
preview, add a checklist item that then refuses a stage advance through the API, sync the org from the
WeCom emulator, hand a leaving rep's customers over, resend a failed message or all of them. Screenshots under
test-output/admin/."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from salesnav import clock
from salesnav.bot.outbox import queue_text
from salesnav.handlers.collaboration import open_ticket
from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.models import (
    AuditEntry,
    ChecklistItem,
    Customer,
    Department,
    Opportunity,
    OutboundMessage,
    OutboundStatus,
    Role,
    RuleSetting,
    Stage,
    User,
)
from salesnav.models import session as db
from tests import factories as f
from tests.pages.admin.conftest import csrf, shot, sign_in_browser, sign_in_with_password, submit, text_of


def _deal(session, rep, hours_ago: float, name: str):
    customer = f.customer(session, rep, name=name)
    tp = f.touchpoint(
        session,
        rep,
        customer,
        occurred_at=clock.now() - timedelta(hours=hours_ago),
    )
    return create_from_touchpoint(
        session, rep, touchpoint_id=tp.id, title=f"{name}CT", product_line="CT", expected_amount_fen=10_000_000
    )


def test_admin_previews_a_lower_follow_up_threshold_then_saves_it(live, org, session, page):
    _deal(session, org.rep, hours_ago=50, name="仁济医院")  # overdue at 48 h, not at the default 72 h
    session.commit()
    sign_in_browser(page, live, "/admin/rules")
    page.fill("#follow_up\\.overdue_hours", "48")
    submit(page, page.locator("#preview-button"))
    preview = page.locator('.preview-rule[data-rule="follow_up_overdue"]')
    assert "仁济医院" in preview.inner_text()
    assert preview.locator(".count").inner_text() == "1"
    shot(page, "rules-preview")
    with db.transaction() as s:  # the preview saved and sent nothing
        assert s.scalar(select(RuleSetting.id)) is None
        assert s.scalar(select(OutboundMessage.id)) is None
    submit(page, page.locator("#save-button"))
    assert "已保存 1 项规则设置" in page.inner_text("body")
    shot(page, "rules-saved")
    with db.transaction() as s:
        assert s.scalars(select(RuleSetting.value).where(RuleSetting.key == "follow_up.overdue_hours")).one() == 48
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "rule_setting")).one()
        admin = s.get(User, entry.actor_id)
        assert admin.wecom_userid == "local:boss"
        assert (entry.before, entry.after) == ({"follow_up.overdue_hours": 72}, {"follow_up.overdue_hours": 48})


def test_a_checklist_item_added_by_the_admin_refuses_a_stage_advance_through_the_api(live, org, session, page):
    opp = _deal(session, org.rep, hours_ago=1, name="华山医院")
    session.commit()
    sign_in_browser(page, live, "/admin/stages")
    stage = page.locator('section.stage[data-code="needs_confirmed"]')
    form = stage.locator("form.add-item")
    form.locator('input[name="name"]').fill("科室预算确认函")
    form.locator('select[name="kind"]').select_option("text")
    submit(page, form.get_by_role("button", name="添加检查项"))
    assert "已新增检查项" in page.inner_text("body")
    added = page.locator('section.stage[data-code="needs_confirmed"] input[name="name"][value="科室预算确认函"]')
    assert added.count() == 1
    shot(page, "stages-item-added")

    client = live.app.test_client()
    token = client.post("/api/v1/auth/login", json={"code": "dev-rep01"}).get_json()["token"]
    with db.transaction() as s:
        record = s.scalars(
            select(ChecklistItem)
            .join(Stage)
            .where(Stage.code == "needs_confirmed", ChecklistItem.name == "客户需求记录")
        ).one()
        record_id = record.id
    response = client.post(
        f"/api/v1/opportunities/{opp.id}/advance",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "to_stage": "needs_confirmed",
            "evidence": [{"checklist_item_id": record_id, "text": "需要 64 排 CT", "checked": False}],
        },
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["missing"] == ["科室预算确认函"]
    with db.transaction() as s:
        assert s.get(Opportunity, opp.id).stage.code == "initial_contact"


def test_admin_syncs_a_changed_org_from_the_wecom_emulator(live, org, page):
    directory = live.emulator.directory()
    users = directory["userlist"]
    sales = next(u for u in users if u["userid"] == "rep01")["main_department"]
    for member in users:
        if member["userid"] == "rep02":
            member["name"] = "周销售（改名）"
        if member["userid"] == "rep03":
            member["status"] = 5  # left the company
    users.append(
        {
            "userid": "rep99",
            "name": "新来的销售",
            "department": [sales],
            "main_department": sales,
            "mobile": "+8613900000099",
            "email": "rep99@example.test",
            "is_leader_in_dept": [0],
            "direct_leader": ["mgr01"],
            "status": 1,
        }
    )
    live.emulator.set_directory(directory["department"], users)
    sign_in_browser(page, live, "/admin/org")
    submit(page, page.locator("#sync"))
    body = page.inner_text("body")
    assert "新增成员 1 人" in body and "停用成员 1 人" in body
    assert "新来的销售" in page.locator("#members").inner_text()
    shot(page, "org-synced")
    with db.transaction() as s:
        new = s.scalars(select(User).where(User.wecom_userid == "rep99")).one()
        assert (new.role.value, s.get(User, new.manager_id).wecom_userid) == ("rep", "mgr01")
        assert s.scalars(select(User).where(User.wecom_userid == "rep03")).one().active is False
        assert s.scalars(select(User).where(User.wecom_userid == "rep02")).one().name == "周销售（改名）"
        assert s.scalars(select(User).where(User.wecom_userid == "local:boss")).one().active  # not WeCom's


def test_admin_hands_a_leaving_reps_customers_over_in_one_action(live, org, session, page):
    opp = _deal(session, org.rep, hours_ago=2, name="中山医院")
    other = f.customer(session, org.rep, name="瑞金医院")
    session.commit()
    sign_in_browser(page, live, f"/admin/org/handover?leaver_id={org.rep.id}")
    assert "2 个客户" in page.inner_text("body")
    page.select_option("#successor_id", str(org.other_rep.id))
    shot(page, "handover-form")
    submit(page, page.locator("#handover"))
    assert "李销售的 2 个客户、1 个进行中商机" in page.inner_text("body")
    shot(page, "handover-done")
    with db.transaction() as s:
        assert {s.get(Customer, c).owner_id for c in (opp.customer_id, other.id)} == {org.other_rep.id}
        assert s.get(Opportunity, opp.id).owner_id == org.other_rep.id
        assert s.get(User, org.rep.id).active is False
        changes = s.scalars(select(AuditEntry).where(AuditEntry.action == "owner_change")).all()
        assert len(changes) == 3 and all(e.before["owner_id"] == org.rep.id for e in changes)
    live.drain()
    assert any("客户交接" in m["payload"]["content"] for m in live.emulator.sent("rep02"))


def test_admin_resends_a_failed_message(live, org, page):
    with db.transaction() as s:
        message = queue_text(s, "rep01", "【跟进超时预警】测试消息")
        s.flush()
        message_id = message.id
    live.drain()
    with db.transaction() as s:  # as the outbox leaves a message after its last attempt
        row = s.get(OutboundMessage, message_id)
        row.status, row.attempts, row.last_error = OutboundStatus.FAILED, 5, "60020: not allow to access from your ip"
    before = len(live.emulator.sent("rep01"))
    sign_in_browser(page, live, "/admin/delivery?status=failed")
    row = page.locator(f'#outbound tr[data-id="{message_id}"]')
    assert "李销售" in row.inner_text() and "【跟进超时预警】测试消息" in row.inner_text()
    assert "服务器 IP 不在企业微信应用的可信 IP 名单中（错误码 60020）" in row.inner_text()
    shot(page, "delivery-failed")
    submit(page, row.get_by_role("button", name="重发"))
    assert f"消息 #{message_id} 已重新排队，由后台任务发送" in page.inner_text("body")
    live.drain()
    with db.transaction() as s:
        assert s.get(OutboundMessage, message_id).status is OutboundStatus.SENT
    assert len(live.emulator.sent("rep01")) == before + 1
    page.goto(live.base_url + "/admin/delivery")
    shot(page, "delivery-resent")


def test_admin_sees_the_failed_count_on_the_overview_and_resends_all_failed_messages(live, org, page):
    live.emulator.fail_next(81013, 81013)  # WeCom refuses both recipients for good
    with db.transaction() as s:
        ids = [queue_text(s, "rep01", "【跟进超时预警】协和医院").id, queue_text(s, "mgr01", "【信用审核】华山医院").id]
    live.drain()
    sign_in_browser(page, live)
    assert page.inner_text("#card-failed .num") == "2" and page.inner_text("#card-stuck .num") == "0"
    shot(page, "overview-delivery")
    submit(page, page.locator("#card-failed"))
    assert "接收人不在应用的可见范围内，或已离职" in page.inner_text("#outbound")
    submit(page, page.get_by_role("button", name="全部重发（2 条发送失败）"))
    assert "已重新排队 2 条发送失败的消息，由后台任务发送" in page.inner_text("body")
    live.drain()
    with db.transaction() as s:
        assert {s.get(OutboundMessage, i).status for i in ids} == {OutboundStatus.SENT}
    assert [m["payload"]["content"] for m in live.emulator.sent("mgr01")] == ["【信用审核】华山医院"]
    page.goto(live.base_url + "/admin/")
    assert page.inner_text("#card-failed .num") == "0"


def test_admin_names_a_marketer_for_ticket_notices_who_then_gets_the_card(live, org, session, page):
    colleague = f.user(session, "mkt02", Role.STAFF, org.marketing, name="冯市场")
    session.commit()
    sign_in_browser(page, live, "/admin/org")
    row = page.locator('#ticket-notices tr[data-department="市场部"]')
    assert "郑市场" in row.inner_text() and "无" in row.inner_text()
    with page.expect_navigation():
        row.get_by_role("link", name="设置").click()
    page.get_by_label("冯市场（员工）").check()
    shot(page, "ticket-notices")
    submit(page, page.get_by_role("button", name="保存"))
    assert "已保存市场部的协同单通知名单" in page.inner_text("body")
    with db.transaction() as s:
        assert s.get(Department, org.marketing.id).ticket_notice_user_ids == [colleague.id]
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "ticket_notices")).one()

    session.expire_all()  # the test's own session reads what the page saved
    opp = _deal(session, org.rep, hours_ago=1, name="华山医院")
    open_ticket(session, org.rep, opp, reason="商机进入样品测试")
    session.commit()
    live.drain()
    [card] = [m["payload"] for m in live.emulator.sent("mkt02") if m["msgtype"] == "template_card"]
    assert card["main_title"]["desc"] == "提供竞品对比材料"

    # A member of another department cannot be named, even by a forged form.
    client = live.app.test_client()
    sign_in_with_password(client)
    refused = client.post(
        f"/admin/org/departments/{org.marketing.id}",
        data={"notice_user_id": str(org.rep.id), "csrf_token": csrf(client)},
    )
    assert refused.status_code == 400 and "李销售不是市场部的成员" in text_of(refused)
