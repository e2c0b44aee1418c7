"""Every id a request names — alert, attachment, contact, deal — is checked against the caller's scope before
anything is written: someone else's id is 404 in Chinese, exactly like an id that does not exist."""

from __future__ import annotations

from sqlalchemy import func, select

from salesnav import clock
from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.models import Alert, Annotation, Contact, Material, Touchpoint
from tests import factories as f
from tests.miniprogram_api.test_attachments import _upload, png_bytes
from tests.miniprogram_api.test_work import _deal_in_sample_test

AMR = b"#!AMR\n" + b"\x3c" * 64


def _alert(session, subject_type: str, subject_id: int, recipients, key: str) -> Alert:
    alert = Alert(
        rule="health_red",
        idempotency_key=key,
        subject_type=subject_type,
        subject_id=subject_id,
        title="客户健康红灯",
        recipient_ids=[u.id for u in recipients],
        raised_at=clock.now(),
    )
    session.add(alert)
    session.flush()
    return alert


def _annotations(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Annotation))


def _refused(response, status: int = 404) -> None:
    assert response.status_code == status, response.get_json()
    assert "无权" in response.get_json()["message"] or "不存在" in response.get_json()["message"]


def test_a_manager_cannot_annotate_another_teams_alert(client, org, login, session):
    theirs = f.customer(session, org.outsider_rep, name="外团队医院")
    alert = _alert(session, "customer", theirs.id, [org.other_manager], "red:theirs")
    session.commit()
    response = client.post(
        "/api/v1/annotations", headers=login(org.manager), json={"alert_id": alert.id, "text": "跟进"}
    )
    _refused(response)
    session.refresh(alert)
    assert alert.manager_intervened_at is None  # the intervention metric is not fed by someone else's note
    assert _annotations(session) == 0


def test_a_manager_cannot_reach_another_teams_deal_through_an_alert_about_it(client, org, login, session):
    cust = f.customer(session, org.outsider_rep)
    tp = f.touchpoint(session, org.outsider_rep, cust)
    opp = create_from_touchpoint(
        session, org.outsider_rep, touchpoint_id=tp.id, title="DR", product_line="DR", expected_amount_fen=100_000
    )
    alert = _alert(session, "opportunity", opp.id, [org.other_manager], "overdue:theirs")
    session.commit()
    response = client.post(
        "/api/v1/annotations", headers=login(org.manager), json={"alert_id": alert.id, "text": "跟进"}
    )
    _refused(response)
    assert _annotations(session) == 0


def test_a_manager_annotates_an_alert_they_were_sent_or_one_about_their_team(client, org, login, session):
    mine = f.customer(session, org.rep, name="本团队医院")
    sent_to_me = _alert(session, "customer", mine.id, [org.manager], "red:mine")
    about_my_team = _alert(session, "customer", mine.id, [org.director], "red:escalated")
    session.commit()
    manager = login(org.manager)
    for alert in (sent_to_me, about_my_team):
        response = client.post("/api/v1/annotations", headers=manager, json={"alert_id": alert.id, "text": "跟进"})
        assert response.status_code == 201, response.get_json()
        session.refresh(alert)
        assert alert.manager_intervened_at is not None


def test_another_teams_audio_attachment_is_refused_on_an_annotation(client, org, login, session):
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    session.commit()
    voice = _upload(client, login(org.outsider_rep), AMR, "voice.amr").get_json()["id"]
    body = {"touchpoint_id": tp.id, "text": "听这段", "audio_attachment_id": voice}
    _refused(client.post("/api/v1/annotations", headers=login(org.manager), json=body))
    assert _annotations(session) == 0


def test_a_voice_annotation_takes_the_managers_own_voice_note_but_not_a_photo(client, org, login, session):
    cust = f.customer(session, org.rep)
    tp = f.touchpoint(session, org.rep, cust)
    session.commit()
    manager = login(org.manager)
    voice = _upload(client, manager, AMR, "voice.amr").get_json()["id"]
    photo = _upload(client, manager, png_bytes(), "photo.png").get_json()["id"]
    refused = client.post(
        "/api/v1/annotations", headers=manager, json={"touchpoint_id": tp.id, "audio_attachment_id": photo}
    )
    assert refused.status_code == 400 and refused.get_json()["message"] == "语音批注的附件必须是语音文件"
    accepted = client.post(
        "/api/v1/annotations", headers=manager, json={"touchpoint_id": tp.id, "audio_attachment_id": voice}
    )
    assert accepted.status_code == 201 and accepted.get_json()["audio_attachment_id"] == voice
    assert _annotations(session) == 1


def test_a_department_answers_a_ticket_part_only_with_its_own_or_the_librarys_files(client, org, login, session):
    _deal_in_sample_test(session, org)
    marketer = login(org.marketer)
    [ticket] = client.get("/api/v1/tickets", headers=marketer).get_json()["items"]
    part = next(p["id"] for p in ticket["parts"] if p["department_name"] == "市场部")
    someone_elses = _upload(client, login(org.outsider_rep), png_bytes((41, 30)), "x.png").get_json()["id"]
    refused = client.post(
        f"/api/v1/ticket-parts/{part}/answer", headers=marketer, json={"attachment_ids": [someone_elses]}
    )
    _refused(refused)
    library = _upload(client, login(org.admin), png_bytes((42, 30)), "对比.png").get_json()["id"]
    session.add(Material(title="竞品对比", attachment_id=library, published_at=clock.now()))
    own = _upload(client, marketer, png_bytes((43, 30)), "方案.png").get_json()["id"]
    session.commit()
    answered = client.post(
        f"/api/v1/ticket-parts/{part}/answer", headers=marketer, json={"attachment_ids": [library, own]}
    )
    assert answered.status_code == 200 and answered.get_json()["status"] == "closed"


def test_a_touchpoint_names_only_its_customers_contacts_and_the_reps_visible_files(client, org, login, session):
    mine = f.customer(session, org.rep, name="本人医院")
    theirs = f.customer(session, org.outsider_rep, name="外团队医院")
    session.commit()
    their_contact = session.scalar(select(Contact.id).where(Contact.customer_id == theirs.id))
    rep = login(org.rep)
    their_file = _upload(client, login(org.outsider_rep), AMR, "v.amr").get_json()["id"]
    with_contact = {"customer_id": mine.id, "type": "phone", "contact_ids": [their_contact]}
    assert client.post("/api/v1/touchpoints", headers=rep, json=with_contact).status_code == 400
    with_file = {"customer_id": mine.id, "type": "phone", "attachment_ids": [their_file]}
    _refused(client.post("/api/v1/touchpoints", headers=rep, json=with_file))
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Touchpoint)) == 0
