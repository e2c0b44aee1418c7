"""Who may use the admin page: admins only (403 for everyone else on every page and form), CSRF on
every form, sessions that expire, and settings refused whole when any field is wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from salesnav.handlers import rule_settings
from salesnav.models import AuditEntry, RuleSetting, User
from salesnav.models import session as db
from tests.pages.admin.conftest import csrf, form_as_shown, sign_in_with_password, sign_in_with_wecom, text_of


def admin_routes(app):  # every route of the blueprint, so a page added later cannot be forgotten
    routes = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.") and r.endpoint != "admin.login"]
    assert len(routes) >= 15
    return routes


def url_of(rule) -> str:
    return rule.build({name: 1 for name in rule.arguments})[1]


def test_a_signed_in_non_admin_gets_403_on_every_admin_page_and_form(live, org):
    client = live.app.test_client()
    sign_in_with_wecom(client, "rep01")
    token = csrf(client)
    assert token
    checked = 0
    for rule in admin_routes(live.app):
        url = url_of(rule)
        if "GET" in rule.methods:
            assert client.get(url).status_code == 403, url
            checked += 1
        if "POST" in rule.methods:
            response = client.post(url, data={"csrf_token": token, "follow_up.overdue_hours": "1"})
            assert response.status_code == 403, url
            assert "仅限管理员" in text_of(response)
            checked += 1
    assert checked >= 17
    with db.transaction() as s:
        assert s.scalar(select(func.count(RuleSetting.id))) == 0


def test_a_director_is_not_an_admin_either(live, org):
    client = live.app.test_client()
    sign_in_with_wecom(client, "dir01")
    assert client.get("/admin/rules").status_code == 403


def test_a_wecom_admin_signs_in_through_oauth(live, org):
    client = live.app.test_client()
    sign_in_with_wecom(client, "admin")
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "最近的变更记录" in text_of(response)


def test_nobody_signed_in_is_sent_to_the_sign_in_page_and_cannot_post(live, org):
    client = live.app.test_client()
    response = client.get("/admin/rules")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    assert client.post("/admin/org/sync", data={}).status_code == 401


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(live, org):
    client = live.app.test_client()
    for username, password in (("boss", "wrong-password"), ("nobody", "whatever-it-is")):
        response = sign_in_with_password(client, username, password)
        assert response.status_code == 400
        assert "用户名或密码不正确" in text_of(response)
    assert client.get("/admin/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused_and_saves_nothing(live, org):
    client = live.app.test_client()
    assert sign_in_with_password(client).status_code == 302
    form = {
        "action": "save",
        "follow_up.enabled": "on",
        "follow_up.overdue_hours": "48",
        "follow_up.escalate_after_hours": "48",
    }
    response = client.post("/admin/rules", data=form)
    assert response.status_code == 400
    assert "表单已过期" in text_of(response)
    response = client.post("/admin/rules", data={**form, "csrf_token": "forged"})
    assert response.status_code == 400
    # The login form too: a site cannot sign a victim in as someone else.
    other = live.app.test_client()
    assert other.post("/admin/login", data={"username": "boss", "password": "x" * 12}).status_code == 400
    with db.transaction() as s:
        assert s.scalar(select(func.count(RuleSetting.id))) == 0


@pytest.mark.parametrize(
    ("typed", "message"), [("-5", "必须在 1 到 2160 之间"), ("七十二", "必须是整数"), ("", "请填写")]
)
def test_a_bad_threshold_is_refused_in_chinese_and_nothing_is_saved(live, org, typed, message):
    client = live.app.test_client()
    sign_in_with_password(client)
    form = form_as_shown(client.get("/admin/rules"))
    assert form["follow_up.overdue_hours"] == "72" and form["credit.amount_threshold_fen"] == "500000"
    form.update(
        {
            "csrf_token": csrf(client),
            "action": "save",
            "follow_up.overdue_hours": typed,
            "follow_up.escalate_after_hours": "24",
            "credit.amount_threshold_fen": "300000",
        }
    )
    response = client.post("/admin/rules", data=form)
    assert response.status_code == 400
    body = text_of(response)
    assert "未保存" in body and message in body and "超过多少小时未跟进算超时" in body
    with db.transaction() as s:  # the good fields in the same form were not saved either
        assert s.scalar(select(func.count(RuleSetting.id))) == 0
        assert s.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.entity_type == "rule_setting")) == 0


def test_health_weights_must_add_up_to_100_percent(live, org):
    client = live.app.test_client()
    sign_in_with_password(client)
    form = form_as_shown(client.get("/admin/settings"))
    assert form["dashboard.health_weights.quality"] == "40"
    form.update({"csrf_token": csrf(client), "dashboard.health_weights.quality": "50"})
    response = client.post("/admin/settings", data=form)
    assert response.status_code == 400 and "各项之和必须是 100%（现在是 110%）" in text_of(response)
    form["dashboard.health_weights.quality"] = "40"
    form["dashboard.health_weights.compliance"] = "40"
    form["dashboard.health_weights.penetration"] = "20"
    assert client.post("/admin/settings", data=form).status_code == 302
    with db.transaction() as s:
        row = s.scalars(select(RuleSetting).where(RuleSetting.key == "dashboard.health_weights")).one()
        assert row.value == {"quality": 0.4, "compliance": 0.4, "penetration": 0.2}


def test_the_session_expires(live, org, frozen_clock):
    client = live.app.test_client()
    sign_in_with_password(client)
    assert client.get("/admin/").status_code == 200
    frozen_clock.advance(timedelta(hours=8, seconds=1))
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_a_demoted_admin_loses_access_at_once(live, org):
    client = live.app.test_client()
    sign_in_with_wecom(client, "admin")
    assert client.get("/admin/").status_code == 200
    with db.transaction() as s:
        s.scalars(select(User).where(User.wecom_userid == "admin")).one().role = org.rep.role
    assert client.get("/admin/").status_code == 403


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(live, org, frozen_clock):
    client = live.app.test_client()
    for _ in range(5):
        assert "用户名或密码不正确" in text_of(sign_in_with_password(client, "boss", "wrong-password"))

    locked = sign_in_with_password(client)  # the right password, refused while locked
    assert locked.status_code == 400
    assert "密码错误次数过多，账号已临时锁定，请 15 分钟后再试" in text_of(locked)
    frozen_clock.advance(timedelta(minutes=14, seconds=59))
    assert sign_in_with_password(client).status_code == 400

    frozen_clock.advance(timedelta(seconds=2))
    assert sign_in_with_password(client).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_successful_sign_in_starts_the_count_again(live, org, frozen_clock):
    client = live.app.test_client()
    for _ in range(4):
        sign_in_with_password(client, "boss", "wrong-password")
    frozen_clock.advance(timedelta(seconds=1))
    assert sign_in_with_password(client).status_code == 302
    frozen_clock.advance(timedelta(seconds=1))
    for _ in range(4):
        sign_in_with_password(client, "boss", "wrong-password")
    assert sign_in_with_password(client).status_code == 302


def test_the_grace_before_imported_deals_alert_is_a_rule_setting_on_the_rules_page(live, org):
    client = live.app.test_client()
    sign_in_with_password(client)
    page = client.get("/admin/rules")
    form = form_as_shown(page)
    assert form["follow_up.import_grace_hours"] == "72"
    assert "Excel 导入的商机在导入后多少小时内不发跟进超时预警" in text_of(page)
    form.update({"csrf_token": csrf(client), "action": "save", "follow_up.import_grace_hours": "24"})
    assert client.post("/admin/rules", data=form).status_code in (200, 302)
    with db.transaction() as s:
        assert rule_settings.get(s, "follow_up.import_grace_hours") == 24
