"""Password sign-in for the admin page's first run (`salesnav admin create USERNAME`).

An account is bound to a `User` with the admin role, so every change it makes is audited with an
ordinary actor. Bootstrap accounts get a user of their own whose userid starts with
`LOCAL_USERID_PREFIX` (a colon, which WeCom userids never contain): org sync leaves it alone.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from salesnav.models.base import Base, BigId, IdMixin, SoftDeleteMixin, TimestampMixin
from salesnav.models.org import User

LOCAL_USERID_PREFIX = "local:"


class AdminAccount(IdMixin, TimestampMixin, SoftDeleteMixin, Base):
    __tablename__ = "admin_accounts"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # werkzeug.security (scrypt)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    last_login_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
