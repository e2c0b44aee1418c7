"""The ready journeys (现成旅程): definitions an admin starts from, installed in every company.

The article's example (§七): a hospital's 设备科主任 downloads the 《AI影像辅助诊断白皮书》 → at once ① the rep
sends a case from a hospital of the same grade that day, ② marketing books a regional technical consultant for an
online demo within 48 h, ③ delivery prepares a compatibility report for the hospital's current equipment. Then a
branch: if the contact reads the case within 24 h the rep books a visit while it is warm, else the rep is told to
follow up another way. A won deal ends the journey.

`install_ready_journeys` writes them (inactive: an admin switches one on) once per company — the migration does
it for a fresh company, the demo does it with its own materials; installing again changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.journeys.definition import JourneyDefinition, definition_json, parse_definition
from salesnav.models import Journey, Material

WHITEPAPER_TEMPLATE = "whitepaper_three_departments"
WHITEPAPER_TITLE = "AI影像辅助诊断白皮书"
WHITEPAPER_NAME = "白皮书下载后三部门联动"
WHITEPAPER_DESCRIPTION = (
    "医院设备科主任下载《AI影像辅助诊断白皮书》后：销售当天发送同级医院案例，市场部 48 小时内预约区域技术顾问"
    "线上演示，交付部准备现有设备兼容性报告；客户 24 小时内是否阅读案例决定下一步。赢单即结束。"
)


def whitepaper_definition(case_material_id: int | None = None) -> dict[str, Any]:
    """The article's example as a definition (JSON); `case_material_id` is the same-grade hospital case to send."""
    return {
        "trigger": {
            "kind": "material.downloaded",
            "filter": {"contact_title": "设备科", "material_title": WHITEPAPER_TITLE},
        },
        "steps": [
            {
                "key": "send_case",
                "title": "销售当天发送同级医院案例",
                "owner": {"type": "rep"},
                "action": {
                    "type": "card",
                    "text": "{客户}的{联系人}刚下载了《AI影像辅助诊断白皮书》。请今天把同级医院的案例发给对方，"
                    "完成后在待办里点完成。",
                    **({"material_id": case_material_id} if case_material_id else {}),
                    "sla_hours": 8,
                    "escalate_after_hours": 16,
                },
            },
            {
                "key": "book_demo",
                "title": "市场部预约区域技术顾问线上演示",
                "owner": {"type": "department", "value": "marketing"},
                "action": {
                    "type": "task",
                    "text": "为{客户}（{联系人}）预约区域技术顾问做一次线上演示，{截止}前确认时间并告知{销售}。",
                    "sla_hours": 48,
                    "escalate_after_hours": 24,
                },
            },
            {
                "key": "compat_report",
                "title": "交付部准备设备兼容性报告",
                "owner": {"type": "department", "value": "delivery"},
                "action": {
                    "type": "ticket_part",
                    "text": "为{客户}现有影像设备准备一份兼容性报告（AI影像辅助诊断方案），{截止}前上传。",
                    "sla_hours": 72,
                    "escalate_after_hours": 24,
                },
            },
            {
                "key": "case_read",
                "title": "客户 24 小时内是否阅读案例",
                "condition": {"event": "material.read", "within_hours": 24, "then": "book_visit", "else": "nudge"},
            },
            {
                "key": "book_visit",
                "title": "趁热约设备科主任面谈",
                "owner": {"type": "rep"},
                "action": {
                    "type": "task",
                    "text": "{联系人}已阅读案例，请在{截止}前约一次面谈，推进到方案演示。",
                    "sla_hours": 48,
                },
                "next": "end",
            },
            {
                "key": "nudge",
                "title": "客户未读案例，换个方式跟进",
                "owner": {"type": "rep"},
                "action": {"type": "message", "text": "{联系人}一天内还没有阅读案例，建议今天电话跟进一次。"},
            },
        ],
        "exit": {"events": ["opportunity.won"]},
        "reentry_days": 90,
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "frequency_cap": {"per_contact_per_day": 3},
    }


def whitepaper() -> JourneyDefinition:
    return parse_definition(whitepaper_definition())


def case_material(session: Session) -> Material | None:
    """A live material that is a hospital case (title or tags say 案例), for the example's first step."""
    for material in session.scalars(
        select(Material).where(Material.deleted_at.is_(None), Material.retired_at.is_(None)).order_by(Material.id)
    ):
        if "案例" in material.title or any("案例" in tag for tag in material.tags or []):
            return material
    return None


def install_ready_journeys(session: Session, *, case_material_id: int | None = None) -> list[Journey]:
    """Install the ready journeys not installed yet (inactive); returns the ones written now.

    The migration installs the example without a case to send (a fresh company has no materials); once the
    company has one, installing again gives the untouched example (version 1) that case."""
    if case_material_id is None:
        material = case_material(session)
        case_material_id = material.id if material is not None else None
    installed = {
        journey.template: journey for journey in session.scalars(select(Journey).where(Journey.template.is_not(None)))
    }
    written = []
    existing = installed.get(WHITEPAPER_TEMPLATE)
    if existing is not None:
        first = existing.definition.get("steps", [{}])[0].get("action", {})
        if existing.version == 1 and case_material_id and not first.get("material_id"):
            existing.definition = definition_json(parse_definition(whitepaper_definition(case_material_id)))
    else:
        definition = parse_definition(whitepaper_definition(case_material_id))
        journey = Journey(
            name=WHITEPAPER_NAME,
            description=WHITEPAPER_DESCRIPTION,
            definition=definition_json(definition),
            trigger_kind=definition.trigger.kind,
            active=False,
            version=1,
            template=WHITEPAPER_TEMPLATE,
            created_at=clock.now(),
        )
        session.add(journey)
        written.append(journey)
    session.flush()
    return written


def ready_journey(session: Session, template: str = WHITEPAPER_TEMPLATE) -> Journey | None:
    """The installed ready journey of `template` (None when an admin deleted it)."""
    return session.scalars(select(Journey).where(Journey.template == template, Journey.deleted_at.is_(None))).first()
