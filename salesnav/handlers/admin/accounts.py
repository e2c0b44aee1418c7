"""Bootstrap admin accounts: a username and a hashed password for the first run, before org sync.

Hashes are werkzeug.security's (scrypt, salted). A wrong username and a wrong password take the
same time and give the same answer, so the sign-in page does not reveal which accounts exist.
After MAX_FAILURES wrong passwords within LOCKOUT an account refuses every password, the right one too,
until the oldest of them is LOCKOUT old (refused tries while locked do not count): at most MAX_FAILURES
guesses per LOCKOUT, so guessing a password becomes hopeless. Failures are domain
events (admin.login_failed), so every process sees them and the audit keeps them.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from salesnav import clock
from salesnav.handlers.admin.guard import is_admin
from salesnav.handlers.errors import DomainError
from salesnav.handlers.records import audit, record_event
from salesnav.models import LOCAL_USERID_PREFIX, AdminAccount, DomainEvent, Role, User

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
FAILED = "admin.login_failed"
# Checked against when the username is unknown, so that case costs as much as a wrong password.
_DUMMY_HASH = generate_password_hash("salesnav-not-a-password")


def create_account(session: Session, username: str, password: str, *, wecom_userid: str | None = None) -> AdminAccount:
    """A new admin account; bound to an existing member (`wecom_userid`) or to a local admin user."""
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise DomainError("用户名须为 3–64 位字母、数字、下划线、点或短横线")
    if len(password or "") < MIN_PASSWORD:
        raise DomainError(f"密码至少 {MIN_PASSWORD} 位")
    if session.scalars(select(AdminAccount).where(AdminAccount.username == username)).first() is not None:
        raise DomainError(f"管理员账号「{username}」已存在")
    if wecom_userid:
        user = session.scalars(select(User).where(User.wecom_userid == wecom_userid)).first()
        if user is None or user.deleted_at is not None:
            raise DomainError(f"没有企业微信账号为「{wecom_userid}」的成员")
        before = {"role": user.role.value, "active": user.active}
        user.role, user.active = Role.ADMIN, True
    else:
        userid = LOCAL_USERID_PREFIX + username
        user = session.scalars(select(User).where(User.wecom_userid == userid)).first()
        before = {} if user is None else {"role": user.role.value, "active": user.active}
        if user is None:
            user = User(wecom_userid=userid, name=f"管理员 {username}", role=Role.ADMIN)
            session.add(user)
        user.role, user.active, user.deleted_at = Role.ADMIN, True, None
    session.flush()
    account = AdminAccount(username=username, password_hash=generate_password_hash(password), user_id=user.id)
    session.add(account)
    session.flush()
    audit(
        session,
        None,
        "admin_account",
        account.id,
        "create",
        before,
        {"username": username, "user_id": user.id, "role": Role.ADMIN.value},
    )
    return account


def authenticate(session: Session, username: str, password: str) -> User:
    """The admin user behind these credentials, or a DomainError that says nothing more.

    A wrong password is recorded in the session (the caller commits it even though the sign-in failed)."""
    account = session.scalars(
        select(AdminAccount).where(AdminAccount.username == (username or "").strip(), AdminAccount.deleted_at.is_(None))
    ).first()
    ok = check_password_hash(account.password_hash if account else _DUMMY_HASH, password or "")
    if account is not None and _locked(session, account):
        raise DomainError(f"密码错误次数过多，账号已临时锁定，请 {LOCKOUT.seconds // 60} 分钟后再试")
    if account is None or not ok:
        if account is not None:
            record_event(session, FAILED, "admin_account", account.id, None)
        raise DomainError("用户名或密码不正确")
    if not is_admin(account.user):
        raise DomainError("该账号已停用或不再是管理员")
    account.last_login_at = clock.now()
    return account.user


def _locked(session: Session, account: AdminAccount) -> bool:
    """MAX_FAILURES failures within LOCKOUT, since the last sign-in."""
    since = max(clock.now() - LOCKOUT, account.last_login_at or clock.now() - LOCKOUT)
    failures = session.scalar(
        select(func.count(DomainEvent.id)).where(
            DomainEvent.kind == FAILED,
            DomainEvent.subject_type == "admin_account",
            DomainEvent.subject_id == account.id,
            DomainEvent.occurred_at > since,
        )
    )
    return (failures or 0) >= MAX_FAILURES
