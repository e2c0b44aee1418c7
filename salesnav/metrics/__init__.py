"""The article's metrics computed from the data (docs/product.md): one function per metric over a window and a scope.

Every function takes `(session, window, scope)` and returns a small typed result whose `value` is None when
there is nothing to measure, so a dashboard shows "—" instead of a made-up 0.
"""

from salesnav.metrics.activity import (
    effective_touchpoints_per_rep_week,
    entry_time_per_record,
    record_completeness,
    touchpoint_quality,
    visits_per_rep_month,
)
from salesnav.metrics.collaboration import (
    DepartmentPoints,
    collaboration_penetration,
    first_response_compliance,
    incentive_points_by_department,
)
from salesnav.metrics.index import (
    HealthIndex,
    VerificationMetric,
    sales_health_index,
    sales_health_index_by_window,
    verification_metrics,
)
from salesnav.metrics.management import health_diagnosis_use, manager_intervention_rate
from salesnav.metrics.pipeline import (
    Funnel,
    StageDwell,
    conversion_funnel,
    funnel_dwell_times,
    lead_conversion,
    process_compliance,
    stage_advancement_deviation,
    win_rate,
)
from salesnav.metrics.results import Count, Duration, Ratio
from salesnav.metrics.scope import Scope, ScopeKind, Window

__all__ = [
    "Count",
    "DepartmentPoints",
    "Duration",
    "Funnel",
    "HealthIndex",
    "Ratio",
    "Scope",
    "ScopeKind",
    "StageDwell",
    "VerificationMetric",
    "Window",
    "collaboration_penetration",
    "conversion_funnel",
    "effective_touchpoints_per_rep_week",
    "entry_time_per_record",
    "first_response_compliance",
    "funnel_dwell_times",
    "health_diagnosis_use",
    "incentive_points_by_department",
    "lead_conversion",
    "manager_intervention_rate",
    "process_compliance",
    "record_completeness",
    "sales_health_index",
    "sales_health_index_by_window",
    "stage_advancement_deviation",
    "touchpoint_quality",
    "verification_metrics",
    "visits_per_rep_month",
    "win_rate",
]
