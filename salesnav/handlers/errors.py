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
    code = "checklist_incomplete"

    def __init__(self, stage_name: str, missing: list[str]) -> None:
        super().__init__(f"无法进入「{stage_name}」：检查清单未完成，还缺：{'、'.join(missing)}", missing=missing)
        self.missing = missing


class OpportunityClosed(DomainError):
    code = "opportunity_closed"
