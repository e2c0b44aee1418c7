"""A manager's annotation from the mini-program reaches the rep in WeCom, as one from the chat does."""

from __future__ import annotations

from tests import factories as f


def test_an_annotation_posted_through_the_api_is_pushed_to_the_rep(client, org, login, live_api, session) -> None:  # type: ignore[no-untyped-def]
    tp = f.touchpoint(session, org.rep, f.customer(session, org.rep))
    session.commit()
    note = client.post(
        "/api/v1/annotations", headers=login(org.manager), json={"touchpoint_id": tp.id, "text": "下次带上报价单"}
    )
    assert note.status_code == 201, note.get_json()
    live_api.drain()
    cards = [m["payload"] for m in live_api.emulator.sent(org.rep.wecom_userid) if m["msgtype"] == "template_card"]
    assert [c["quote_area"]["quote_text"] for c in cards] == ["下次带上报价单"]
    assert live_api.emulator.sent(org.other_rep.wecom_userid) == []
