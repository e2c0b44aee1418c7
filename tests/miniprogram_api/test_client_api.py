"""What the rep's client needs from the API: a page session traded for a token (H5 in WeCom's browser), 今日 from
the battle pack, a contact's decision role set by a person, alerts with their 批注 for a manager, and QR codes that
any phone's scanner opens."""

from __future__ import annotations

import io
from datetime import timedelta

from PIL import Image
from pyzbar.pyzbar import decode
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers.battle_pack import battle_pack_for
from salesnav.models import Alert, AlertState, Contact, DecisionRole, DomainEvent
from tests import factories as f
from tests.pages.admin.conftest import sign_in_with_wecom

H5 = {"X-SalesNav-Client": "h5"}


# --- the H5 client's sign-in ---------------------------------------------------------------------


def test_a_signed_in_page_session_becomes_an_api_token(client, org, frozen_clock):
    sign_in_with_wecom(client, "rep01")
    answer = client.post("/api/v1/auth/page-session", headers=H5)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["user"]["userid"] == "rep01" and body["user"]["role"] == "rep"
    me = client.get("/api/v1/me", headers={"Authorization": "Bearer " + body["token"]})
    assert me.status_code == 200 and me.get_json()["name"] == "李销售"


def test_no_page_session_or_no_client_header_is_refused_in_chinese(client, org, frozen_clock):
    anonymous = client.post("/api/v1/auth/page-session", headers=H5)
    assert anonymous.status_code == 401 and anonymous.get_json()["message"] == "请先在企业微信中打开并登录"
    sign_in_with_wecom(client, "rep01")
    cross_site = client.post("/api/v1/auth/page-session")  # a form on another site cannot add the header
    assert cross_site.status_code == 401 and "X-SalesNav-Client" in cross_site.get_json()["message"]


def test_a_page_session_of_someone_who_left_gets_no_token(client, org, session, frozen_clock):
    sign_in_with_wecom(client, "rep01")
    org.rep.active = False
    session.commit()
    answer = client.post("/api/v1/auth/page-session", headers=H5)
    assert answer.status_code == 403 and answer.get_json()["error"] == "not_activated"


# --- 今日 ------------------------------------------------------------------------------------------


def test_today_lists_the_battle_packs_todos_in_its_order(client, org, login, session, frozen_clock):
    cust = f.customer(session, org.rep, name="华山医院")
    f.touchpoint(
        session,
        org.rep,
        cust,
        contact_ids=[cust.contacts[0].id],
        next_action="送样品",
        next_action_due=clock.now() + timedelta(hours=3),
    )
    session.commit()
    today = client.get("/api/v1/today", headers=login(org.rep))
    assert today.status_code == 200, today.get_json()
    body = today.get_json()
    pack = battle_pack_for(session, org.rep, clock.now(), clock.now().astimezone().tzinfo)  # type: ignore[arg-type]
    assert [t["action"] for t in body["todos"]] == [t.action for t in pack.todos]
    first = body["todos"][0]
    assert first["action"] == "送样品" and first["source"] == "next_action" and first["source_label"] == "下一步行动"
    assert first["customer_id"] == cust.id and first["overdue"] is False


# --- contacts -----------------------------------------------------------------------------------


def test_a_rep_sets_a_contacts_role_which_is_then_no_longer_a_guess(client, org, login, session, frozen_clock):
    cust = f.customer(session, org.rep)
    contact = cust.contacts[0]
    contact.decision_role, contact.decision_role_guessed = DecisionRole.INFLUENCER, True
    session.commit()
    answer = client.patch(f"/api/v1/contacts/{contact.id}", headers=login(org.rep), json={"decision_role": "veto"})
    assert answer.status_code == 200, answer.get_json()
    assert (answer.get_json()["decision_role"], answer.get_json()["decision_role_label"]) == ("veto", "否决者")
    session.expire_all()
    stored = session.get(Contact, contact.id)
    assert stored.decision_role is DecisionRole.VETO and not stored.decision_role_guessed
    event = session.scalars(select(DomainEvent).where(DomainEvent.kind == "contact.updated")).one()
    assert event.payload["decision_role"] == "veto" and event.actor_id == org.rep.id


