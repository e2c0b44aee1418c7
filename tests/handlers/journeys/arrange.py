"""Arranging journeys through the real handlers: a hospital with its 设备科主任, a deal, materials, a journey."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import select

from salesnav import clock
from salesnav.handlers import radar
from salesnav.handlers.attachments import store_attachment
from salesnav.handlers.customer_events import record_customer_event
from salesnav.handlers.journeys import examples, store
from salesnav.jobs.journeys import advance_due
from salesnav.models import Contact, Journey, JourneyEnrollment, JourneyStepRun, Material
from salesnav.models import session as db
from tests import factories as f
from tests.rules.arrange import deal

PDF = b"%PDF-1.4\n% AI imaging white paper\n"


@dataclass
class Hospital:
    org: f.Org
    customer_id: int
    contact_id: int
    whitepaper_id: int
    case_id: int
    opportunity_id: int


def hospital(session, frozen_clock, *, with_deal: bool = True, files_root=None) -> Hospital:
    org = f.org(session)
    if with_deal:
        cust, opp = deal(session, org, customer_name="嘉兴市第一医院", title="AI影像辅助诊断")
        opp_id = opp.id
    else:
        cust, opp_id = f.customer(session, org.rep, name="嘉兴市第一医院"), 0
    contact = Contact(customer_id=cust.id, name="李主任", title="设备科主任")
    now = frozen_clock.now()
    paper = Material(title="AI影像辅助诊断白皮书", url="https://example.test/paper.pdf", published_at=now)
    case = Material(
        title="同级三甲医院AI影像案例", tags=["案例"], url="https://example.test/case.pdf", published_at=now
    )
    session.add_all([contact, paper, case])
    session.flush()
    if files_root is not None:  # the white paper as a kept PDF, downloadable from its 雷达 page
        paper.attachment_id = store_attachment(session, None, data=PDF, filename="白皮书.pdf", root=files_root).id
        session.flush()
    session.commit()
    return Hospital(org, cust.id, contact.id, paper.id, case.id, opp_id)


def ready_journey(session, h: Hospital) -> int:
    examples.install_ready_journeys(session, case_material_id=h.case_id)  # the migration may have installed it
    journey = session.scalars(select(Journey).where(Journey.template == examples.WHITEPAPER_TEMPLATE)).one()
    store.set_active(session, h.org.admin, journey.id, True)
    session.commit()
    return journey.id


def journey(session, h: Hospital, definition: dict[str, Any], name: str = "测试旅程") -> int:
    saved = store.save_journey(session, h.org.admin, name=name, definition=definition)
    store.set_active(session, h.org.admin, saved.id, True)
    session.commit()
    return saved.id


def event(app, h: Hospital, kind: str, key: str | None = None, **payload: Any) -> int:
    """Record a customer event of the hospital's 设备科主任 as the 雷达 would, and run what it queued."""
    with db.transaction() as session:
        recorded = record_customer_event(
            session,
            customer_id=h.customer_id,
            contact_id=h.contact_id,
            kind=kind,
            payload=payload,
            source="radar",
            dedupe_key=key,
        )
        event_id = recorded.id if recorded else 0
    app.drain()
    return event_id


def download_through_the_page(app, h: Hospital) -> None:
    """The rep shares the white paper's 雷达 link; 李主任 opens it and downloads the file (the real page)."""
    with db.transaction() as session:
        link = radar.share_link(session, h.org.rep, h.whitepaper_id, h.customer_id, contact_id=h.contact_id)
    page = requests.get(link.url, timeout=10)
    assert page.status_code == 200, page.text
    [view] = re.findall(r'data-view="([^"]+)"', page.text)
    assert requests.get(f"{app.base_url}/r/file/{view}", timeout=10).status_code == 200
    app.drain()


def read_through_the_page(app, url: str, seconds: int, clock_) -> None:
    """李主任 opens a 雷达 link the rep sent and reads it for `seconds` (the page's beacon), the clock moved."""
    page = requests.get(url, timeout=10)
    assert page.status_code == 200, page.text
    [view] = re.findall(r'data-view="([^"]+)"', page.text)
    clock_.advance(timedelta(seconds=seconds))
    body = json.dumps({"view": view, "seq": 1, "seconds": seconds, "final": True})
    beacon = requests.post(f"{app.base_url}/r/beacon", data=body, headers={"Content-Type": "text/plain"}, timeout=10)
    assert beacon.status_code == 204, beacon.text
    app.drain()


def download(app, h: Hospital, key: str | None = None) -> int:
    return event(app, h, "material.downloaded", key, material_id=h.whitepaper_id)


def advance(app) -> dict[str, int]:
    """The clock's advance job as of the test clock, and everything it queued."""
    done = advance_due(clock.now().isoformat())
    app.drain()
    return done


def runs(journey_id: int) -> dict[str, JourneyStepRun]:
    with db.transaction() as session:
        rows = session.scalars(
            select(JourneyStepRun).where(JourneyStepRun.journey_id == journey_id).order_by(JourneyStepRun.id)
        ).all()
        for row in rows:
            session.expunge(row)
        return {row.step_key: row for row in rows}


def enrollments(journey_id: int) -> list[JourneyEnrollment]:
    with db.transaction() as session:
        rows = session.scalars(
            select(JourneyEnrollment).where(JourneyEnrollment.journey_id == journey_id).order_by(JourneyEnrollment.id)
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def escalate_the_reps_step(app, clock_, start) -> None:
    """The rep's 8-hour step of the ready journey, entered at `start`, goes unfinished: its reminder at 8 h, then
    at 24 h its escalation to the manager (and the condition's else branch)."""
    clock_.set(start + timedelta(hours=8))
    assert advance(app) == {"reminded": 1}
    clock_.set(start + timedelta(hours=24))
    assert advance(app) == {"else": 1, "escalated": 1}
