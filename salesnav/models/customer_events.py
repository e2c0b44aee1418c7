"""What a customer did or what happened to them, as one timeline of events (issue 20's behaviour events).

`CustomerEvent` is the journeys' input: a 雷达 link opened or read, a material downloaded, a touchpoint logged, a
stage move, a won deal, a ticket, a payment, an import, an outside system's webhook, a tag or lifecycle change.
Written by `salesnav.handlers.customer_events.record_customer_event`, idempotent by `dedupe_key`.

`MaterialView` is one opening of a tracked material link (雷达): who opened what, how long they read, whether they
downloaded it, and whether the rep has been told — so one view makes at most one open message and one read summary.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from salesnav import clock
from salesnav.models.base import Base, BigId, IdMixin


class EventSource:
    """Where an event came from (`CustomerEvent.source`)."""

    RADAR = "radar"  # a tracked material link (雷达)
    WEBHOOK = "webhook"  # an outside system, through the signed inbound webhook
    SYSTEM = "system"  # something we already record (touchpoints, stages, tickets, payments, imports, tags)


class CustomerEvent(IdMixin, Base):
    __tablename__ = "customer_events"
    __table_args__ = (Index("ix_customer_events_customer_occurred", "customer_id", "occurred_at"),)

    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"))
    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"))
    kind: Mapped[str] = mapped_column(String(60))  # dotted code: material.opened, opportunity.won, webhook.<name>
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=clock.now)
    source: Mapped[str] = mapped_column(String(20), default=EventSource.SYSTEM)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Same key → no second row: a resent webhook, a replayed beacon, a re-run import.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)


class MaterialView(IdMixin, Base):
    """One opening of a tracked material link; the page's beacon adds reading time to it."""

    __tablename__ = "material_views"
    __table_args__ = (Index("ix_material_views_unreported", "read_reported_at", "last_seen_at"),)

    token_digest: Mapped[str] = mapped_column(String(64), index=True)  # sha256 of the link's token
    nonce: Mapped[str] = mapped_column(String(32), unique=True)  # the view's own secret, signed into the page
    material_id: Mapped[int] = mapped_column(BigId, ForeignKey("materials.id"))
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("contacts.id"))
    rep_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    opened_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    read_seconds: Mapped[int] = mapped_column(default=0)
    last_seq: Mapped[int] = mapped_column(default=0)  # the beacon's sequence number: a replayed post is refused
    downloaded_at: Mapped[datetime | None]
    read_reported_at: Mapped[datetime | None]  # the read summary went to the rep (or the view was too short)
