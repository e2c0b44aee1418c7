"""Changing a run-time threshold (the admin's rules page, the CLI): validated, audited, and the kept
dashboard figures dropped when a dashboard setting changes. Reading: an area's typed settings
(salesnav/models/setting_areas.py, e.g. `health(session).window_days`), or one key with `get`
(salesnav/models/rule_settings.py); both re-exported here, so a use case reads and writes settings through one name).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers import dashboard_snapshots
from salesnav.handlers.records import audit
from salesnav.handlers.rules.validation import check_setting
from salesnav.models import RuleSetting, User
from salesnav.models.rule_settings import _REMEMBERED, DEFAULTS, get, remember
from salesnav.models.setting_areas import (
    annotation,
    area,
    battle_pack,
    capture,
    collaboration,
    collaboration_overdue,
    credit,
    dashboard,
    excel_import,
    follow_up,
    health,
    lifecycle,
    pool,
    reports,
    rules,
    talk_track,
    visit_brief,
)

__all__ = [
    "DEFAULTS",
    "annotation",
    "area",
    "battle_pack",
    "capture",
    "collaboration",
    "collaboration_overdue",
    "credit",
    "dashboard",
    "excel_import",
    "follow_up",
    "get",
    "health",
    "lifecycle",
    "pool",
    "remember",
    "reports",
    "rules",
    "talk_track",
    "update",
    "visit_brief",
]


def update(session: Session, actor: User | None, key: str, raw: Any) -> Any:
    """Change a setting at run time; a bad value is refused with a Chinese message naming it."""
    value = check_setting(key, raw)
    row = session.scalars(select(RuleSetting).where(RuleSetting.key == key)).first()
    before = DEFAULTS[key] if row is None else row.value
    if row is None:
        row = RuleSetting(key=key, value=value)
        session.add(row)
    else:
        row.value = value
    session.flush()
    session.info.get(_REMEMBERED, {}).pop(key, None)
    audit(session, actor, "rule_setting", row.id, "update", {key: before}, {key: value})
    if key.startswith("dashboard."):
        dashboard_snapshots.drop(session)  # the kept figures were computed with the old value
    return value
