"""The journey builder through the Flask client: a journey saved from the form is stored as a valid definition,
a wrong one is refused with each Chinese error next to its field and nothing saved, adding and moving steps
keeps what was typed, activate and pause, and who may open what (admins build; managers and directors see
the list and the figures; reps nothing)."""

from __future__ import annotations

import html
import re

from sqlalchemy import delete, func, select

from salesnav.handlers.journeys.definition import parse_definition
from salesnav.models import AuditEntry, Journey, TagDefinition, TagKind
from salesnav.models import session as db
from tests import factories as f
from tests.handlers.journeys.rows import ACTIVE, COMPLETED, DONE, OPEN, Run, enrol, journey, won
from tests.pages.admin.conftest import csrf, sign_in_with_password, sign_in_with_wecom, text_of

BUILT = select(Journey).where(Journey.template.is_(None))  # not the ready journey a fresh company starts with
THREE_STEPS = {
    "name": "白皮书下载后的跟进",
    "trigger.kind": "material.downloaded",
    "trigger.filter.contact_title": "设备科",
    "steps.0.key": "s1",
    "steps.0.title": "销售发同级医院案例",
    "steps.0.kind": "action",
    "steps.0.owner.type": "rep",
    "steps.0.action.type": "task",
    "steps.0.action.text": "请把同级医院的案例发给{客户}",
    "steps.0.action.sla_hours": "8",
    "steps.1.key": "s2",
    "steps.1.title": "三天内是否读完",
    "steps.1.kind": "condition",
    "steps.1.condition.event": "material.read",
    "steps.1.condition.within_hours": "72",
    "steps.1.condition.then": "s3",
    "steps.1.condition.else": "end",
    "steps.2.key": "s3",
    "steps.2.title": "市场部约线上演示",
    "steps.2.kind": "action",
    "steps.2.owner.type": "department",
    "steps.2.owner.department": "marketing",
    "steps.2.action.type": "ticket_part",
    "steps.2.action.text": "请在 {截止} 前为{客户}预约线上演示",
    "steps.2.action.sla_hours": "48",
    "exit.events": "opportunity.won",
    "reentry_days": "30",
    "quiet_hours.start": "21:00",
    "quiet_hours.end": "08:00",
    "frequency_cap.per_contact_per_day": "2",
}


def _admin(live):
    client = live.app.test_client()
    assert sign_in_with_password(client).status_code == 302
    return client


def _post(client, fields, op="save"):
    return client.post("/admin/journeys/save", data={**fields, "op": op, "csrf_token": csrf(client)})


def errors_for(response, place: str) -> list[str]:
    html = response.get_data(as_text=True)
    return re.findall(rf'<div class="field-error" data-for="{re.escape(place)}">([^<]*)</div>', html)


