"""The admin sets the public pool's days per grade, its claim limits and the brief's lead time on the settings page."""

from __future__ import annotations

from sqlalchemy import select

from salesnav.models import RuleSetting
from salesnav.models import session as db
from tests.pages.admin.conftest import csrf, form_as_shown, sign_in_with_password, text_of


def test_the_pool_and_brief_settings_are_on_the_page_and_saved(live, org):
    client = live.app.test_client()
    sign_in_with_password(client)
    page = client.get("/admin/settings")
    shown = text_of(page)
    assert "公海" in shown and "三乙客户多少天未跟进退回公海" in shown and "拜访前多少分钟发送拜访简报" in shown
    form = form_as_shown(page)
    assert form["pool.silent_days.三乙"] == "45" and form["pool.claims_per_day"] == "5"
    form.update({"csrf_token": csrf(client), "pool.silent_days.三乙": "20", "brief.lead_minutes": "2"})
    refused = client.post("/admin/settings", data=form)
    assert refused.status_code == 400 and "「拜访前多少分钟发送拜访简报」必须在 5 到 10080 之间" in text_of(refused)
    form["brief.lead_minutes"] = "90"
    assert client.post("/admin/settings", data=form).status_code == 302
    with db.transaction() as s:
        saved = {row.key: row.value for row in s.scalars(select(RuleSetting))}
    assert saved["pool.silent_days.三乙"] == 20 and saved["brief.lead_minutes"] == 90
