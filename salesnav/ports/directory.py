"""The directory port: the company's departments and members as the directory (WeCom's address book) lists
them, as typed values. The org sync (salesnav/handlers/admin/org.py) applies them; where they come from is
the adapter registered at start (WeCom's department/list and user/list: salesnav/bot/org_directory.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ROOT_PARENT = 0  # the parent id of the corporation itself


@dataclass(frozen=True)
class ListedDepartment:
    id: int  # the directory's id (Department.wecom_id)
    name: str
    parent_id: int | None  # ROOT_PARENT for the corporation itself; None when the directory gives none
    leader_userids: tuple[str, ...] = ()

    @property
    def is_corporation(self) -> bool:
        return self.parent_id == ROOT_PARENT


@dataclass(frozen=True)
class ListedMember:
    userid: str
    name: str  # may be empty: the directory did not say
    main_department: int  # 0 when the directory gives none
    active: bool  # false: disabled or left
    leads_a_department: bool
    email: str | None = None
    mobile: str | None = None
    direct_leaders: tuple[str, ...] = ()  # userids, the first one is the reporting line


@dataclass(frozen=True)
class Directory:
    """What the directory lists, fetched before any database work."""

    departments: list[ListedDepartment]
    members: list[ListedMember]


class DirectoryUnavailable(RuntimeError):
    """The directory could not be read (its message says why, for the admin)."""


_source: Callable[[], Directory] | None = None


def register(source: Callable[[], Directory]) -> None:
    global _source
    _source = source


def fetch() -> Directory:
    """Both lists from the registered directory; raises DirectoryUnavailable when it cannot be read."""
    if _source is None:
        raise RuntimeError("no directory is registered; call register_adapters() at start")
    return _source()
