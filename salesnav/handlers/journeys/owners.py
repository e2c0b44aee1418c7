"""Who does a journey step (its owner: the customer's rep, a department, a role) and who hears of it when late.

A department's step reaches the people who hear of its collaboration tickets (handlers/ticket_notices.py
`recipients`: the head and the members the admin named); a task goes to the head. A role is read relative to
the customer: its rep's manager, the sales director above the rep, the key account manager.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.journeys.definition import Owner
from salesnav.handlers.journeys.store import department_named
from salesnav.handlers.rules.engine import director_above, manager_of
from salesnav.handlers.ticket_notices import recipients
from salesnav.models import Customer, Department, Role, User


def live(user: User | None) -> bool:
    return user is not None and user.active and user.deleted_at is None


def owners(session: Session, owner: Owner, customer: Customer) -> list[User]:
    """The people who must do the step, the one a task goes to first; empty when there is no one."""
    rep = customer.owner
    people: list[User | None]
    if owner.type == "rep":
        people = [rep]
    elif owner.type == "department":
        department = department_named(session, owner.value)
        people = list(department_people(session, department)) if department is not None else []
    else:
        people = [role_holder(session, owner.value or "", customer)]
    out: dict[int, User] = {}
    for user in people:
        if user is not None and live(user):
            out.setdefault(user.id, user)
    return list(out.values())


def department_people(session: Session, department: Department) -> list[User]:
    return recipients(session, department)


def role_holder(session: Session, role: str, customer: Customer) -> User | None:
    rep = customer.owner
    if role == "manager":
        return manager_of(session, rep)
    if role == "director":
        return director_above(session, rep)
    if role == "key_account":
        return customer.key_account_manager
    if role == "dept_head":
        department = rep.department
        return department.head if department is not None else None
    if role == "admin":
        return session.scalars(
            select(User)
            .where(User.role == Role.ADMIN, User.active.is_(True), User.deleted_at.is_(None))
            .order_by(User.id)
        ).first()
    return None


def escalation_target(session: Session, user: User) -> User | None:
    """Whom a late step goes to: the owner's manager; the sales director when there is none (a department head)."""
    manager = manager_of(session, user)
    if live(manager):
        return manager
    director = director_above(session, user)
    return director if director is not None and director.id != user.id else None
