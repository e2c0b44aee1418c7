"""Settings as an admin sees them: the unit on the form (元, %, hours), the unit stored (fen, 0..1).

`read_form` turns what was typed into stored values, collecting a Chinese message per field, so a
page shows every mistake at once and saves nothing while any remains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from salesnav.handlers import rule_settings
from salesnav.handlers.errors import DomainError
from salesnav.handlers.rules.validation import SPECS, check_setting


@dataclass(frozen=True)
class Unit:
    label: str  # replaces the spec's label on the form
    suffix: str
    scale: float  # stored = shown × scale


UNITS: dict[str, Unit] = {
    "credit.amount_threshold_fen": Unit("大单金额门槛", "元", 100),
    "credit.min_on_time_rate": Unit("最低按时回款率", "%", 0.01),
}
WEIGHT_PARTS: dict[str, str] = {
    "quality": "触点质量",
    "compliance": "过程合规",
    "penetration": "协同穿透",
}


class SettingsRefused(DomainError):
    """One or more fields are wrong; `errors` maps each setting key to its message."""

    code = "settings_refused"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()), errors=errors)
        self.errors = errors


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str  # bool, int, float, weights
    shown: Any  # the value in form units (a dict of percentages for weights)
    default_shown: Any
    suffix: str
    parts: tuple[tuple[str, str], ...] = ()


def label(key: str) -> str:
    return UNITS[key].label if key in UNITS else SPECS[key].label


def to_form(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        shown = {part: round(float(v) * 100, 2) for part, v in value.items()}
        return {part: int(v) if float(v).is_integer() else v for part, v in shown.items()}
    if key in UNITS and not isinstance(value, bool):
        shown = value / UNITS[key].scale
        return int(shown) if float(shown).is_integer() else round(shown, 4)
    return value


def field(session: Session, key: str) -> Field:
    spec = SPECS[key]
    value = rule_settings.get(session, key)
    kind = "weights" if spec.kind is dict else spec.kind.__name__
    parts = tuple((p, WEIGHT_PARTS.get(p, p)) for p in rule_settings.DEFAULTS[key]) if kind == "weights" else ()
    suffix = UNITS[key].suffix if key in UNITS else ("%" if kind == "weights" else "")
    return Field(key, label(key), kind, to_form(key, value), to_form(key, rule_settings.DEFAULTS[key]), suffix, parts)


def read_form(keys: list[str], form: dict[str, Any]) -> dict[str, Any]:
    """Stored values for `keys` from a submitted form: `key` (a checkbox is absent when off), or
    `key.part` for each part of a weights setting. Raises SettingsRefused naming every bad field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in keys:
        spec = SPECS[key]
        try:
            if spec.kind is bool:
                values[key] = check_setting(key, str(form.get(key, "")).strip().lower() in ("on", "1", "true"))
            elif spec.kind is dict:
                shown = {part: _number(form.get(f"{key}.{part}"), label(key)) for part in rule_settings.DEFAULTS[key]}
                values[key] = check_setting(key, {part: v / 100 for part, v in shown.items()})
            elif key in UNITS:
                unit = UNITS[key]
                stored = _number(form.get(key), unit.label) * unit.scale
                if spec.kind is int:
                    stored = round(stored)
                elif unit.suffix == "%" and not 0 <= stored <= 1:
                    raise DomainError(f"「{unit.label}」必须在 0% 到 100% 之间")
                values[key] = check_setting(key, stored)
            else:
                raw = str(form.get(key, "")).strip()
                if not raw:
                    raise DomainError(f"请填写「{spec.label}」")
                values[key] = check_setting(key, raw)
        except DomainError as exc:
            errors[key] = exc.message
    if errors:
        raise SettingsRefused(errors)
    return values


def _number(raw: Any, what: str) -> float:
    text = str(raw if raw is not None else "").strip().replace(",", "").replace("，", "")
    if not text:
        raise DomainError(f"请填写「{what}」")
    try:
        return float(text)
    except ValueError as exc:
        raise DomainError(f"「{what}」必须是数字") from exc
