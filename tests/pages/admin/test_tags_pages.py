"""The admin defines customer tags and the lifecycle settings on their pages: a rule tag previewed (count and
first names) before it is saved, the job then applying exactly the previewed customers; mistakes refused in
Chinese with nothing saved; the lifecycle thresholds previewed per stage, then saved."""

from __future__ import annotations

from sqlalchemy import select

from salesnav import clock
from salesnav.handlers import customer_events, lifecycle, tags
from salesnav.jobs import customer_tags
from salesnav.models import Customer, Health, RuleSetting, TagDefinition, TagKind
from salesnav.models import session as db
from tests import factories as f
from tests.handlers.battle_pack.arrange import won_deal
from tests.pages.admin.conftest import csrf, form_as_shown, sign_in_with_password, text_of


def drained(live):
    """Run the recompute a save queued, as a worker would."""
    live.drain()


def test_the_admin_creates_a_rule_tag_with_a_preview_and_the_job_applies_what_it_showed(live, org, session):
    for name, grade in (("常州妇幼保健院", "三级甲等"), ("无锡人民医院", "三甲"), ("江阴社区医院", "一级")):
        f.customer(session, org.rep, name=name, grade=grade)
    wuxi = session.scalars(select(Customer).where(Customer.name == "无锡人民医院")).one()
    customer_events.record_customer_event(session, customer_id=wuxi.id, kind="material.downloaded")
    session.commit()
    client = live.app.test_client()
    sign_in_with_password(client)

    listing = client.get("/admin/tags")
    assert listing.status_code == 200 and "还没有标签" in text_of(listing) and "新建标签" in text_of(listing)
    assert "客户标签与生命周期" in text_of(client.get("/admin/"))
    form = {
        "csrf_token": csrf(client),
        "label": "三甲",
        "kind": "rule",
        "match": "all",
        "active": "on",
        "cond-0-what": "grade",
        "cond-0-op": "in",
        "cond-0-value": "三级甲等、三甲",
    }
    preview = client.post("/admin/tags/new", data={**form, "action": "preview"})
    shown = text_of(preview)
    assert preview.status_code == 200
    assert '今天符合条件的客户 <span class="count">2</span> 个' in shown
    assert "<ul><li>常州妇幼保健院</li><li>无锡人民医院</li></ul>" in shown
    assert "客户等级 是其中之一 三级甲等、三甲" in shown
    with db.transaction() as s:
        assert s.scalars(select(TagDefinition)).all() == []  # a preview saves nothing

    bad = client.post("/admin/tags/new", data={**form, "cond-0-op": "gte", "action": "save"})
    assert (
        bad.status_code == 400
        and "未保存：第 1 个条件：「客户等级」只能用等于、不等于、是其中之一、包含比较" in text_of(bad)
    )
    bad = client.post(
        "/admin/tags/new",
        data={**form, "cond-1-what": "event", "cond-1-event": "material.downloaded", "action": "save"},
    )
    assert bad.status_code == 400 and "第 2 个条件：天数未填写" in text_of(bad)

    saved = client.post("/admin/tags/new", data={**form, "action": "save"})
    assert saved.status_code == 302
    drained(live)  # the recompute the save queued
    with db.transaction() as s:
        tag = s.scalars(select(TagDefinition)).one()
        assert (tag.label, tag.code, tag.kind) == ("三甲", "sj", TagKind.RULE)
        assert set(s.scalars(select(Customer.name).where(Customer.id.in_(tags.customers_with_tag(s, "sj"))))) == {
            "常州妇幼保健院",
            "无锡人民医院",
        }
    listing = text_of(client.get("/admin/tags"))
    assert "三甲" in listing and "规则标签" in listing and '<td class="count">2</td>' in listing

    edit = client.get(f"/admin/tags/{tag.id}")
    as_shown = form_as_shown(edit)
    assert as_shown["label"] == "三甲" and as_shown["cond-0-value"] == "三级甲等、三甲"
    changed = {**form, "label": "高意向三甲", "match": "all"}
    changed.update({"cond-1-what": "event", "cond-1-event": "material.downloaded", "cond-1-days": "30"})
    preview = client.post(f"/admin/tags/{tag.id}", data={**changed, "action": "preview"})
    assert '今天符合条件的客户 <span class="count">1</span> 个' in text_of(preview) and "无锡人民医院" in text_of(
        preview
    )
    assert client.post(f"/admin/tags/{tag.id}", data={**changed, "action": "save"}).status_code == 302
    drained(live)
    customer_tags.recompute()
    with db.transaction() as s:
        assert [t.label for t in tags.customer_tags(s, wuxi.id)] == ["高意向三甲"]
        assert list(s.scalars(tags.customers_with_tag(s, "sj"))) == [wuxi.id]


