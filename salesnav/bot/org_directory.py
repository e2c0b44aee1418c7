"""The WeCom adapter of the directory port: department/list and user/list, read into typed values."""

from __future__ import annotations

from typing import Any

from salesnav.bot.client import WeComClient, WeComError, get_client
from salesnav.ports import directory as port

WECOM_ACTIVE = 1  # user/list's status: 1 active, 2 disabled, 4 not yet joined, 5 left


def register() -> None:
    port.register(fetch_directory)


def fetch_directory(client: WeComClient | None = None) -> port.Directory:
    """Both lists from WeCom (`salesnav.bot.client.WeComClient`); no database session is open meanwhile."""
    client = client or get_client()
    try:
        departments = client.departments()
        roots = [d["id"] for d in departments if d.get("parentid") == port.ROOT_PARENT] or [1]
        users: dict[str, dict[str, Any]] = {}
        for root in roots:
            for member in client.members(root):
                users.setdefault(str(member["userid"]), member)
    except WeComError as exc:
        raise port.DirectoryUnavailable(str(exc)) from exc
    return parse_directory(departments, list(users.values()))


def parse_directory(departments: list[dict[str, Any]], users: list[dict[str, Any]]) -> port.Directory:
    return port.Directory([parse_department(d) for d in departments], [parse_member(m) for m in users])


def parse_department(item: dict[str, Any]) -> port.ListedDepartment:
    parent = item.get("parentid")
    return port.ListedDepartment(
        id=int(item["id"]),
        name=str(item["name"]),
        parent_id=None if parent is None else int(parent),
        leader_userids=tuple(str(u) for u in item.get("department_leader") or []),
    )


def parse_member(member: dict[str, Any]) -> port.ListedMember:
    return port.ListedMember(
        userid=str(member["userid"]),
        name=str(member.get("name") or ""),
        main_department=int(member.get("main_department") or 0),
        active=int(member.get("status", WECOM_ACTIVE)) == WECOM_ACTIVE,
        leads_a_department=bool(member.get("is_leader_in_dept") and any(member["is_leader_in_dept"])),
        email=member.get("email") or None,
        mobile=member.get("mobile") or None,
        direct_leaders=tuple(str(u) for u in member.get("direct_leader") or []),
    )