def test_a_journey_built_on_the_form_is_saved_as_a_valid_definition_and_listed(live, org):
    client = _admin(live)
    assert "新建客户旅程" in text_of(client.get("/admin/journeys/new"))

    response = _post(client, THREE_STEPS)
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/journeys")
    listing = text_of(client.get("/admin/journeys"))
    assert "已保存客户旅程「白皮书下载后的跟进」（尚未启用）" in listing
    assert "白皮书下载后的跟进" in listing and "下载了资料" in listing and "3 步" in listing and "未启用" in listing
    with db.transaction() as s:
        journey = s.scalars(BUILT).one()
        assert (journey.active, journey.version, journey.trigger_kind) == (False, 1, "material.downloaded")
        definition = parse_definition(journey.definition)
        assert [step.key for step in definition.steps] == ["s1", "s2", "s3"]
        assert definition.trigger.filter.contact_title == "设备科"
        first, branch, demo = definition.steps
        assert (first.owner.type, first.action.type, first.action.sla_hours) == ("rep", "task", 8)
        assert first.wait is None and first.condition is None  # only the step type's part is kept
        assert (branch.condition.event, branch.condition.within_hours) == ("material.read", 72)
        assert (branch.condition.then, branch.condition.else_) == ("s3", "end")
        assert (demo.owner.type, demo.owner.value, demo.action.type) == ("department", "marketing", "ticket_part")
        assert definition.exit.events == ["opportunity.won"]
        assert (definition.quiet_hours.start.hour, definition.quiet_hours.end.hour) == (21, 8)
        assert definition.frequency_cap.per_contact_per_day == 2
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity_type == "journey")).one()
        assert entry.action == "create" and entry.after["name"] == "白皮书下载后的跟进"

    # Opened again, the form shows what was saved; saved changed, it becomes version 2.
    page = client.get(f"/admin/journeys/{journey.id}/edit")
    assert 'value="销售发同级医院案例"' in page.get_data(as_text=True)
    changed = {**THREE_STEPS, "journey_id": str(journey.id), "steps.0.action.sla_hours": "4"}
    assert _post(client, changed).status_code == 302
    with db.transaction() as s:
        journey = s.get(Journey, journey.id)
        assert journey.version == 2 and journey.definition["steps"][0]["action"]["sla_hours"] == 4
        assert journey.definition["quiet_hours"] == {"start": "21:00:00", "end": "08:00:00"}


def test_a_wrong_journey_is_refused_with_each_chinese_error_next_to_its_field_and_nothing_saved(live, org):
    client = _admin(live)
    wrong = {
        **THREE_STEPS,
        "name": "",
        "trigger.kind": "",
        "steps.0.action.sla_hours": "",  # a task needs its deadline
        "steps.1.condition.within_hours": "三天",
        "frequency_cap.per_contact_per_day": "0",
    }
    response = _post(client, wrong)
    assert response.status_code == 400
    assert "保存未成功，请按提示修改" in text_of(response)
    assert errors_for(response, "name") == ["请填写旅程名称"]
    assert errors_for(response, "trigger.kind") == ["进入条件 · 事件：未填写"]
    assert errors_for(response, "steps.0.action.sla_hours") == [
        "第 1 步「销售发同级医院案例」 · 动作：待办须填写完成时限（小时）"
    ]
    assert errors_for(response, "steps.1.condition.within_hours") == [
        "第 2 步「三天内是否读完」 · 条件 · 时限（小时）：须为数字"
    ]
    assert errors_for(response, "frequency_cap.per_contact_per_day")
    assert 'value="三天"' in response.get_data(as_text=True)  # what was typed stays to be corrected
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(BUILT.subquery())) == 0


def test_a_branch_to_a_step_that_is_gone_is_said_on_top_of_the_form(live, org):
    client = _admin(live)
    response = _post(client, {**THREE_STEPS, "steps.1.condition.then": "s9"})
    assert response.status_code == 400
    assert "步骤「三天内是否读完」指向的步骤「s9」不存在" in text_of(response)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(BUILT.subquery())) == 0


def test_adding_moving_and_removing_steps_keeps_what_was_typed_and_saves_nothing(live, org):
    client = _admin(live)
    added = _post(client, THREE_STEPS, op="add_step")
    html = added.get_data(as_text=True)
    assert added.status_code == 200
    assert 'name="steps.3.title"' in html and 'name="steps.3.key" value="s4"' in html
    assert 'value="销售发同级医院案例"' in html and 'value="市场部约线上演示"' in html

    moved = _post(client, THREE_STEPS, op="up:2").get_data(as_text=True)
    assert moved.index('value="市场部约线上演示"') < moved.index('value="三天内是否读完"')
    removed = _post(client, THREE_STEPS, op="remove:0").get_data(as_text=True)
    assert "销售发同级医院案例" not in removed
    assert re.search(r'name="steps\.1\.title"[^>]*value="市场部约线上演示"', removed)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(BUILT.subquery())) == 0


