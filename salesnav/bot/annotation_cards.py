"""Template cards of the 批注 loop (annotate → rep → 收到 / 需要支援 → manager), all text in Chinese.

Button keys: "ann:pick:<alert id>" (a manager picks the alert to annotate), "ann:ack:<annotation id>",
"ann:help:<annotation id>" (the rep's answers), "ann:fwd:<annotation id>:<marketing|delivery>" (the
manager passes a help request on as a collaboration ticket part), "diag:cust:<customer id>" (diagnosis),
"unfreeze:ask:<opportunity id>" (a director lifts a credit freeze: bot/capture/unfreeze.py).
"""

from __future__ import annotations

from typing import Any

from salesnav.bot.cards import SOURCE
from salesnav.handlers.annotation_feedback import AlertContext
from salesnav.handlers.deal_words import deal_name

QUOTE_LIMIT = 300  # WeCom shows a few lines of a quote; the rest is cut with an ellipsis
VALUE_LIMIT = 26  # horizontal_content_list values beyond this are cut by WeCom clients
MAX_DIGEST_BUTTONS = 6


def _cut(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _context_rows(context: AlertContext) -> list[dict[str, str]]:
    rows = [{"keyname": "客户", "value": _cut(context.customer_name or "—", VALUE_LIMIT)}]
    if context.opportunity_title:
        rows.append({"keyname": "商机", "value": deal_name(context.customer_name, context.opportunity_title)})
    if context.stage_name:
        rows.append({"keyname": "阶段", "value": context.stage_name})
    if context.rep_name:
        rows.append({"keyname": "销售", "value": context.rep_name})
    return rows  # what was wrong is the card's description, in full


def _title(heading: str, context: AlertContext) -> str:
    """「跟进超时 · 六安市立医院」: what happened and to whom, short enough for WeCom's title line."""
    who = context.customer_name or context.rep_name
    return f"{heading} · {who}" if who else heading


def alert_annotate_card(
    task_id: str,
    alert_id: int,
    context: AlertContext,
    window_minutes: int,
    extra_buttons: list[dict[str, Any]] | None = None,
    *,
    message: str = "",
    heading: str = "预警",
) -> dict[str, Any]:
    """The alert itself, as the one message a manager or director gets: the full sentence in the quote, the
    customer and deal in rows, and 批注 — one tap, then speak or type.
    `extra_buttons`: what else this person may do about this alert (a director's 解除冻结)."""
    buttons = [{"text": "批注", "style": 1, "key": f"ann:pick:{alert_id}"}]
    if context.customer_id is not None:
        buttons.append({"text": "客户诊断", "style": 2, "key": f"diag:cust:{context.customer_id}"})
    buttons += extra_buttons or []
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": _title(heading, context), "desc": context.problem},
        "quote_area": {"type": 0, "title": "预警内容", "quote_text": message or context.problem},
        "horizontal_content_list": _context_rows(context),
        "sub_title_text": f"点「批注」后 {window_minutes} 分钟内发语音或文字，即推送给{context.rep_name or '销售'}",
        "task_id": task_id,
        "button_list": buttons,
    }


def alert_picked_card(task_id: str, alert_id: int, context: AlertContext, window_minutes: int) -> dict[str, Any]:
    """The same card after 批注 was tapped: it says what to do now."""
    card = alert_annotate_card(task_id, alert_id, context, window_minutes)
    card["main_title"] = {
        "title": f"请发送批注 · {context.customer_name or context.rep_name or ''}",
        "desc": context.problem,
    }
    card.pop("quote_area")
    card["sub_title_text"] = f"请在 {window_minutes} 分钟内直接发一条语音或文字，将作为批注推送给{context.rep_name}"
    card["button_list"] = [{"text": "等待语音或文字…", "style": 2, "key": f"ann:pick:{alert_id}"}]
    return card


