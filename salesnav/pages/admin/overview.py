"""The admin home: what there is to configure, and the latest changes in the audit trail."""

from __future__ import annotations

from flask import g, render_template
from sqlalchemy import func, select

from salesnav.handlers.admin import delivery
from salesnav.models import Journey, Stage, User
from salesnav.pages.admin import audit_words, bp


@bp.get("/")
def home() -> str:
    s = g.admin_db
    entries = delivery.audit_log(s, limit=30)
    people = {u.id: u.name for u in s.scalars(select(User).where(User.id.in_(audit_words.people_ids(entries))))}
    stages = {code: name for code, name in s.execute(select(Stage.code, Stage.name))}
    return render_template(
        "admin/home.html",
        entries=entries,
        words=audit_words,
        names=people,
        known=audit_words.Names(people, stages),
        health=delivery.delivery_health(s),
        stuck_minutes=int(delivery.STUCK_AFTER.total_seconds() // 60),
        unprocessed=len(delivery.unprocessed_inbound(s)),
        journeys_active=s.scalar(
            select(func.count(Journey.id)).where(Journey.active.is_(True), Journey.deleted_at.is_(None))
        ),
    )
