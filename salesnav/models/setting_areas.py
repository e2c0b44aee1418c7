"""The run-time settings (rule_settings.py) as one typed model per area, validated in one place.

A use case asks for its area, `area(session, Health)`, and gets `Health(resistant_signals=3, window_days=7,
enabled=True)`: numbers are numbers, switches are booleans, without a cast at the call site. The area's
keys are read in one query (or from the session's remembered settings, as `get` does). A stored value the
model refuses — written by hand into the table, say — is an error here, at the read, naming the key.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.models.records import RuleSetting
from salesnav.models.rule_settings import _REMEMBERED, DEFAULTS


class Area(BaseModel):
    """One area's settings: the field `x` of an area with prefix `p` is the setting `p.x`."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)
    PREFIX: ClassVar[str]

    @classmethod
    def keys(cls) -> dict[str, str]:
        """Setting key → field name."""
        return {f"{cls.PREFIX}.{name}": name for name in cls.model_fields}


class FollowUp(Area):
    PREFIX = "follow_up"
    enabled: bool
    overdue_hours: int
    escalate_after_hours: int
    import_grace_hours: int


class Health(Area):
    PREFIX = "health"
    enabled: bool
    resistant_signals: int
    window_days: int


class Credit(Area):
    PREFIX = "credit"
    enabled: bool
    amount_threshold_fen: int
    min_on_time_rate: float
    window_months: int
    finance_timeout_seconds: float


class CollaborationOverdue(Area):
    PREFIX = "collaboration_overdue"
    enabled: bool
    average_window_days: int


class Collaboration(Area):
    PREFIX = "collaboration"
    marketing_sla_hours: int
    delivery_sla_hours: int
    enablement_sla_hours: int
    reminder_hours_before: int
    chat_answer_window_minutes: int
    incentive_points: int


class Rules(Area):
    PREFIX = "rules"
    working_days_only: bool


class Dashboard(Area):
    PREFIX = "dashboard"
    health_weights: dict[str, float]
    quality_lookback_days: int
    first_response_hours: int
    deviation_history_days: int
    refresh_minutes: int


AREAS: tuple[type[Area], ...] = (FollowUp, Health, Credit, CollaborationOverdue, Collaboration, Rules, Dashboard)

A = TypeVar("A", bound=Area)


class StoredSettingInvalid(ValueError):
    def __init__(self, area: type[Area], error: ValidationError) -> None:
        names = ", ".join(f"{area.PREFIX}.{e['loc'][0]}" for e in error.errors() if e["loc"])
        super().__init__(f"stored rule settings the {area.__name__} area refuses: {names}")


def area(session: Session, model: type[A]) -> A:
    """This area's settings: the stored rows, else the defaults, checked by the model."""
    keys = model.keys()
    remembered: dict[str, Any] | None = session.info.get(_REMEMBERED)
    values: dict[str, Any] = {}
    missing = []
    for key in keys:
        if remembered is not None and key in remembered:
            values[key] = remembered[key]
        else:
            missing.append(key)
    if missing:
        rows = session.execute(select(RuleSetting.key, RuleSetting.value).where(RuleSetting.key.in_(missing)))
        stored: dict[str, Any] = {key: value for key, value in rows}
        for key in missing:
            values[key] = stored.get(key, DEFAULTS[key])
            if remembered is not None:
                remembered[key] = values[key]
    try:
        return model.model_validate({keys[key]: value for key, value in values.items()})
    except ValidationError as exc:
        raise StoredSettingInvalid(model, exc) from exc


# One reader per area, so a call site says what it reads: `rule_settings.health(session).window_days`.
def follow_up(session: Session) -> FollowUp:
    return area(session, FollowUp)


def health(session: Session) -> Health:
    return area(session, Health)


def credit(session: Session) -> Credit:
    return area(session, Credit)


def collaboration_overdue(session: Session) -> CollaborationOverdue:
    return area(session, CollaborationOverdue)


def collaboration(session: Session) -> Collaboration:
    return area(session, Collaboration)


def rules(session: Session) -> Rules:
    return area(session, Rules)


def dashboard(session: Session) -> Dashboard:
    return area(session, Dashboard)
