"""Only an active admin may change the configuration; checked in the handlers as well as the pages."""

from __future__ import annotations

from salesnav.handlers.errors import Forbidden
from salesnav.models import Role, User


def is_admin(user: User | None) -> bool:
    return user is not None and user.role is Role.ADMIN and user.active and user.deleted_at is None


def require_admin(actor: User | None) -> User:
    if not is_admin(actor):
        raise Forbidden("仅管理员可以修改系统配置")
    assert actor is not None
    return actor


# Customer journeys (issue 20): admins build them; sales managers, directors and admins see how they work.
JOURNEY_STATS_ROLES = frozenset({Role.MANAGER, Role.DIRECTOR, Role.ADMIN})


def may_view_journey_stats(user: User | None) -> bool:
    return user is not None and user.role in JOURNEY_STATS_ROLES and user.active and user.deleted_at is None


def require_journey_stats_viewer(actor: User | None) -> User:
    if not may_view_journey_stats(actor):
        raise Forbidden("仅管理员、销售主管和销售总监可以查看客户旅程的效果")
    assert actor is not None
    return actor