def test_a_manual_tag_is_created_and_a_duplicate_name_refused(live, org):
    client = live.app.test_client()
    sign_in_with_password(client)
    form = {"csrf_token": csrf(client), "label": "重点客户", "kind": "manual", "active": "on", "action": "save"}
    assert client.post("/admin/tags/new", data=form).status_code == 302
    again = client.post("/admin/tags/new", data=form)
    assert again.status_code == 400 and "未保存：已有名为「重点客户」的标签" in text_of(again)
    assert client.get("/admin/tags/999").status_code == 404


def test_the_lifecycle_settings_are_previewed_per_stage_then_saved(live, org, session):
    for name in ("常州妇幼保健院", "无锡人民医院"):
        cust = f.customer(session, org.rep, name=name)
        won_deal(session, org.rep, cust, product_line="超声", start=clock.now(), days=[0, 0, 0, 0, 0, 0])
    session.commit()
    client = live.app.test_client()
    sign_in_with_password(client)
    page = client.get("/admin/lifecycle")
    assert "首次赢单后多少天内为新客户试用期" in text_of(page)
    form = {**form_as_shown(page), "csrf_token": csrf(client)}
    assert form["lifecycle.trial_days"] == "90"
    preview = client.post("/admin/lifecycle", data={**form, "action": "preview"})
    assert (
        '<div class="preview-stage" data-stage="trial"> <strong>新客户试用期</strong> <span class="count">2</span>'
        in (text_of(preview))
    )
    bad = client.post("/admin/lifecycle", data={**form, "lifecycle.renewal_months": "0", "action": "save"})
    assert bad.status_code == 400 and "「合同到期前几个月进入续费期」必须在 1 到 24 之间" in text_of(bad)
    form["lifecycle.enabled"] = ""  # the switch off: no stage
    preview = client.post("/admin/lifecycle", data={**form, "action": "preview"})
    assert '<span class="count">2</span>' not in text_of(preview)
    form.pop("lifecycle.enabled")
    assert client.post("/admin/lifecycle", data={**form, "action": "save"}).status_code == 302
    drained(live)
    with db.transaction() as s:
        assert s.scalars(select(RuleSetting.value).where(RuleSetting.key == "lifecycle.enabled")).one() is False
        assert lifecycle.customers_in_stage(s, "trial") == []


def test_the_example_rule_tags_are_installed_once_beside_a_label_already_taken(live, org, session):
    tags.save_definition(session, org.admin, label="风险", kind=TagKind.MANUAL)
    red = f.customer(session, org.rep, name="红灯医院", grade="三级甲等")
    red.health = Health.RED
    session.commit()
    client = live.app.test_client()
    sign_in_with_password(client)
    assert client.post("/admin/tags/examples", data={"csrf_token": csrf(client)}).status_code == 302
    shown = text_of(client.get("/admin/tags"))
    assert "已添加示例规则标签：三甲、高意向、大客户" in shown
    assert "健康度 等于 红灯" not in shown  # 风险 was the admin's own manual tag: left as it was
    assert "累计赢单金额（元） 不少于 1,000,000元" in shown
    client.post("/admin/tags/examples", data={"csrf_token": csrf(client)})
    assert "示例规则标签的名称都已被使用，没有添加" in text_of(client.get("/admin/tags"))
    drained(live)
    with db.transaction() as s:
        # 三甲 by its grade; not 风险: that label is the admin's manual tag; no download, no deal
        assert [t.label for t in tags.customer_tags(s, red.id)] == ["三甲"]
