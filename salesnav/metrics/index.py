"""The executive figures: the Sales Health Index and the article's three verification metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from salesnav.metrics import aggregates
from salesnav.metrics.activity import effective_touchpoints_per_rep_week, touchpoint_quality_by_window
from salesnav.metrics.aggregates import Sums
from salesnav.metrics.collaboration import collaboration_penetration_by_window, first_response_compliance
from salesnav.metrics.pipeline import process_compliance_by_window, stage_advancement_deviation
from salesnav.metrics.results import Ratio
from salesnav.metrics.scope import Scope, Window
from salesnav.models import setting_areas

HEALTH_PARTS = ("quality", "compliance", "penetration")


@dataclass(frozen=True)
class HealthIndex:
    """销售健康度指数 0–100 with its three parts (each 0..1) and the weights used."""

    value: float | None
    quality: Ratio
    compliance: Ratio
    penetration: Ratio
    weights: dict[str, float]
    missing: tuple[str, ...]  # parts with nothing to measure in the window, left out of the index


def health_weights(session: Session) -> dict[str, float]:
    """The index weights (setting dashboard.health_weights; default quality 0.4, compliance 0.3, penetration 0.3)."""
    raw = setting_areas.dashboard(session).health_weights
    weights = {part: float(raw.get(part, 0)) for part in HEALTH_PARTS}
    if any(w < 0 for w in weights.values()) or not sum(weights.values()):
        raise ValueError(f"dashboard.health_weights must be non-negative and not all zero: {raw!r}")
    return weights


def sales_health_index(session: Session, window: Window, scope: Scope) -> HealthIndex:
    """销售健康度指数 = 100 × (w_q × touchpoint quality + w_c × process compliance + w_p × collaboration
    penetration) ÷ (w_q + w_c + w_p), the weights from the setting dashboard.health_weights (0.4, 0.3, 0.3,
    which total 1, so the division only matters for edited weights: it keeps the index within 0–100).

    A part with nothing to measure in the window (no touchpoints, no stage changes or no ticket parts due) is
    left out of both sums, i.e. the other weights are rescaled, so a week without tickets is not scored as a
    failure; `missing` names such parts. No part at all: value None.
    """
    return sales_health_index_by_window(session, [window], scope)[0]


def sales_health_index_by_window(session: Session, windows: Sequence[Window], scope: Scope) -> list[HealthIndex]:
    """`sales_health_index` of each of `windows`, each part computed for all windows in one query."""
    weights = health_weights(session)
    columns = zip(
        touchpoint_quality_by_window(session, windows, scope),
        process_compliance_by_window(session, windows, scope),
        collaboration_penetration_by_window(session, windows, scope),
        strict=True,
    )
    return [_combine(weights, dict(zip(HEALTH_PARTS, parts, strict=True))) for parts in columns]


def _combine(weights: dict[str, float], parts: dict[str, Ratio]) -> HealthIndex:
    present = {name: ratio.value for name, ratio in parts.items() if ratio.value is not None}
    present_weight = sum(weights[name] for name in present)
    value = None
    if present_weight:
        value = 100 * sum(weights[name] * v for name, v in present.items()) / present_weight
    missing = tuple(name for name in HEALTH_PARTS if name not in present)
    return HealthIndex(value, parts["quality"], parts["compliance"], parts["penetration"], weights, missing)


@dataclass(frozen=True)
class VerificationMetric:
    """One of the article's verification metrics against its baseline and target."""

    key: str
    label: str  # shown on the Level 1 page
    value: float | None
    baseline: float
    target: float
    better: Literal["higher", "lower"]
    count: float  # the denominator behind the value (reps × weeks, stays compared, parts opened)

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value >= self.target if self.better == "higher" else self.value <= self.target


def verification_metrics(session: Session, window: Window, scope: Scope) -> list[VerificationMetric]:
    """The article's three verification metrics (docs/product.md), computed from the data:
    effective touchpoints per rep per week (4.2 → ≥ 6.5), stage advancement deviation (±38 % → ±12 %, as
    fractions 0.38 → 0.12) and collaboration first-response compliance (44 % → ≥ 85 %)."""
    return _verification(
        effective_touchpoints_per_rep_week(session, window, scope),
        stage_advancement_deviation(session, window, scope),
        first_response_compliance(session, window, scope),
    )


def _verification(effective: Ratio, deviation: Ratio, first_response: Ratio) -> list[VerificationMetric]:
    return [
        VerificationMetric(
            "effective_touchpoints_per_rep_week",
            "有效触点数/销售/周",
            effective.value,
            4.2,
            6.5,
            "higher",
            effective.denominator,
        ),
        VerificationMetric(
            "stage_advancement_deviation",
            "商机阶段推进偏差率",
            deviation.value,
            0.38,
            0.12,
            "lower",
            deviation.denominator,
        ),
        VerificationMetric(
            "first_response_compliance",
            "协同单首次响应达标率",
            first_response.value,
            0.44,
            0.85,
            "higher",
            first_response.denominator,
        ),
    ]


def sales_health_index_of(weights: dict[str, float], sums: Sums) -> HealthIndex:
    """`sales_health_index` from a window's maintained sums (salesnav/metrics/aggregates.py)."""
    return _combine(
        weights,
        {
            "quality": aggregates.quality(sums),
            "compliance": aggregates.compliance(sums),
            "penetration": aggregates.penetration(sums),
        },
    )


def verification_metrics_of(window: Window, scope: Scope, sums: Sums, deviation: Ratio) -> list[VerificationMetric]:
    """`verification_metrics` with the effective touchpoints and first responses from the window's maintained
    sums and the stage deviation (stays left in the window against a year of closed deals) as
    `stage_advancement_deviation` computes it — on Level 1 with that year's baseline read from the kept days
    of closing (`aggregates.stage_deviation_of`)."""
    return _verification(
        aggregates.effective_per_rep_week(sums, window, scope),
        deviation,
        aggregates.first_response(sums),
    )
