"""The journeys' reaction to a customer event (issue 20). A placeholder until the journeys' runner lands:
`salesnav.handlers.customer_events.journeys_listen` answers False, so nothing queues this job yet."""

from __future__ import annotations


def on_customer_event(event_id: int) -> None:
    """Enter and advance the journeys that listen to this event (the runner replaces this)."""
    return None