def test_an_admin_activates_and_pauses_a_journey(live, org):
    client = _admin(live)
    _post(client, THREE_STEPS)
    with db.transaction() as s:
        journey_id = s.scalar(BUILT.with_only_columns(Journey.id))
    token = csrf(client)
    client.post(f"/admin/journeys/{journey_id}/activate", data={"csrf_token": token})
    assert "已启用「白皮书下载后的跟进」" in text_of(client.get("/admin/journeys"))
    with db.transaction() as s:
        journey = s.get(Journey, journey_id)
        assert journey.active and journey.activated_at is not None
    client.post(f"/admin/journeys/{journey_id}/pause", data={"csrf_token": token})
    assert "已暂停「白皮书下载后的跟进」" in text_of(client.get("/admin/journeys"))
    with db.transaction() as s:
        assert not s.get(Journey, journey_id).active
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "journey")).all()
        assert sorted(actions) == ["activate", "create", "deactivate"]
    trail = text_of(client.get("/admin/"))
    assert "客户旅程 #" in trail and "暂停" in trail and "启用：是 → 否" in trail and "在职" not in trail


def test_a_manager_sees_the_journeys_and_their_figures_but_cannot_build_and_a_rep_sees_nothing(live, org):
    admin = _admin(live)
    _post(admin, THREE_STEPS)
    with db.transaction() as s:
        journey_id = s.scalar(BUILT.with_only_columns(Journey.id))

    manager = live.app.test_client()
    sign_in_with_wecom(manager, "mgr01")
    listing = manager.get("/admin/journeys")
    assert listing.status_code == 200
    assert "白皮书下载后的跟进" in text_of(listing) and "看效果" in text_of(listing)
    assert "新建客户旅程" not in text_of(listing) and "打开修改" not in text_of(listing)
    assert manager.get(f"/admin/journeys/{journey_id}/stats").status_code == 200
    assert manager.get("/admin/journeys/new").status_code == 403
    assert manager.get(f"/admin/journeys/{journey_id}/edit").status_code == 403
    token = csrf(manager)
    assert manager.post(f"/admin/journeys/{journey_id}/activate", data={"csrf_token": token}).status_code == 403
    assert _post(manager, {**THREE_STEPS, "name": "主管改的"}).status_code == 403
    assert manager.get("/admin/rules").status_code == 403  # the rest of the admin page stays the admins'

    rep = live.app.test_client()
    sign_in_with_wecom(rep, "rep01")
    assert rep.get("/admin/journeys").status_code == 403
    assert rep.get(f"/admin/journeys/{journey_id}/stats").status_code == 403
    with db.transaction() as s:
        assert (
            not s.get(Journey, journey_id).active and s.scalar(select(func.count()).select_from(BUILT.subquery())) == 1
        )


def test_the_overview_and_the_menu_lead_to_the_journeys(live, org):
    client = _admin(live)
    home = client.get("/admin/").get_data(as_text=True)
    assert 'id="card-journeys" href="/admin/journeys"' in home and "启用中的客户旅程" in home
    assert 'id="nav-journeys"' in home


def test_an_unknown_stats_window_is_refused_in_chinese(live, org):
    client = _admin(live)
    _post(client, THREE_STEPS)
    with db.transaction() as s:
        journey_id = s.scalar(BUILT.with_only_columns(Journey.id))
    response = client.get(f"/admin/journeys/{journey_id}/stats?days=7")
    assert response.status_code == 400 and "统计区间只能是 30、90、180 或 365 天" in text_of(response)
    assert client.get("/admin/journeys/999/stats").status_code == 404


