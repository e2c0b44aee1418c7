"""The domain events the rules react to, named once: the use cases that record them and the rules that react.

Recording an event schedules the rules' reactions only when some rule reacts to its kind (records.py asks
`subscribed`). This module imports nothing of ours, so the recorder needs no rule module at import time; a
test (tests/rules/test_rule_events.py) holds it equal to the reactions the registered rules declare.
"""

from __future__ import annotations

TOUCHPOINT_LOGGED = "touchpoint.logged"
STAGE_ADVANCED = "opportunity.stage_advanced"
PART_ANSWERED = "collaboration.part_answered"

# Every kind some rule reacts to (registry.py's rules, their `reactions`).
RULES_REACT_TO = frozenset({TOUCHPOINT_LOGGED, STAGE_ADVANCED, PART_ANSWERED})


def subscribed(kind: str) -> bool:
    """Whether recording an event of this kind must schedule the rules' reactions."""
    return kind in RULES_REACT_TO
