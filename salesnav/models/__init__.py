"""The domain model (docs/product.md) as SQLAlchemy 2 typed models. Import models from here."""

from salesnav.models.admin import LOCAL_USERID_PREFIX, AdminAccount
from salesnav.models.base import Base
from salesnav.models.collaboration import (
    CollaborationTicket,
    EnablementKind,
    EnablementRequest,
    IncentivePoints,
    PartStatus,
    TicketPart,
    TicketStatus,
)
from salesnav.models.content import Attachment, Material
from salesnav.models.customer_events import CustomerEvent, EventSource, MaterialView
from salesnav.models.customers import Contact, Customer, CustomerKind, DecisionRole, Health
from salesnav.models.dashboards import DashboardSnapshot
from salesnav.models.finance import Contract, Payment, Receivable
from salesnav.models.imports import ExcelImport, ImportStatus
from salesnav.models.journeys import (
    EnrollmentState,
    HoldReason,
    Journey,
    JourneyEnrollment,
    JourneyMessageCount,
    JourneyStepRun,
    StepRunState,
)
from salesnav.models.messaging import InboundMessage, InboundStatus, OutboundMessage, OutboundStatus
from salesnav.models.metric_aggregates import (
    MetricAggregateState,
    MetricChange,
    MetricDayRep,
    MetricFirstTouch,
    MetricStageDay,
)
from salesnav.models.opportunities import (
    ChecklistEvidence,
    ChecklistItem,
    ChecklistItemKind,
    CreditWaiver,
    Opportunity,
    OpportunityStatus,
    Stage,
    StageOutcome,
    StageTransition,
)
from salesnav.models.org import Department, DepartmentKind, Role, User
from salesnav.models.pool import (
    POOL_USERID,
    TALK_TRACK_TAG,
    PoolEntry,
    PoolExit,
    PoolReason,
    PoolWarning,
    TalkTrackDelivery,
    VisitBrief,
    WarningState,
)
from salesnav.models.qrcodes import QrScene
from salesnav.models.records import AuditEntry, DomainEvent, JobRun, RuleSetting
from salesnav.models.tags import CustomerTag, LifecycleStage, TagDefinition, TagKind, TagRun, TagSource
from salesnav.models.touchpoints import CaptureSource, Emotion, Touchpoint, TouchpointType, touchpoint_contacts
from salesnav.models.win_models import WinModel
from salesnav.models.work import Alert, AlertState, Annotation, Task, TaskStatus

__all__ = [
    "LOCAL_USERID_PREFIX",
    "POOL_USERID",
    "TALK_TRACK_TAG",
    "AdminAccount",
    "Alert",
    "AlertState",
    "Annotation",
    "Attachment",
    "AuditEntry",
    "Base",
    "CaptureSource",
    "ChecklistEvidence",
    "ChecklistItem",
    "ChecklistItemKind",
    "CollaborationTicket",
    "Contact",
    "Contract",
    "CreditWaiver",
    "Customer",
    "CustomerEvent",
    "CustomerKind",
    "CustomerTag",
    "DashboardSnapshot",
    "DecisionRole",
    "Department",
    "DepartmentKind",
    "DomainEvent",
    "Emotion",
    "EnablementKind",
    "EnablementRequest",
    "EnrollmentState",
    "EventSource",
    "ExcelImport",
    "Health",
    "HoldReason",
    "ImportStatus",
    "InboundMessage",
    "InboundStatus",
    "IncentivePoints",
    "JobRun",
    "Journey",
    "JourneyEnrollment",
    "JourneyMessageCount",
    "JourneyStepRun",
    "LifecycleStage",
    "Material",
    "MaterialView",
    "MetricAggregateState",
    "MetricChange",
    "MetricDayRep",
    "MetricFirstTouch",
    "MetricStageDay",
    "Opportunity",
    "OpportunityStatus",
    "OutboundMessage",
    "OutboundStatus",
    "PartStatus",
    "Payment",
    "PoolEntry",
    "PoolExit",
    "PoolReason",
    "PoolWarning",
    "QrScene",
    "Receivable",
    "Role",
    "RuleSetting",
    "Stage",
    "StageOutcome",
    "StageTransition",
    "StepRunState",
    "TagDefinition",
    "TagKind",
    "TagRun",
    "TagSource",
    "TalkTrackDelivery",
    "Task",
    "TaskStatus",
    "TicketPart",
    "TicketStatus",
    "Touchpoint",
    "TouchpointType",
    "User",
    "VisitBrief",
    "WarningState",
    "WinModel",
    "touchpoint_contacts",
]