def test_the_articles_example_is_a_ready_journey_to_open_adjust_and_activate(live, org):
    client = _admin(live)
    with db.transaction() as s:  # a fresh company has it from its migration; here the tables start empty
        s.execute(delete(Journey))
    assert "添加现成旅程" in text_of(client.get("/admin/journeys"))
    client.post("/admin/journeys/ready", data={"csrf_token": csrf(client)})
    listing = text_of(client.get("/admin/journeys"))
    assert "已添加现成旅程「白皮书下载后三部门联动」" in listing and "现成旅程" in listing
    assert "联系人职务含「设备科」" in listing
    assert "添加现成旅程" not in listing.replace("已添加现成旅程", "")
    with db.transaction() as s:
        ready = s.scalars(select(Journey).where(Journey.template.is_not(None))).one()
        ready_id, definition = ready.id, ready.definition
    page = client.get(f"/admin/journeys/{ready_id}/edit")
    html = page.get_data(as_text=True)
    for step in definition["steps"]:
        assert re.search(rf'name="steps\.\d+\.title"[^>]*value="{re.escape(step["title"])}"', html)
    assert re.search(r'name="trigger\.filter\.contact_title"[^>]*value="设备科"', html)

    form = {name: value for name, value in _fields(html).items() if name not in ("csrf_token", "op")}
    form["steps.1.action.sla_hours"] = "24"  # marketing gets a day instead of two
    response = _post(client, form)
    assert response.status_code == 302, text_of(response)
    client.post(f"/admin/journeys/{ready_id}/activate", data={"csrf_token": csrf(client)})
    with db.transaction() as s:
        journey = s.get(Journey, ready_id)
        assert journey.active and journey.version == 2
        after = parse_definition(journey.definition)
        assert after.step("book_demo").action.sla_hours == 24
        # everything else the example said came through the form unchanged
        before = parse_definition(definition)
        assert [st.model_dump() for st in after.steps if st.key != "book_demo"] == [
            st.model_dump() for st in before.steps if st.key != "book_demo"
        ]
        assert after.trigger == before.trigger and after.exit == before.exit
        assert (after.quiet_hours, after.frequency_cap, after.reentry_days) == (
            before.quiet_hours,
            before.frequency_cap,
            before.reentry_days,
        )


def _fields(page: str) -> dict[str, object]:
    """The builder form's fields as a browser would post them (inputs, selected options, textareas, checkboxes)."""
    fields: dict[str, object] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        text = html.unescape(value.group(1)) if value else ""
        if 'type="checkbox"' in tag:
            if re.search(r"\schecked\b", tag):
                fields.setdefault(name.group(1), []).append(text)  # type: ignore[union-attr]
            continue
        fields[name.group(1)] = text
    for name, body in re.findall(r'<select[^>]*\sname="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body) or re.search(r'<option value="([^"]*)"', body)
        fields[name] = html.unescape(chosen.group(1)) if chosen else ""
    for tag, body in re.findall(r"<textarea([^>]*)>(.*?)</textarea>", page, re.S):
        fields[re.search(r'name="([^"]+)"', tag).group(1)] = html.unescape(body)  # type: ignore[union-attr]
    return fields


