"""Domain errors carry a message for users, in Chinese; channels show it as it is."""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """Also what a user gets for a record outside their scope: we never confirm it exists."""

    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class ChecklistIncomplete(DomainError):
    """A move refused for what its stages' checklists still lack. `by_stage` (stage name → items) names the
    stages passed on the way when the move goes over several; `missing` is every item, flat."""

    code = "checklist_incomplete"

    def __init__(self, stage_name: str, missing: list[str], by_stage: dict[str, list[str]] | None = None) -> None:
        by_stage = by_stage or {stage_name: missing}
        if list(by_stage) == [stage_name]:
            message = f"无法进入「{stage_name}」：检查清单未完成，还缺：{'、'.join(missing)}"
        else:
            gaps = "；".join(f"「{name}」缺 {'、'.join(items)}" for name, items in by_stage.items())
            message = f"无法推进到「{stage_name}」：途经阶段的检查清单未完成——{gaps}"
        stages = [{"stage": name, "missing": items} for name, items in by_stage.items()]
        super().__init__(message, missing=missing, stages=stages)
        self.missing = missing
        self.by_stage = by_stage


class OpportunityClosed(DomainError):
    code = "opportunity_closed"
