"""Arranging deals for the rule tests, through the real handlers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from salesnav.handlers.opportunities import create_from_touchpoint
from salesnav.handlers.stages import stage_by_code
from salesnav.models import Customer, Opportunity
from tests import factories as f


def deal(
    session: Session,
    org: f.Org,
    *,
    customer_name: str = "协和医院",
    title: str = "CT球管更换",
    amount_fen: int = 58_000_000,
    stage: str | None = None,
) -> tuple[Customer, Opportunity]:
    cust = f.customer(session, org.rep, name=customer_name)
    tp = f.touchpoint(session, org.rep, cust, summary="拜访设备科主任")
    opp = create_from_touchpoint(
        session, org.rep, touchpoint_id=tp.id, title=title, product_line="CT球管", expected_amount_fen=amount_fen
    )
    if stage is not None:
        opp.stage = stage_by_code(session, stage)  # arranged directly: the earlier stages are not under test
    session.flush()
    return cust, opp
