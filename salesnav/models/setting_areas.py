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


class Switched(Area):
    """An area with an on/off switch, `<prefix>.enabled` (each rule's, and each scheduled feature's)."""

    enabled: bool


class FollowUp(Switched):
    PREFIX = "follow_up"
    overdue_hours: int
    escalate_after_hours: int
    import_grace_hours: int


class Health(Switched):
    PREFIX = "health"
    resistant_signals: int
    window_days: int


class Credit(Switched):
    PREFIX = "credit"
    amount_threshold_fen: int
    min_on_time_rate: float
    window_months: int
    finance_timeout_seconds: float


class CollaborationOverdue(Switched):
    PREFIX = "collaboration_overdue"
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


class BattlePack(Switched):
    PREFIX = "battle_pack"
    hour: int
    last_hour: int
    chinese_calendar: bool
    due_soon_hours: int
    overdue_lookback_days: int
    history_days: int
    min_similar_won: int


class Reports(Switched):
    PREFIX = "reports"
    daily_hour: int
    add_window_minutes: int
    team_daily_hour: int
    team_weekly_hour: int
    chase_hour: int
    chase_lookback_days: int
    receivable_remind_days_before: int


class Pool(Switched):
    PREFIX = "pool"
    # The days without follow-up per customer grade are the settings `pool.silent_days.<grade>`.
    SILENT_DAYS_FIELDS: ClassVar[dict[str, str]] = {
        "三甲": "silent_days_grade_3a",
        "三乙": "silent_days_grade_3b",
        "二甲": "silent_days_grade_2a",
        "其他": "silent_days_other",
    }
    silent_days_grade_3a: int
    silent_days_grade_3b: int
    silent_days_grade_2a: int
    silent_days_other: int
    warning_days: int
    claims_per_day: int
    max_held: int
    reclaim_cooldown_days: int
    claims_per_minute: int

    @classmethod
    def keys(cls) -> dict[str, str]:
        grade_of = {field: grade for grade, field in cls.SILENT_DAYS_FIELDS.items()}
        return {
            f"{cls.PREFIX}.silent_days.{grade_of[name]}" if name in grade_of else f"{cls.PREFIX}.{name}": name
            for name in cls.model_fields
        }

    def silent_days(self, grade: str) -> int:
        """The days without follow-up after which a customer of this grade (三甲, 三乙, 二甲, 其他) returns."""
        return int(getattr(self, self.SILENT_DAYS_FIELDS[grade]))


class VisitBrief(Switched):
    PREFIX = "brief"
    lead_minutes: int
    history_days: int
    min_similar: int


class TalkTrack(Switched):
    PREFIX = "talk_track"


class Import(Area):
    PREFIX = "excel_import"
    max_file_mb: int
    max_rows: int
    fuzzy_match_score: float
    near_miss_score: float


class Capture(Area):
    PREFIX = "capture"
    summary_window_minutes: int


class Annotation(Area):
    PREFIX = "annotation"
    window_minutes: int


class Lifecycle(Switched):
    """The lifecycle stages (salesnav/handlers/lifecycle.py): 新客户试用期, 老客户续费前3个月, 流失预警."""

    PREFIX = "lifecycle"
    trial_days: int
    renewal_months: int
    contract_term_months: int
    churn_silent_days: int
    churn_on_red_health: bool


AREAS: tuple[type[Area], ...] = (
    FollowUp,
    Health,
    Credit,
    CollaborationOverdue,
    Collaboration,
    Rules,
    Dashboard,
    BattlePack,
    Reports,
    Pool,
    VisitBrief,
    TalkTrack,
    Import,
    Capture,
    Annotation,
    Lifecycle,
)

A = TypeVar("A", bound=Area)


class StoredSettingInvalid(ValueError):
    def __init__(self, area: type[Area], error: ValidationError) -> None:
        key_of = {field: key for key, field in area.keys().items()}
        names = ", ".join(key_of.get(str(e["loc"][0]), str(e["loc"][0])) for e in error.errors() if e["loc"])
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


def battle_pack(session: Session) -> BattlePack:
    return area(session, BattlePack)


def reports(session: Session) -> Reports:
    return area(session, Reports)


def pool(session: Session) -> Pool:
    return area(session, Pool)


def visit_brief(session: Session) -> VisitBrief:
    return area(session, VisitBrief)


def talk_track(session: Session) -> TalkTrack:
    return area(session, TalkTrack)


def excel_import(session: Session) -> Import:
    return area(session, Import)


def capture(session: Session) -> Capture:
    return area(session, Capture)


def annotation(session: Session) -> Annotation:
    return area(session, Annotation)


def lifecycle(session: Session) -> Lifecycle:
    return area(session, Lifecycle)