def test_the_figures_page_shows_the_funnel_each_step_and_the_comparison(live, org, session):
    j = journey(session)
    a, b = f.customer(session, org.rep, name="甲医院"), f.customer(session, org.rep, name="乙医院")
    peer = f.customer(session, org.other_rep, name="庚医院")
    enrol(session, j, a, 10, COMPLETED, [Run("s1", DONE), Run("s2", DONE, "then"), Run("s3", DONE)])
    enrol(session, j, b, 5, ACTIVE, [Run("s1", DONE), Run("s2", DONE, "else"), Run("s3", OPEN, sla_in_hours=-2)])
    won(session, a, org.rep, 1_000_000, days_ago=5)
    won(session, peer, org.other_rep, 300_000, days_ago=5)
    session.commit()

    manager = live.app.test_client()
    sign_in_with_wecom(manager, "mgr01")
    page = manager.get(f"/admin/journeys/{j.id}/stats").get_data(as_text=True)
    figures = dict(re.findall(r'data-figure="(\w+)"><div class="num">(\d+)</div>', page))
    assert figures == {"entered": "2", "active": "1", "completed": "1", "stuck": "1", "exited": "0"}
    s3 = re.search(r'<tr data-key="s3">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'class="(reached|now|done)">(\d+)<', s3) == [("reached", "2"), ("now", "1"), ("done", "1")]
    assert '<span class="tag failed">1</span>' in s3
    assert "发生 1 / 未发生 1" in page
    compare = " ".join(re.sub(r"<[^>]+>", " ", page[page.index('id="compare"') :]).split())
    assert "客户数 2 1" in compare and "赢单数 1 1" in compare and "赢单金额 ¥10,000 ¥3,000" in compare
    assert "平均每个客户 ¥5,000 ¥3,000" in compare and "有赢单的客户占比 50.0% 100.0%" in compare


def test_the_trigger_filters_offer_the_companys_tags_and_the_lifecycle_stages(live, org, session):
    session.add(TagDefinition(code="high_intent", label="高意向", kind=TagKind.MANUAL))
    session.commit()
    client = _admin(live)
    page = client.get("/admin/journeys/new").get_data(as_text=True)
    assert '<option value="high_intent" >高意向</option>' in page
    assert '<option value="renewal" >老客户续费前3个月</option>' in page
    chosen = {**THREE_STEPS, "trigger.filter.tag": "high_intent", "trigger.filter.lifecycle": "renewal"}
    assert _post(client, chosen).status_code == 302
    with db.transaction() as s:
        stored = parse_definition(s.scalars(BUILT).one().definition).trigger.filter
        assert (stored.tag, stored.lifecycle) == ("high_intent", "renewal")
    listing = text_of(client.get("/admin/journeys"))  # the list says which stage and which tag let customers in
    assert "「老客户续费前3个月」「高意向」" in listing


def test_a_forged_form_gets_chinese_answers_never_a_500(live, org):
    client = _admin(live)
    forged = [
        {**THREE_STEPS, "trigger": "x"},
        {**THREE_STEPS, "exit": "x"},
        {**THREE_STEPS, "steps.0.owner": "x"},
        {**THREE_STEPS, "steps.0.action": "x", "steps.1": "y"},
        {**THREE_STEPS, "steps.x.title": "不是数字的步骤", "steps.999.title": "太远的步骤"},
        {**THREE_STEPS, "steps.0.kind": "delete_all", "reentry_days": "很久"},
        {**THREE_STEPS, "journey_id": "99999"},
        {"name": "只有名字"},
    ]
    for form in forged:
        response = _post(client, form)
        assert response.status_code in (302, 400, 404), (form, response.status_code)
        if response.status_code != 302:  # saved: what could not be read was left out
            assert re.search(r"[\u4e00-\u9fff]", text_of(response))
    for op in ("up:99", "remove:abc", "down:-1", "explode"):
        assert _post(client, THREE_STEPS, op=op).status_code == 200


def test_a_department_named_by_its_name_and_a_retired_material_are_kept_when_the_journey_is_opened(live, org, session):
    client = _admin(live)
    named = {**THREE_STEPS, "steps.2.owner.department": "交付部"}  # the company's own name, not a kind
    assert _post(client, named).status_code == 302
    with db.transaction() as s:
        journey_id = s.scalar(BUILT.with_only_columns(Journey.id))
        journey_ = s.get(Journey, journey_id)
        journey_.definition = {
            **journey_.definition,
            "steps": [
                {
                    **journey_.definition["steps"][0],
                    "action": {**journey_.definition["steps"][0]["action"], "material_id": 777},
                },
                *journey_.definition["steps"][1:],
            ],
        }
    html = client.get(f"/admin/journeys/{journey_id}/edit").get_data(as_text=True)
    assert re.search(r'<option value="交付部"\s*selected>交付部</option>', html)
    assert '<option value="777" selected>素材 #777（已下架或不存在）</option>' in html
    form = {k: v for k, v in _fields(html).items() if k not in ("csrf_token", "op")}
    response = _post(client, form)  # saved again as shown: the missing material is said, not silently dropped
    assert response.status_code == 400 and "的素材不存在或已下架，请重新选择" in text_of(response)


def test_a_manager_sees_the_journeys_figures_for_their_team_a_director_and_an_admin_for_everyone(live, org, session):
    j = journey(session)
    mine_done = f.customer(session, org.rep, name="甲医院")  # 钱主管's team (rep01, rep02)
    mine_stuck = f.customer(session, org.other_rep, name="乙医院")
    theirs = f.customer(session, org.outsider_rep, name="丙医院")  # 孙主管's team (rep03)
    my_peer = f.customer(session, org.other_rep, name="庚医院")
    their_peer = f.customer(session, org.outsider_rep, name="辛医院")
    enrol(session, j, mine_done, 10, COMPLETED, [Run("s1", DONE), Run("s2", DONE, "then"), Run("s3", DONE)])
    enrol(session, j, mine_stuck, 5, ACTIVE, [Run("s1", OPEN, sla_in_hours=-2)])
    enrol(session, j, theirs, 3, ACTIVE, [Run("s1", DONE), Run("s2", DONE, "else")])
    won(session, mine_done, org.rep, 1_000_000, days_ago=5)
    won(session, theirs, org.outsider_rep, 2_000_000, days_ago=5)
    won(session, my_peer, org.other_rep, 300_000, days_ago=5)
    won(session, their_peer, org.outsider_rep, 700_000, days_ago=5)
    session.commit()

    def seen_by(client):
        page = client.get(f"/admin/journeys/{j.id}/stats").get_data(as_text=True)
        figures = dict(re.findall(r'data-figure="(\w+)"><div class="num">(\d+)</div>', page))
        compare = " ".join(re.sub(r"<[^>]+>", " ", page[page.index('id="compare"') :]).split())
        scope = re.search(r'<p class="muted" id="scope">([^<]*)</p>', page).group(1)
        listing = text_of(client.get("/admin/journeys"))
        return figures, compare, scope, listing

    manager = live.app.test_client()
    sign_in_with_wecom(manager, "mgr01")
    figures, compare, scope, listing = seen_by(manager)
    assert figures == {"entered": "2", "active": "1", "completed": "1", "stuck": "1", "exited": "0"}
    assert "客户数 2 1" in compare and "赢单金额 ¥10,000 ¥3,000" in compare  # 甲乙 against 庚, not 丙 or 辛
    assert scope.startswith("统计范围：您团队（2 名销售）的客户") and "对比的相似客户也在您团队中" in scope
    assert "进入过 2 位客户，1 位在旅程中" in listing and "客户人数只计您团队（2 名销售）的客户" in listing

    other_manager = live.app.test_client()
    sign_in_with_wecom(other_manager, "mgr02")
    figures, compare, scope, listing = seen_by(other_manager)
    assert figures == {"entered": "1", "active": "1", "completed": "0", "stuck": "0", "exited": "0"}
    assert "客户数 1 1" in compare and "赢单金额 ¥20,000 ¥7,000" in compare
    assert "您团队（1 名销售）" in scope and "进入过 1 位客户，1 位在旅程中" in listing

    director = live.app.test_client()
    sign_in_with_wecom(director, "dir01")
    for everyone in (_admin(live), director):
        figures, compare, scope, listing = seen_by(everyone)
        assert figures == {"entered": "3", "active": "2", "completed": "1", "stuck": "1", "exited": "0"}
        assert "客户数 3 2" in compare and "赢单金额 ¥30,000 ¥10,000" in compare
        assert scope == "统计范围：全公司的客户。" and "进入过 3 位客户，2 位在旅程中" in listing
        assert "客户人数只计" not in listing
