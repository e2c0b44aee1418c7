"""One database session per API request: views call handlers, then `commit()`; teardown closes it.

The session stays open until the response has been serialised, so the schemas can follow
relationships (a touchpoint's contacts, an opportunity's stage) of what the view returns.
"""

from __future__ import annotations

from flask import g
from sqlalchemy.orm import Session

from salesnav.miniprogram_api.blueprint import bp
from salesnav.models import session as db


def db_session() -> Session:
    if "api_session" not in g:
        g.api_session = db.new_session()
    return g.api_session


def commit() -> None:
    db_session().commit()


@bp.teardown_request
def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("api_session", None)
    if session is not None:
        session.rollback()  # anything not committed by the view was a refusal or an error
        session.close()
