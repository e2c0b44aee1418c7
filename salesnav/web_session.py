"""One database session per web request, for every blueprint (pages, admin, mini-program API, callbacks).

Opened on first use, closed when the request ends (after the response is serialised, so a schema may
still follow a relationship of what the view returns). What a view does not commit is rolled back: a
refusal or an error leaves nothing behind.
"""

from __future__ import annotations

from flask import Flask, g
from sqlalchemy.orm import Session

from salesnav.models import session as db

_KEY = "request_session"


def request_session() -> Session:
    if _KEY not in g:
        setattr(g, _KEY, db.new_session())
    session: Session = getattr(g, _KEY)
    return session


def _close(_exc: BaseException | None) -> None:
    session = g.pop(_KEY, None)
    if session is not None:
        session.rollback()  # a view commits what it means to keep
        session.close()


def init_app(app: Flask) -> None:
    app.teardown_request(_close)
