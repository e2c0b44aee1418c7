"""Who was there: the customer's people named in a note (「和李主任、王护士长面谈」) become the touchpoint's
participants, so a touchpoint logged by two taps and a sentence counts as effective and adds to the customer's
decision-chain coverage.

A name matches a contact by its full name, or by surname and title (李主任 → 李建国, 设备科主任). A name with a
title that matches no contact becomes a new contact whose decision role is inferred from the title and marked
as guessed (推测), for the rep to confirm later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.handlers.customers import add_contact
from salesnav.handlers.records import record_event
from salesnav.handlers.scope import customer_for, touchpoint_for
from salesnav.models import Contact, DecisionRole, Touchpoint, User

# Longer titles first, so 副院长 is not read as 院长 and 护士长 not as 护士.
TITLE_ROLES: tuple[tuple[str, DecisionRole], ...] = (
    ("副院长", DecisionRole.VETO),
    ("院长", DecisionRole.VETO),
    ("书记", DecisionRole.VETO),
    ("处长", DecisionRole.PURCHASER),
    ("科长", DecisionRole.PURCHASER),
    ("采购", DecisionRole.PURCHASER),
    ("主任", DecisionRole.INFLUENCER),
    ("教授", DecisionRole.INFLUENCER),
    ("护士长", DecisionRole.USER),
    ("医生", DecisionRole.USER),
    ("大夫", DecisionRole.USER),
    ("工程师", DecisionRole.USER),
    ("老师", DecisionRole.USER),
    ("经理", DecisionRole.PURCHASER),
)
_TITLES = "|".join(title for title, _ in TITLE_ROLES)
# One surname character (two for the common compound ones) right before a title: 李主任, 欧阳主任.
NAMED = re.compile(rf"(欧阳|司马|诸葛|上官|[\u4e00-\u9fa5])({_TITLES})")
NOT_SURNAMES = set("和与跟及、的了是在找约见给向同位个名")


@dataclass
class PeopleNamed:
    present: list[Contact] = field(default_factory=list)
    added: list[Contact] = field(default_factory=list)  # new contacts, roles guessed


def people_named(session: Session, actor: User, customer_id: int, text: str) -> PeopleNamed:
    """The customer's contacts named in `text`, and new contacts for titled names that match none."""
    customer = customer_for(session, actor, customer_id)
    contacts = list(
        session.scalars(select(Contact).where(Contact.customer_id == customer.id, Contact.deleted_at.is_(None)))
    )
    out = PeopleNamed()
    for contact in contacts:
        if len(contact.name) >= 2 and contact.name in text:
            out.present.append(contact)
    for match in NAMED.finditer(text):
        surname, title = match.group(1), match.group(2)
        if surname in NOT_SURNAMES:
            continue
        spoken = surname + title
        if any(spoken in c.name or (c.name.startswith(surname) and title in (c.title or "")) for c in out.present):
            continue
        same = [c for c in contacts if c.name == spoken or (c.name.startswith(surname) and title in (c.title or ""))]
        if len(same) == 1:
            out.present.append(same[0])
        elif not same:
            contact = add_contact(
                session, actor, customer_id=customer.id, name=spoken, title=title, decision_role=_role_of(title)
            )
            contact.decision_role_guessed = True
            contacts.append(contact)
            out.present.append(contact)
            out.added.append(contact)
    return out


def _role_of(title: str) -> DecisionRole:
    return next(role for known, role in TITLE_ROLES if known == title)


def add_participants(session: Session, actor: User, touchpoint_id: int, contacts: list[Contact]) -> Touchpoint:
    """The contacts were there too (the touchpoint's customer's own contacts only)."""
    touchpoint = touchpoint_for(session, actor, touchpoint_id)
    new = [c for c in contacts if c.customer_id == touchpoint.customer_id and c not in touchpoint.contacts]
    if new:
        touchpoint.contacts.extend(new)
        session.flush()
        record_event(
            session,
            "touchpoint.participants_added",
            "touchpoint",
            touchpoint.id,
            actor,
            contact_ids=[c.id for c in new],
        )
    return touchpoint


def note_people_present(session: Session, actor: User, touchpoint_id: int, text: str) -> PeopleNamed:
    """Read who was there from a note on the touchpoint and add them as its participants."""
    touchpoint = touchpoint_for(session, actor, touchpoint_id)
    named = people_named(session, actor, touchpoint.customer_id, text)
    add_participants(session, actor, touchpoint.id, named.present)
    return named


def describe_people(named: PeopleNamed) -> str:
    """「在场：李主任、王护士长（新联系人，角色为推测：使用者）」, or empty when nobody was named."""
    if not named.present:
        return ""
    parts = []
    for contact in named.present:
        if contact in named.added and contact.decision_role is not None:
            parts.append(f"{contact.name}（新联系人，角色推测为{contact.decision_role.label}）")
        else:
            parts.append(contact.name)
    return "在场：" + "、".join(parts)
