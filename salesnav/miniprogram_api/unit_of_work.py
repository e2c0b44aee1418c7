"""The API request's database session (salesnav/web_session.py): views call handlers, then `commit()`.

The session stays open until the response has been serialised, so the schemas can follow
relationships (a touchpoint's contacts, an opportunity's stage) of what the view returns.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from salesnav.web_session import request_session


def db_session() -> Session:
    return request_session()


def commit() -> None:
    db_session().commit()
