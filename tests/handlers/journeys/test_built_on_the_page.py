"""A journey built on the admin page runs: built and switched on through the page, a 设备科主任's download enters
the hospital, the rep's task goes out with its deadline, and the journey's figures, the customer's detail and its
diagnosis say where the hospital is — then, past the deadline, that it is stuck."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from salesnav.handlers.admin.accounts import create_account
from salesnav.models import EnrollmentState, Journey, StepRunState
from salesnav.models import session as db
from tests.handlers.journeys import arrange as a
from tests.pages.admin.conftest import PASSWORD, csrf, sign_in_with_password

FORM = {
    "name": "白皮书下载后的跟进",
    "trigger.kind": "material.downloaded",
    "trigger.filter.contact_title": "设备科",
    "steps.0.key": "s1",
    "steps.0.title": "销售当天发同级医院案例",
    "steps.0.kind": "action",
    "steps.0.owner.type": "rep",
    "steps.0.action.type": "task",
    "steps.0.action.text": "{联系人}刚下载了《{素材}》，请今天把同级医院的案例发给{客户}",
    "steps.0.action.sla_hours": "8",
    "steps.1.key": "s2",
    "steps.1.title": "三天内是否读了案例",
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
    "steps.2.action.type": "task",
    "steps.2.action.text": "请在 {截止} 前为{客户}预约线上演示",
    "steps.2.action.sla_hours": "48",
    "exit.events": "opportunity.won",
}


def _figures(client, journey_id: int) -> dict[str, str]:
    page = client.get(f"/admin/journeys/{journey_id}/stats").get_data(as_text=True)
    return dict(re.findall(r'data-figure="(\w+)"><div class="num">(\d+)</div>', page))


def test_a_journey_built_on_the_page_enters_a_customer_and_its_figures_follow(session, frozen_clock, app):
    h = a.hospital(session, frozen_clock)
    create_account(session, "boss", PASSWORD)
    session.commit()
    client = app.app.test_client()
    assert sign_in_with_password(client).status_code == 302
    assert (
        client.post("/admin/journeys/save", data={**FORM, "op": "save", "csrf_token": csrf(client)}).status_code == 302
    )
    with db.transaction() as s:
        journey_id = s.scalars(select(Journey.id).where(Journey.name == FORM["name"])).one()
    client.post(f"/admin/journeys/{journey_id}/activate", data={"csrf_token": csrf(client)})
    start = frozen_clock.now()

    a.download(app, h)

    [enrollment] = a.enrollments(journey_id)
    assert enrollment.state is EnrollmentState.ACTIVE and enrollment.customer_id == h.customer_id
    runs = a.runs(journey_id)
    assert (runs["s1"].state, runs["s1"].sla_due_at) == (StepRunState.OPEN, start + timedelta(hours=8))
    assert _figures(client, journey_id) == {
        "entered": "1",
        "active": "1",
        "completed": "0",
        "stuck": "0",
        "exited": "0",
    }

    token = client.post("/api/v1/auth/login", json={"code": "dev-rep01"}).get_json()["token"]
    detail = client.get(f"/api/v1/customers/{h.customer_id}", headers={"Authorization": f"Bearer {token}"})
    [item] = detail.get_json()["journeys"]
    # The flow waits at the condition while the rep's task runs beside it, with the deadline to watch.
    assert (item["journey_name"], item["step_title"], item["step_state"]) == (
        FORM["name"],
        "三天内是否读了案例",
        "waiting",
    )
    assert (item["due_step_title"], item["overdue"]) == ("销售当天发同级医院案例", False)
    assert item["summary"] == (
        "「白皮书下载后的跟进」当前步骤「三天内是否读了案例」 · 等待中；「销售当天发同级医院案例」截止 2026-03-02 17:30"
    )

    frozen_clock.set(start + timedelta(hours=9))  # the rep's deadline has passed, the task not done
    a.advance(app)
    assert sign_in_with_password(client).status_code == 302  # the admin's page session has expired meanwhile
    assert _figures(client, journey_id)["stuck"] == "1"
    diagnosis = client.get(f"/api/v1/customers/{h.customer_id}/diagnosis", headers={"Authorization": f"Bearer {token}"})
    [item] = diagnosis.get_json()["journeys"]
    assert item["overdue"] is True and item["summary"].endswith("截止 2026-03-02 17:30（已超时）")
