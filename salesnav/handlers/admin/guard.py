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
