"""A user's earlier imports: the list of the imports they may open (newest first), and what became of the
hand-over requests each one sent (open, done, cancelled — an undo cancels those still open).

Who sees which import is `commit.import_for`'s rule, for many at once: the imports the user started, and those
filed under an owner whose records the user may see (a manager's team, everyone for a director or an admin).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, defer

from salesnav.handlers.scope import owned_by_visible
from salesnav.models import ExcelImport, Task, TaskStatus, User


def imports_visible(session: Session, actor: User) -> Select[Any]:
    """The imports `actor` may open, newest first; the heavy columns (created ids, errors, notes) are left
    unread: a list needs none of them."""
    return (
        select(ExcelImport)
        .options(defer(ExcelImport.created_ids), defer(ExcelImport.errors), defer(ExcelImport.notes))
        .where(or_(ExcelImport.created_by_id == actor.id, owned_by_visible(session, actor, ExcelImport.owner_id)))
        .order_by(ExcelImport.created_at.desc(), ExcelImport.id.desc())
    )


def handover_origin(import_id: int) -> str:
    """The origin of the hand-over tasks an import asks for (`commit._ask_handovers`), by which they are found."""
    return f"excel_import:{import_id}"


def handovers(session: Session, import_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Each import's hand-over requests by status: {import_id: {"open": n, "done": n, "cancelled": n}}."""
    ids = list(import_ids)
    out = {import_id: {status.value: 0 for status in TaskStatus} for import_id in ids}
    if not ids:
        return out
    by_origin = {handover_origin(import_id): import_id for import_id in ids}
    for origin, status, count in session.execute(
        select(Task.origin, Task.status, func.count())
        .where(Task.origin.in_(list(by_origin)))
        .group_by(Task.origin, Task.status)
    ):
        out[by_origin[origin]][status.value] = count
    return out


def owner_names(session: Session, imports: Iterable[ExcelImport]) -> dict[int, str]:
    """Each import's owner's name (whose customers its rows became), by import id."""
    listed = list(imports)
    ids = {imp.owner_id for imp in listed}
    names: dict[int, str] = {}
    if ids:
        names = {user_id: name for user_id, name in session.execute(select(User.id, User.name).where(User.id.in_(ids)))}
    return {imp.id: names.get(imp.owner_id, "") for imp in listed}


def described(session: Session, imports: list[ExcelImport]) -> list[dict[str, Any]]:
    """The list's rows: each import's own fields with its owner's name and its hand-over requests."""
    asked = handovers(session, [imp.id for imp in imports])
    owners = owner_names(session, imports)
    return [
        {
            "id": imp.id,
            "status": imp.status,
            "filename": imp.filename,
            "total_rows": imp.total_rows,
            "counts": imp.counts,
            "created_at": imp.created_at,
            "finished_at": imp.finished_at,
            "undone_at": imp.undone_at,
            "owner_id": imp.owner_id,
            "owner_name": owners[imp.id],
            "handovers": asked[imp.id],
        }
        for imp in imports
    ]
