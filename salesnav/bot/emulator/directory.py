"""The corporate directory as WeCom would report it, read from our own database.

Users and departments come from the `users` and `departments` tables, so a test or the demo
seeds people once and both sides agree on who exists. Department ids: a department keeps its
`wecom_id` when it has one; one that was never synced gets 1000 + its row id. As in WeCom, the
root department is 1 and every top-level department hangs under it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import select

from salesnav import clock
from salesnav.bot.emulator.blueprint import bp, check_call, ok, settings, wecom_error
from salesnav.bot.emulator.state import STATE
from salesnav.models import LOCAL_USERID_PREFIX, Contact, Customer, Department, User
from salesnav.models import session as db

ROOT = 1
DEV_CODE_PREFIX = "dev-"  # oauth2 and mini-program login codes are "dev-<userid>"


def active_userids(wanted: Iterable[str] | None) -> list[str]:
    """Which of these userids are members who can receive messages (all of them when None)."""
    with db.transaction() as session:
        query = select(User.wecom_userid).where(User.deleted_at.is_(None), User.active.is_(True))
        if wanted is not None:
            wanted = list(wanted)
            query = query.where(User.wecom_userid.in_(wanted))
        return list(session.scalars(query))


def _dept_id(dept: Department) -> int:
    return dept.wecom_id if dept.wecom_id is not None else 1000 + dept.id


def _departments() -> tuple[list[dict[str, Any]], dict[int, int]]:
    """WeCom-shaped departments, and our row id -> WeCom id."""
    with db.transaction() as session:
        rows = list(session.scalars(select(Department).where(Department.deleted_at.is_(None))))
        heads = {u.id: u.wecom_userid for u in session.scalars(select(User))}
    ids = {d.id: _dept_id(d) for d in rows}
    out = (
        []
        if ROOT in ids.values()
        else [{"id": ROOT, "name": "企业", "name_en": "", "parentid": 0, "order": 100000000, "department_leader": []}]
    )
    for d in rows:
        wid = ids[d.id]
        parent = ids.get(d.parent_id) if d.parent_id else None
        out.append(
            {
                "id": wid,
                "name": d.name,
                "name_en": "",
                "parentid": 0 if wid == ROOT else (parent or ROOT),
                "order": 100000000 - d.id,
                "department_leader": [heads[d.head_id]] if d.head_id in heads else [],
            }
        )
    return out, ids


def _subtree(departments: list[dict[str, Any]], top: int) -> set[int]:
    found, frontier = {top}, [top]
    while frontier:
        parent = frontier.pop()
        for d in departments:
            if d["parentid"] == parent and d["id"] not in found:
                found.add(d["id"])
                frontier.append(d["id"])
    return found


@bp.get("/cgi-bin/department/list")
def department_list() -> Response:
    errcode = check_call()
    if errcode:
        return wecom_error(errcode)
    departments = _directory()["department"]
    top = request.args.get("id", type=int)
    if top is not None:
        if top not in {d["id"] for d in departments}:
            return wecom_error(60123, "invalid party id")
        keep = _subtree(departments, top)
        departments = [d for d in departments if d["id"] in keep]
    return ok(department=departments)


@bp.get("/cgi-bin/user/list")
def user_list() -> Response:
    errcode = check_call()
    if errcode:
        return wecom_error(errcode)
    directory = _directory()
    departments = directory["department"]
    top = request.args.get("department_id", type=int)
    if top is None or top not in {d["id"] for d in departments}:
        return wecom_error(60123, "invalid party id")
    wanted = _subtree(departments, top) if request.args.get("fetch_child") == "1" else {top}
    return ok(userlist=[u for u in directory["userlist"] if u["main_department"] in wanted])


def _directory() -> dict[str, list[dict[str, Any]]]:
    """The injected directory (control endpoint) when there is one, else ours from the database."""
    with STATE.lock:
        injected = STATE.directory
    if injected is not None:
        return {"department": list(injected.get("department") or []), "userlist": list(injected.get("userlist") or [])}
    departments, ids = _departments()
    return {"department": departments, "userlist": _stored_users(ids)}


def _stored_users(ids: dict[int, int]) -> list[dict[str, Any]]:
    with db.transaction() as session:
        users = list(session.scalars(select(User).where(User.deleted_at.is_(None)).order_by(User.id)))
        userid_of = {u.id: u.wecom_userid for u in users}
        heads = {d.head_id: d.id for d in session.scalars(select(Department)) if d.head_id}
    userlist = []
    for u in users:
        if u.wecom_userid.startswith(LOCAL_USERID_PREFIX):
            continue  # a bootstrap admin of ours (salesnav admin create), not a WeCom member
        dept = ids.get(u.department_id, ROOT) if u.department_id else ROOT
        userlist.append(
            {
                "userid": u.wecom_userid,
                "name": u.name,
                "department": [dept],
                "main_department": dept,
                "order": [0],
                "position": u.role.label,
                "mobile": u.mobile or "",
                "email": u.email or "",
                "is_leader_in_dept": [1 if heads.get(u.id) == u.department_id else 0],
                "direct_leader": [userid_of[u.manager_id]] if u.manager_id in userid_of else [],
                "status": 1 if u.active else 2,
            }
        )
    return userlist


@bp.get("/_directory")
def directory_now() -> Response:
    """Not WeCom's: the whole directory as department/list and user/list would answer now (for tests)."""
    return jsonify(_directory())


