"""The registry of rules: the four rules, in the order a scan runs them, and what runs them by event.

The rule modules build on the engine's helpers (engine.py: alerts, episodes, whom to tell); this module
sits above both and lists the rules, so nothing below it needs a rule module and nothing imports late.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from salesnav.handlers.rules import collaboration_overdue, credit_check, follow_up_overdue, health_red
from salesnav.handlers.rules.engine import Rule
from salesnav.models import DomainEvent

RULES: tuple[Rule, ...] = (follow_up_overdue.RULE, collaboration_overdue.RULE, health_red.RULE, credit_check.RULE)


def all_rules() -> list[Rule]:
    return list(RULES)


def time_rules() -> list[Rule]:
    return [rule for rule in RULES if rule.find is not None]


def rule_by_code(code: str) -> Rule:
    for rule in RULES:
        if rule.code == code:
            return rule
    raise KeyError(code)


def react(session: Session, event: DomainEvent) -> list[str]:
    """Run every enabled rule's reaction to this event; returns the rules that reacted."""
    ran = []
    for rule in RULES:
        reaction = rule.reactions.get(event.kind)
        if reaction is not None and rule.enabled(session):
            reaction(session, event)
            ran.append(rule.code)
    return ran
