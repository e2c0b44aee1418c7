"""Customer journeys as an admin builds them (issue 20): list, save, activate, pause, archive or delete, and the
ready journeys.

A journey is saved only when its definition is valid (salesnav/handlers/journeys/definition.py); otherwise
`JourneyInvalid` carries each problem in Chinese with the place it is about (a dotted path such as
`steps.2.action.sla_hours`, the builder page's own field names), so the page shows it next to its field.
Saving and switching go through salesnav/handlers/journeys/store.py (version, audit, the event hook's cache);
here only an admin may do them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from salesnav.handlers.admin.guard import require_admin, require_journey_stats_viewer
from salesnav.handlers.errors import DomainError, NotFound
from salesnav.handlers.journeys import definition as spec
from salesnav.handlers.journeys import examples, store
from salesnav.handlers.scope import visible_owner_ids
from salesnav.models import Journey, JourneyEnrollment, Role, User

MAX_NAME = 100
MAX_DESCRIPTION = 500
FORM = "form"  # an error about the whole definition (e.g. a step pointing at a step that does not exist)


class JourneyInvalid(DomainError):
    """The journey cannot be saved; `errors` lists (place, Chinese message), the place a dotted path or FORM."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("；".join(message for _place, message in errors))
        self.errors = errors


def journeys(session: Session) -> list[Journey]:
    return list(
        session.scalars(
            select(Journey).where(Journey.deleted_at.is_(None)).order_by(Journey.active.desc(), Journey.name)
        )
    )


def archived_journeys(session: Session) -> list[Journey]:
    """Journeys archived after they ran (their figures stay to be seen), the latest first; a journey deleted
    before anyone entered it is not among them."""
    ran = exists().where(JourneyEnrollment.journey_id == Journey.id)
    return list(
        session.scalars(select(Journey).where(Journey.deleted_at.is_not(None), ran).order_by(Journey.deleted_at.desc()))
    )


def enrollment_counts(
    session: Session, journey_ids: list[int], *, owners: set[int] | None = None
) -> dict[int, tuple[int, int]]:
    """journey id → (customers who ever entered it, customers in it now), among `owners`' customers (None: all);
    a journey none of them entered is absent."""
    return store.enrollment_counts(session, journey_ids, owners=owners) if journey_ids else {}


@dataclass(frozen=True)
class Viewing:
    """Whose customers a viewer's journey figures count: a sales manager their team's, directors and admins all."""

    owners: set[int] | None  # None: every customer
    label: str  # said on the page, e.g. 您团队（2 名销售）的客户


def viewing(session: Session, viewer: User) -> Viewing:
    require_journey_stats_viewer(viewer)
    owners = visible_owner_ids(session, viewer)
    if owners is None:
        return Viewing(None, "全公司的客户")
    reps = session.scalar(
        select(func.count()).where(User.id.in_(sorted(owners)), User.role == Role.REP, User.deleted_at.is_(None))
    )
    return Viewing(owners, f"您团队（{reps or 0} 名销售）的客户")


def journey_with_archived(session: Session, journey_id: int) -> Journey:
    """A journey on the list or archived (its figures may be seen either way); not one deleted unrun."""
    found = session.get(Journey, journey_id)
    if found is not None and found.deleted_at is not None:
        ran = session.scalar(select(JourneyEnrollment.id).where(JourneyEnrollment.journey_id == found.id).limit(1))
        found = found if ran is not None else None
    if found is None:
        raise NotFound("客户旅程不存在")
    return found


@dataclass(frozen=True)
class Removal:
    """What taking a journey off the list will do: delete it (never run) or archive it (customers went in)."""

    journey: Journey
    entered: int  # customers who ever entered it
    in_now: int  # customers in it now: their unfinished steps stop

    @property
    def archives(self) -> bool:
        return self.entered > 0


def removal(session: Session, actor: User, journey_id: int) -> Removal:
    require_admin(actor)
    found = journey(session, journey_id)
    entered, in_now = store.enrollment_counts(session, [found.id]).get(found.id, (0, 0))
    return Removal(found, entered, in_now)


def remove_journey(session: Session, actor: User, journey_id: int) -> tuple[str, int]:
    """Delete a journey no customer ever entered; archive one that ran (see store.remove_journey)."""
    require_admin(actor)
    journey(session, journey_id)
    return store.remove_journey(session, actor, journey_id)


def journey(session: Session, journey_id: int) -> Journey:
    found = session.get(Journey, journey_id)
    if found is None or found.deleted_at is not None:
        raise NotFound("客户旅程不存在")
    return found


def check_definition(data: dict[str, Any]) -> tuple[spec.JourneyDefinition | None, list[tuple[str, str]]]:
    """The definition, or each of its problems with its place (the path of the field it is about)."""
    try:
        return spec.JourneyDefinition.model_validate(data), []
    except ValidationError as exc:
        return None, [(".".join(str(p) for p in loc) or FORM, line) for loc, line in spec.error_lines(exc, data)]


def _text(raw: str, what: str, limit: int, *, required: bool = True) -> str:
    value = " ".join((raw or "").split())
    if required and not value:
        raise DomainError(f"请填写{what}")
    if len(value) > limit:
        raise DomainError(f"{what}最多 {limit} 个字")
    return value


def save_journey(
    session: Session,
    actor: User,
    journey_id: int | None,
    *,
    name: str,
    description: str = "",
    definition: dict[str, Any],
) -> Journey:
    """Create (journey_id None, inactive) or change a journey; JourneyInvalid lists every problem at once."""
    require_admin(actor)
    errors: list[tuple[str, str]] = []
    try:
        name = _text(name, "旅程名称", MAX_NAME)
    except DomainError as exc:
        errors.append(("name", exc.message))
    try:
        description = _text(description, "说明", MAX_DESCRIPTION, required=False)
    except DomainError as exc:
        errors.append(("description", exc.message))
    if journey_id is not None:
        journey(session, journey_id)
    clash = session.scalar(
        select(Journey.id).where(Journey.name == name, Journey.deleted_at.is_(None), Journey.id != (journey_id or 0))
    )
    if name and clash is not None:
        errors.append(("name", f"已有名为「{name}」的客户旅程"))
    parsed, problems = check_definition(definition)
    errors.extend(problems)
    if parsed is not None:
        try:
            store.check_references(session, parsed)
        except spec.DefinitionError as exc:
            errors.extend((FORM, message) for message in exc.messages)
    if errors or parsed is None:
        raise JourneyInvalid(errors)
    return store.save_journey(
        session, actor, name=name, definition=parsed, description=description or None, journey_id=journey_id
    )


def set_active(session: Session, actor: User, journey_id: int, *, active: bool) -> Journey:
    """Activate (customers enter it from the next event on) or pause (no one enters; those in it go on)."""
    require_admin(actor)
    found = journey(session, journey_id)
    if found.active == active:
        return found
    return store.set_active(session, actor, journey_id, active)


def install_ready_journeys(session: Session, actor: User) -> list[Journey]:
    """The ready journeys (the article's example) not installed yet, installed inactive."""
    require_admin(actor)
    return examples.install_ready_journeys(session)


def ready_missing(session: Session) -> bool:
    return session.scalar(select(Journey.id).where(Journey.template == examples.WHITEPAPER_TEMPLATE)) is None
