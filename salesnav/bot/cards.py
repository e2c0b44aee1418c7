"""Template-card JSON (WeCom `template_card`, button_interaction), all text in Chinese.

A card button's key is "<route prefix>:<what>:<value>" (e.g. "tp:cust:42"), so the router finds the
route by prefix and the route reads the value. WeCom keeps button text short: we cut at 10 chars.
"""

from __future__ import annotations

from typing import Any

from salesnav.handlers.money import fen_to_yuan_text
from salesnav.models import Emotion, TouchpointType

SOURCE = {"desc": "销售导航仪"}
MAX_BUTTONS = 6  # WeCom's limit for button_list
BUTTON_TEXT = 10
TYPE_QUESTION = "tp_type"
EMOTION_STYLE = {Emotion.POSITIVE: 1, Emotion.NEUTRAL: 2, Emotion.RESISTANT: 3}


def _short(text: str, limit: int = BUTTON_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def touchpoint_customer_card(task_id: str, customers: list[tuple[int, str]]) -> dict[str, Any]:
    """Step 1 of 记触点: one tap on a customer (recent ones first)."""
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": "记触点", "desc": "第 1 步：点选客户（最近联系的在前）"},
        "sub_title_text": "不在列表里？直接发「触点 客户名 类型 情绪 纪要」",
        "task_id": task_id,
        "button_list": [
            {"text": _short(name), "style": 1, "key": f"tp:cust:{cid}"} for cid, name in customers[:MAX_BUTTONS]
        ],
    }


MAX_CONTACT_BUTTONS = MAX_BUTTONS - len(Emotion)


def touchpoint_kind_card(
    task_id: str,
    customer_name: str,
    default_type: TouchpointType,
    contacts: list[tuple[int, str, bool]] | None = None,
) -> dict[str, Any]:
    """Step 2: the type is a drop-down (pre-set to the rep's usual one); the customer's contacts are toggles
    (✓ = was there; pre-set to who was there last time); tapping an emotion saves."""
    people = [
        {"text": _short(("✓" if present else "＋") + name), "style": 1 if present else 2, "key": f"tp:who:{cid}"}
        for cid, name, present in (contacts or [])[:MAX_CONTACT_BUTTONS]
    ]
    desc = "第 2 步：点联系人标记在场（✓ 在场），点客户情绪即保存" if people else "第 2 步：确认类型，点客户情绪即保存"
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": f"记触点 · {customer_name}", "desc": desc},
        "task_id": task_id,
        "button_selection": {
            "question_key": TYPE_QUESTION,
            "title": "触点类型",
            "option_list": [{"id": t.value, "text": t.label} for t in TouchpointType],
            "selected_id": default_type.value,
        },
        "button_list": [{"text": e.label, "style": EMOTION_STYLE[e], "key": f"tp:emo:{e.value}"} for e in Emotion]
        + people,
    }


def touchpoint_saved_card(
    task_id: str,
    *,
    customer_name: str,
    type_label: str,
    emotion_label: str,
    summary: str | None,
    next_action: str | None,
    due_text: str | None,
    window_minutes: int,
    present: list[str] | None = None,
) -> dict[str, Any]:
    """What was saved, shown in place of the buttons; one button starts the next capture."""
    rows = [
        {"keyname": "客户", "value": customer_name},
        {"keyname": "类型", "value": type_label},
        {"keyname": "情绪", "value": emotion_label},
        {"keyname": "在场", "value": _short("、".join(present), 30) if present else "（纪要里写明，如：和李主任面谈）"},
        {"keyname": "纪要", "value": _short(summary, 60) if summary else "（待补充）"},
        {
            "keyname": "下一步",
            "value": f"{next_action}（{due_text}）" if next_action and due_text else (next_action or "（待补充）"),
        },
    ]
    hint = "已保存并补充纪要" if summary else f"已保存。{window_minutes} 分钟内发一条语音或文字，即作为纪要和下一步"
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": f"✅ 触点已保存 · {customer_name}", "desc": hint},
        "horizontal_content_list": rows,
        "task_id": task_id,
        "button_list": [{"text": "再记一条", "style": 2, "key": "tp:new"}],
    }


def deal_card(opp: Any, *, title: str, next_stage: Any, task_id: str) -> dict[str, Any]:
    """An open deal as the rep sees it in chat, with a 推进 button to its next stage."""
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": _short(title, 26), "desc": _short(opp.title, 30)},
        "horizontal_content_list": [
            {"keyname": "客户", "value": opp.customer.name},
            {"keyname": "产品线", "value": opp.product_line},
            {"keyname": "预计金额", "value": fen_to_yuan_text(opp.expected_amount_fen)},
            {"keyname": "阶段", "value": opp.stage.name},
        ],
        "task_id": task_id,
        "button_list": [
            {"text": _short(f"推进到{next_stage.name}"), "style": 1, "key": f"adv:go:{opp.id}:{next_stage.code}"}
        ],
    }
