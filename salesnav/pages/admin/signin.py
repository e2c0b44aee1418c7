"""Admin sign-in: WeCom OAuth (salesnav/pages/auth.py) for members with the admin role, or a
bootstrap account's username and password (`salesnav admin create USERNAME`) on the first run.

A password sign-in opens the same session as OAuth does (auth.py's cookie: userid, expiry from our
clock, a fresh CSRF token), so expiry, CSRF and the per-request user check are one mechanism.
"""

from __future__ import annotations

import secrets

from flask import current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from salesnav import clock
from salesnav.handlers.admin import accounts
from salesnav.handlers.admin.guard import is_admin
from salesnav.handlers.errors import DomainError
from salesnav.pages import auth
from salesnav.pages.admin import bp


def _next() -> str:
    target = request.values.get("next") or ""
    return target if target.startswith("/admin") and not target.startswith("//") else url_for("admin.home")


def _start_session(userid: str) -> None:
    """The session auth.callback opens after OAuth: cleared first, so nothing planted survives."""
    session.clear()
    session.permanent = True
    session["uid"] = userid
    session["exp"] = (clock.now() + current_app.config.get("PAGES_SESSION_TTL", auth.DEFAULT_SESSION_TTL)).timestamp()
    session["csrf"] = secrets.token_urlsafe(24)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        if is_admin(g.admin):
            return redirect(_next())
        return render_template("admin/login.html", next=_next(), error=None, username="")
    username = request.form.get("username", "")
    try:
        user = accounts.authenticate(g.admin_db, username, request.form.get("password", ""))
        userid = user.wecom_userid
        g.admin_db.commit()  # last_login_at
    except DomainError as exc:
        g.admin_db.commit()  # a wrong password counts towards the lockout
        return render_template("admin/login.html", next=_next(), error=exc.message, username=username), 400
    _start_session(userid)
    return redirect(_next())


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("admin.login"))
