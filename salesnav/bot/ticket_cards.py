"""Template cards of the collaboration ticket (跨部门协同单) for the department that must answer, in Chinese.

One card per part and recipient: the request, the deal (customer, title, amount, stage), the absolute
deadline in business time (「3月3日 09:30 前」) and the buttons to answer —
  marketing: 选素材 (choose from the materials library) · 发文件 (send a file or photo in the chat next);
  delivery:  确认排期 (type the date next) · 标注风险 (type the risk points next).
Button keys are "tkt:<action>:<part id>"; salesnav/bot/capture/ticket_answer.py routes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from salesnav.bot.cards import SOURCE
from salesnav.handlers.money import fen_to_yuan_text
from salesnav.handlers.rules.texts import business_tz, how_long
from salesnav.models import DepartmentKind, Material, PartStatus, TicketPart, User
from salesnav.settings import current_settings
from salesnav.voice.draft import DEFAULT_DUE_TIME

PREFIX = "tkt"
MATERIAL_QUESTION = "tkt_material"
MAX_OPTIONS = 10  # WeCom's limit for a drop-down's option_list
VALUE_LIMIT = 26  # horizontal_content_list values beyond this are cut by WeCom clients
QUOTE_LIMIT = 300
WEEKDAYS = "一二三四五六日"


def _cut(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def task_id_for(part: TicketPart, user: User, *, reminder: bool = False) -> str:
    """WeCom wants task ids unique within the app: one per part, recipient and card."""
    return f"tkt-{part.id}-{user.id}" + ("-r" if reminder else "")


def deadline_text(due_at: datetime, now: datetime) -> str:
    """「12月5日 14:30 前」 in business time (with the year when it is not this year's)."""
    due, today = due_at.astimezone(business_tz()), now.astimezone(business_tz())
    year = f"{due.year}年" if due.year != today.year else ""
    return f"{year}{due.month}月{due.day}日 {due:%H:%M} 前"


def day_text(moment: datetime) -> str:
    """「3月10日（周二）」, or 「3月10日（周二）10:00」 when a time was given, in business time. A date typed
    without a time is read as the end of the working day (salesnav/voice/draft.py), which says nothing here."""
    local = moment.astimezone(business_tz())
    day = f"{local.month}月{local.day}日（周{WEEKDAYS[local.weekday()]}）"
    return day if local.time() == DEFAULT_DUE_TIME else f"{day}{local:%H:%M}"


def _title(part: TicketPart) -> str:
    if part.enablement_request is not None:
        return f"市场赋能请求 · {part.enablement_request.kind.label}"
    return f"协同单 #{part.ticket_id} · {part.department.name}"


def _rows(part: TicketPart, now: datetime) -> list[dict[str, str]]:
    opp = part.ticket.opportunity
    rows = [
        {"keyname": "客户", "value": _cut(opp.customer.name, VALUE_LIMIT)},
        {"keyname": "商机", "value": _cut(opp.title, VALUE_LIMIT)},
        {"keyname": "金额", "value": fen_to_yuan_text(opp.expected_amount_fen)},
        {"keyname": "阶段", "value": opp.stage.name},
        {"keyname": "截止", "value": deadline_text(part.due_at, now)},
        {"keyname": "销售", "value": opp.owner.name},
    ]
    return rows


def _answer_text(part: TicketPart, material_titles: list[str]) -> str:
    """What has been answered so far, in one line."""
    said = []
    if material_titles:
        said.append("素材「" + "」「".join(material_titles) + "」")
    if part.attachment_ids:
        said.append(f"文件 {len(part.attachment_ids)} 个")
    if part.schedule_date is not None:
        said.append(f"排期 {day_text(part.schedule_date)}")
    if part.risks:
        said.append(f"风险：{part.risks}")
    if part.response_text:
        said.append(part.response_text)
    return "；".join(said)


def _buttons(part: TicketPart) -> list[dict[str, Any]]:
    marketing = part.department.kind is DepartmentKind.MARKETING
    delivery = part.department.kind is DepartmentKind.DELIVERY
    if part.status is PartStatus.CLOSED:
        done = [{"text": "已完成", "style": 2, "key": f"{PREFIX}:done:{part.id}"}]
        if delivery and not part.risks:
            done.append({"text": "标注风险", "style": 2, "key": f"{PREFIX}:risk:{part.id}"})
        return done
    if marketing:
        return [
            {"text": "选素材", "style": 1, "key": f"{PREFIX}:mat:{part.id}"},
            {"text": "发文件", "style": 2, "key": f"{PREFIX}:file:{part.id}"},
        ]
    if delivery:
        return [
            {"text": "确认排期", "style": 1, "key": f"{PREFIX}:date:{part.id}"},
            {"text": "标注风险", "style": 2, "key": f"{PREFIX}:risk:{part.id}"},
        ]
    return []  # another kind of department answers in the client (/m/)


def _hint(part: TicketPart, now: datetime, reminder: bool) -> str:
    if part.status is PartStatus.CLOSED:
        late = part.closed_at is not None and part.closed_at > part.due_at
        return "已有效响应" + ("（已超过时限）" if late else "，在时限内") + "，感谢支持"
    left = f"还剩 {how_long(part.due_at - now)}，" if reminder and part.due_at > now else ""
    if part.department.kind is DepartmentKind.MARKETING:
        return f"{left}请在 {part.sla_hours} 小时内附上材料：点「选素材」从素材库选，或点「发文件」后直接发送文件或图片"
    if part.department.kind is DepartmentKind.DELIVERY:
        return f"{left}请在 {part.sla_hours} 小时内确认排期：点「确认排期」后直接回复日期；点「标注风险」后回复风险点"
    link = current_settings().client_url(f"work/ticket/index?id={part.ticket_id}")
    return f"{left}请在 {part.sla_hours} 小时内回复：{link}"


def part_card(
    part: TicketPart,
    *,
    task_id: str,
    now: datetime,
    reminder: bool = False,
    material_titles: list[str] | None = None,
) -> dict[str, Any]:
    """The card a department's head (and the named members) get when the part opens, as a reminder before its
    deadline (`reminder`), and in place of either once it is answered."""
    title = ("⏰ 即将超时 · " if reminder and part.status is not PartStatus.CLOSED else "") + _title(part)
    if part.status is PartStatus.CLOSED:
        title = "✅ " + _title(part)
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": title, "desc": _cut(part.request, 40)},
        "horizontal_content_list": _rows(part, now),
        "sub_title_text": _hint(part, now, reminder),
        "task_id": task_id,
        "button_list": _buttons(part),
    }
    answered = _answer_text(part, material_titles or [])
    note = part.enablement_request.note if part.enablement_request is not None else None
    if answered:
        card["quote_area"] = {"type": 0, "title": "已回复", "quote_text": _cut(answered, QUOTE_LIMIT)}
    elif note or len(part.request) > 40:
        card["quote_area"] = {"type": 0, "title": "需求说明", "quote_text": _cut(note or part.request, QUOTE_LIMIT)}
    if not card["button_list"]:
        del card["button_list"]
    return card


def material_choice_card(part: TicketPart, materials: list[Material], *, task_id: str, now: datetime) -> dict[str, Any]:
    """After 选素材: the library's best fits for the deal in a drop-down (best first, pre-selected)."""
    options = [{"id": str(m.id), "text": _cut(m.title, 16)} for m in materials[:MAX_OPTIONS]]
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": _title(part), "desc": "从素材库选择一份材料"},
        "horizontal_content_list": _rows(part, now),
        "sub_title_text": "在下拉框中选好素材，点「附上所选素材」即完成；也可以点「发文件」直接发送文件或图片",
        "task_id": task_id,
        "button_selection": {
            "question_key": MATERIAL_QUESTION,
            "title": "素材",
            "option_list": options,
            "selected_id": options[0]["id"],
        },
        "button_list": [
            {"text": "附上所选素材", "style": 1, "key": f"{PREFIX}:use:{part.id}"},
            {"text": "发文件", "style": 2, "key": f"{PREFIX}:file:{part.id}"},
        ],
    }