def alert_digest_card(task_id: str, heading: str, lines: list[str], picks: list[tuple[int, str]]) -> dict[str, Any]:
    """Several alerts to one person at once: one card listing them whole (as many lines as the quote holds, then
    how many more), and 批注 for the first few."""
    shown: list[str] = []
    for n, line in enumerate(lines, 1):
        candidate = "\n".join([*shown, f"{n}. {line}"])
        if len(candidate) > QUOTE_LIMIT - 12:
            break
        shown.append(f"{n}. {line}")
    rest = len(lines) - len(shown)
    quote = "\n".join(shown) + (f"\n另有 {rest} 项未列出" if rest else "")
    # Numbered like the list: a customer's name would not fit WeCom's short buttons whole.
    buttons = [
        {"text": f"批注第 {n} 项", "style": 1, "key": f"ann:pick:{alert_id}"}
        for n, (alert_id, _) in enumerate(picks[: len(shown)][:MAX_DIGEST_BUTTONS], 1)
    ]
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": f"{heading} · {len(lines)} 项待督办", "desc": "本轮扫描升级给您的预警，合并为一条"},
        "quote_area": {"type": 0, "title": "明细", "quote_text": quote},
        "sub_title_text": "点「批注」后发语音或文字，即推送给负责的销售",
        "task_id": task_id,
        "button_list": buttons,
    }


def annotation_for_rep_card(
    task_id: str, annotation_id: int, author_name: str, context: AlertContext, note: str, *, voice: bool
) -> dict[str, Any]:
    """What the rep gets with (after) the manager's voice: transcript or text, context, 收到 / 需要支援."""
    heard = "语音转写" if voice else "批注内容"
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": f"{author_name}的批注", "desc": context.problem},
        "quote_area": {
            "type": 0,
            "title": f"{author_name}的{heard}",
            "quote_text": _cut(note or "（未识别出文字，请收听语音）", QUOTE_LIMIT),
        },
        "horizontal_content_list": [  # the rep reading it needs no row naming themselves
            {"keyname": "批注人", "value": author_name},
            *(row for row in _context_rows(context) if row["keyname"] != "销售"),
        ],
        "task_id": task_id,
        "button_list": [
            {"text": "收到", "style": 1, "key": f"ann:ack:{annotation_id}"},
            {"text": "需要支援", "style": 3, "key": f"ann:help:{annotation_id}"},
        ],
    }


def answered_card(card: dict[str, Any], answer: str) -> dict[str, Any]:
    """The rep's card after an answer: same content, one inert button saying what was answered."""
    done = dict(card)
    done["button_list"] = [{"text": answer, "style": 2, "key": card["button_list"][0]["key"]}]
    return done


def help_request_card(
    task_id: str, annotation_id: int, rep_name: str, context: AlertContext, note: str, has_opportunity: bool
) -> dict[str, Any]:
    """To the annotating manager: the rep asks for help; forward it to marketing or delivery in one tap."""
    buttons = (
        [
            {"text": "转市场部", "style": 1, "key": f"ann:fwd:{annotation_id}:marketing"},
            {"text": "转交付部", "style": 1, "key": f"ann:fwd:{annotation_id}:delivery"},
        ]
        if has_opportunity
        else [{"text": "已知悉", "style": 2, "key": f"ann:seen:{annotation_id}"}]
    )
    return {
        "card_type": "button_interaction",
        "source": SOURCE,
        "main_title": {"title": f"{rep_name}需要支援", "desc": context.problem},
        "quote_area": {"type": 0, "title": "您的批注", "quote_text": _cut(note, QUOTE_LIMIT)},
        "horizontal_content_list": _context_rows(context),
        "sub_title_text": "可转给市场部或交付部，作为该商机协同单的一项任务（带响应时限）"
        if has_opportunity
        else "该预警没有关联商机，无法转协同单，请直接联系销售",
        "task_id": task_id,
        "button_list": buttons,
    }
