"""Run a list query one page at a time; the envelope is {"items", "page", "per_page", "total"}."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from salesnav.miniprogram_api.unit_of_work import db_session


def paginate(query: Select[Any], args: dict[str, Any]) -> dict[str, Any]:
    session = db_session()
    page, per_page = args["page"], args["per_page"]
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return {"items": items, "page": page, "per_page": per_page, "total": total}
