"""The emulator's own endpoints (not WeCom's): what it received, and fault injection for tests.

- `GET  /_wecom/sent[?touser=rep01][&all=1]` — messages delivered (to that member). `all=1` adds
  the calls WeCom rejected (with their errcode) and the messages it silently dropped.
- `GET  /_wecom/card_updates` — every accepted update_template_card.
- `GET  /_wecom/_control` — counters and the faults in force.
- `POST /_wecom/_control` with any of:
  `{"reset": true}`, `{"expire_tokens": true}`, `{"fail_next": [45009, 42001]}`,
  `{"fail_all_sends": 60020}` (null clears it), `{"lose_answers": 1}` (the next send is delivered but its
  answer is lost: HTTP 504), `{"issue_response_code": true}` (a code that
  update_template_card accepts, as a card-button callback would carry),
  `{"external_contacts": {"wmXXXX": {"name": "张主任", "corp_name": "协和医院", "follow_user": "rep01"}}}`.
  `{"directory": {"department": [...], "userlist": [...]}}` (WeCom-shaped; null clears it): the
  directory department/list and user/list answer with, instead of our tables — an org that changed.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from salesnav.bot.emulator.blueprint import bp, json_body
from salesnav.bot.emulator.state import STATE


@bp.get("/sent")
def sent() -> Response:
    touser = request.args.get("touser")
    everything = request.args.get("all") == "1"
    with STATE.lock:
        records = [dict(r) for r in STATE.messages]
    out = [r for r in records if _matches(r, touser, everything)]
    return jsonify(count=len(out), messages=out)


def _matches(record: dict[str, Any], touser: str | None, everything: bool) -> bool:
    if everything:
        return touser is None or touser in record["touser"].split("|")
    if touser is None:
        return bool(record["delivered_to"])
    return touser in record["delivered_to"]


@bp.get("/card_updates")
def card_updates() -> Response:
    with STATE.lock:
        updates = list(STATE.card_updates)
    return jsonify(count=len(updates), updates=updates)


@bp.get("/_control")
def control_state() -> Response:
    return jsonify(STATE.summary())


@bp.post("/_control")
def control() -> Response | tuple[Response, int]:
    body = json_body()
    if body is None:
        return jsonify(error="expected a JSON object"), 400
    extra: dict[str, Any] = {}
    if body.get("reset"):
        STATE.reset()
    if body.get("expire_tokens"):
        STATE.expire_tokens()
    with STATE.lock:
        if "fail_next" in body:
            STATE.fail_next.extend(int(code) for code in body["fail_next"] or [])
        if "fail_all_sends" in body:
            STATE.fail_all_sends = int(body["fail_all_sends"]) if body["fail_all_sends"] else None
        if "lose_answers" in body:
            STATE.lose_answers = int(body["lose_answers"] or 0)
        if "directory" in body:
            STATE.directory = dict(body["directory"]) if body["directory"] else None
        for external_userid, spec in (body.get("external_contacts") or {}).items():
            STATE.external_contacts[str(external_userid)] = dict(spec)
    if body.get("issue_response_code"):
        extra["response_code"] = STATE.new_response_code()
    return jsonify(**STATE.summary(), **extra)