def test_a_contact_outside_the_callers_scope_does_not_exist_and_a_bad_role_is_named(client, org, login, session):
    cust = f.customer(session, org.rep)
    session.commit()
    contact_id = cust.contacts[0].id
    outsider = client.patch(f"/api/v1/contacts/{contact_id}", headers=login(org.outsider_rep), json={"title": "主任"})
    assert outsider.status_code == 404 and outsider.get_json()["message"] == "联系人不存在或您无权查看"
    bad = client.patch(f"/api/v1/contacts/{contact_id}", headers=login(org.rep), json={"decision_role": "老板"})
    assert bad.status_code == 422 and "decision_role" in bad.get_json()["fields"]
    cleared = client.patch(f"/api/v1/contacts/{contact_id}", headers=login(org.rep), json={"decision_role": None})
    assert cleared.status_code == 200 and cleared.get_json()["decision_role"] is None
    assert client.patch(f"/api/v1/contacts/{contact_id}", json={"title": "主任"}).status_code == 401


# --- alerts -------------------------------------------------------------------------------------


def _alert(session, org, cust) -> Alert:
    alert = Alert(
        rule="follow_up_overdue",
        idempotency_key=f"test:{cust.id}",
        subject_type="customer",
        subject_id=cust.id,
        state=AlertState.OPEN,
        title=f"跟进超时：{cust.name}",
        detail={},
        recipient_ids=[org.rep.id, org.manager.id],
        raised_at=clock.now(),
    )
    session.add(alert)
    session.commit()
    return alert


def test_a_manager_sees_the_teams_alerts_with_their_annotations(client, org, login, session, frozen_clock):
    alert = _alert(session, org, f.customer(session, org.rep, name="华山医院"))
    manager = login(org.manager)
    noted = client.post("/api/v1/annotations", headers=manager, json={"alert_id": alert.id, "text": "今天约主任"})
    assert noted.status_code == 201, noted.get_json()
    listed = client.get("/api/v1/alerts", headers=manager).get_json()
    assert [(a["id"], a["owner_name"], a["annotation_count"], a["state"]) for a in listed["items"]] == [
        (alert.id, "李销售", 1, "open")
    ]
    detail = client.get(f"/api/v1/alerts/{alert.id}", headers=manager).get_json()
    assert [n["text"] for n in detail["annotations"]] == ["今天约主任"] and detail["state_label"] == "未处理"


def test_another_teams_manager_sees_no_such_alert(client, org, login, session, frozen_clock):
    alert = _alert(session, org, f.customer(session, org.rep))
    other = login(org.other_manager)
    assert client.get("/api/v1/alerts", headers=other).get_json()["items"] == []
    hidden = client.get(f"/api/v1/alerts/{alert.id}", headers=other)
    assert hidden.status_code == 404 and hidden.get_json()["message"] == "预警不存在或您无权查看"
    resolved = client.get("/api/v1/alerts?state=resolved", headers=login(org.manager)).get_json()
    assert resolved["items"] == []


# --- QR codes -----------------------------------------------------------------------------------


def test_without_a_mini_program_a_qr_code_is_a_link_to_the_h5_client(client, org, login, session, live_api):
    cust = f.customer(session, org.rep)
    session.commit()
    made = client.post("/api/v1/qrcodes", headers=login(org.rep), json={"kind": "touchpoint", "customer_id": cust.id})
    [symbol] = decode(Image.open(io.BytesIO(made.data)))
    link = symbol.data.decode()
    assert link == f"{live_api.base_url}/m/pages/scan/index?scene={made.headers['X-Scene']}"
    assert made.headers["X-Link"] == link