def _member_from_code(code: str) -> str | None:
    if not code.startswith(DEV_CODE_PREFIX):
        return None
    userid = code[len(DEV_CODE_PREFIX) :]
    return userid if active_userids([userid]) else None


@bp.get("/cgi-bin/auth/getuserinfo")
def auth_getuserinfo() -> Response:
    errcode = check_call()
    if errcode:
        return wecom_error(errcode)
    userid = _member_from_code(request.args.get("code", ""))
    if userid is None:
        return wecom_error(40029)
    return ok(userid=userid, user_ticket="emu-ticket-" + secrets.token_urlsafe(16), expires_in=1800)


@bp.get("/cgi-bin/miniprogram/jscode2session")
def miniprogram_jscode2session() -> Response:
    errcode = check_call()
    if errcode:
        return wecom_error(errcode)
    userid = _member_from_code(request.args.get("js_code", ""))
    if userid is None:
        return wecom_error(40029)
    return ok(corpid=settings().wecom.corp_id, userid=userid, session_key=secrets.token_urlsafe(18))


@bp.get("/cgi-bin/externalcontact/get")
def externalcontact_get() -> Response:
    errcode = check_call()
    if errcode:
        return wecom_error(errcode)
    external_userid = request.args.get("external_userid", "")
    with STATE.lock:
        registered = STATE.external_contacts.get(external_userid)
    found = _registered_contact(external_userid, registered) if registered else _stored_contact(external_userid)
    return ok(**found) if found else wecom_error(84061)


def _registered_contact(external_userid: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A contact registered through the control endpoint: someone a rep just added on WeChat."""
    follow = spec.get("follow_user") or []
    follow = [follow] if isinstance(follow, str) else follow
    contact = {
        "external_userid": external_userid,
        "name": spec.get("name", "外部联系人"),
        "type": 1,
        "gender": 0,
        "avatar": "",
        "position": spec.get("position", ""),
        "corp_name": spec.get("corp_name", ""),
        "corp_full_name": spec.get("corp_name", ""),
    }
    return {"external_contact": contact, "follow_user": [_follow(u, spec.get("remark", "")) for u in follow]}


def _stored_contact(external_userid: str) -> dict[str, Any] | None:
    if not external_userid:
        return None
    with db.transaction() as session:
        row = session.execute(
            select(Contact, Customer.name, User.wecom_userid)
            .join(Customer, Contact.customer_id == Customer.id)
            .join(User, Customer.owner_id == User.id)
            .where(Contact.external_userid == external_userid, Contact.deleted_at.is_(None))
        ).first()
    if row is None:
        return None
    contact, corp_name, owner = row
    return {
        "external_contact": {
            "external_userid": external_userid,
            "name": contact.name,
            "type": 1,
            "gender": 0,
            "avatar": "",
            "position": contact.title or "",
            "corp_name": corp_name,
            "corp_full_name": corp_name,
        },
        "follow_user": [_follow(owner, contact.name)],
    }


def _follow(userid: str, remark: str) -> dict[str, Any]:
    return {
        "userid": userid,
        "remark": remark,
        "description": "",
        "createtime": int(clock.now().timestamp()),
        "tags": [],
        "remark_mobiles": [],
        "add_way": 1,
        "state": "",
    }
