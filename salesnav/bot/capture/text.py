"""Text messages: power-user commands, the summary for a card just tapped, or a short help reply.

    触点 协和医院 面访 积极 下周二送样     → a touchpoint (customer by fuzzy name among the rep's own)
    商机 CT球管 58万                        → an opportunity from the rep's latest touchpoint
    推进 协和医院 方案演示                   → move the customer's deal (stage_move.py asks for what is missing)
    待办                                    → the rep's open tasks
    公海 / 领取 12 / 分配 12 给 周销售        → the public pool (pool.py)
    简报 协和医院                            → the visit brief, now (brief.py)
    标签 常州妇幼 三甲 / 去标签 …             → a customer's manual tags (tags.py)
Anything else, unless a capture is waiting for it, gets the help text: never silence.
"""

from __future__ import annotations

from salesnav import clock
from salesnav.bot.capture import (
    annotate,
    brief,
    contract_plan,
    daily_report,
    diagnosis,
    drafts,
    opportunity,
    pool,
    radar,
    record_chase,
    stage_move,
    tags,
    tasks,
    ticket_answer,
    unfreeze,
)
from salesnav.bot.capture.phrases import split_next_step
from salesnav.bot.capture.touchpoint_card import due_text, update_after_summary
from salesnav.bot.router import Incoming, router
from salesnav.handlers.customers import find_by_name
from salesnav.handlers.participants import describe_people, note_people_present
from salesnav.handlers.touchpoint_notes import add_to_touchpoint
from salesnav.handlers.touchpoints import log_touchpoint
from salesnav.models import CaptureSource, Emotion, Touchpoint, TouchpointType
from salesnav.models.messaging import CaptureDraft, DraftKind
from salesnav.settings import current_settings

HELP = (
    "没看懂这条消息。可以这样用：\n"
    "• 点菜单「记触点」，两下点选即可记录\n"
    "• 触点 协和医院 面访 积极 下周二送样\n"
    "• 商机 CT球管 58万（基于最近一条触点建商机）\n"
    f"• {stage_move.EXAMPLE}（推进商机，缺的检查清单会逐项询问）\n"
    "• 待办：查看我的待办\n"
    "• 公海：查看公海客户；领取 编号；主管可「分配 编号 给 姓名」\n"
    "• 简报 协和医院：拜访前看最可能的异议、未结事项、关键人和话术\n"
    "• 标签 常州妇幼 重点客户：给客户加标签（去标签 客户 标签；只写客户名可查看标签和生命周期）\n"
    f"• {radar.EXAMPLE}：生成发给客户的资料链接，对方打开、阅读、下载时通知您\n"
    "• 回款计划 瑞金医院 100万 签约3月2日 30万 3月31日 70万 9月30日（赢单后录入）；回款 瑞金医院 30万"
)
TOUCHPOINT_WORDS = ("触点", "记触点")
OPPORTUNITY_WORDS = ("商机", "建商机")
TASK_WORDS = ("待办", "我的待办")
HELP_WORDS = ("帮助", "help", "?", "？")


@router.message("text")
def on_text(incoming: Incoming) -> None:
    # A director's reason for 解除冻结, an answer to a ticket card just tapped, then 批注 and 诊断, are claimed
    # before anything else.
    if (
        unfreeze.claim(incoming)
        or ticket_answer.claim(incoming)
        or annotate.claim(incoming)
        or diagnosis.claim(incoming)
        or daily_report.claim(incoming)
        or record_chase.claim(incoming)
        or pool.claim(incoming)
        or brief.claim(incoming)
        or contract_plan.claim(incoming)
        or tags.claim(incoming)
        or radar.claim(incoming)
    ):
        return
    content = (incoming.message.get("Content") or "").strip()
    words = content.split()
    head = words[0].lower() if words else ""
    if head in TOUCHPOINT_WORDS and len(words) >= 2:
        log_from_command(incoming, words[1:])
    elif head in OPPORTUNITY_WORDS and len(words) >= 2:
        opportunity.from_command(incoming, " ".join(words[1:]))
    elif head in stage_move.WORDS and len(words) >= 2:
        stage_move.from_command(incoming, words[1:])
    elif head in TASK_WORDS and len(words) == 1:
        tasks.my_tasks(incoming)
    elif head in HELP_WORDS:
        incoming.reply_text(HELP)
    elif (draft := drafts.waiting_for_message(incoming.session, incoming.member)) is not None and content:
        if draft.kind is DraftKind.TOUCHPOINT:
            summarize(incoming, draft, content)
        elif draft.kind is DraftKind.STAGE_MOVE:
            stage_move.give_text(incoming, draft, content)
        else:
            opportunity.fill_details(incoming, draft, content)
    else:
        incoming.reply_text(HELP)


def log_from_command(incoming: Incoming, words: list[str]) -> None:
    user = incoming.member
    customer = find_by_name(incoming.session, user, words[0])
    tp_type: TouchpointType | None = None
    emotion: Emotion | None = None
    rest = list(words[1:])
    # Type and emotion may come in either order, right after the customer.
    while rest and (tp_type is None or emotion is None):
        as_type = TouchpointType.from_label(rest[0]) if tp_type is None else None
        as_emotion = Emotion.from_label(rest[0]) if emotion is None else None
        if as_type is not None:
            tp_type = TouchpointType(as_type)
        elif as_emotion is not None:
            emotion = Emotion(as_emotion)
        else:
            break
        rest.pop(0)
    guessed = [name for name, value in (("type", tp_type), ("emotion", emotion)) if value is None]
    now = clock.now()
    step = split_next_step(" ".join(rest), now, current_settings().business_tz)
    touchpoint = log_touchpoint(
        incoming.session,
        user,
        customer_id=customer.id,
        type=tp_type or TouchpointType.VISIT,
        emotion=emotion or Emotion.NEUTRAL,
        summary=step.summary,
        next_action=step.action,
        next_action_due=step.due if step.action else None,
        occurred_at=now,
        source=CaptureSource.CHAT_TEXT,
        guessed_fields=guessed,
    )
    people = describe_people(note_people_present(incoming.session, user, touchpoint.id, " ".join(rest)))
    note = "（类型/情绪未写，按面访/中性记录）" if guessed else ""
    incoming.reply_text(f"✅ 已记录触点：{describe(touchpoint, incoming)}{note}" + (f"\n{people}" if people else ""))


def summarize(incoming: Incoming, draft: CaptureDraft, content: str) -> None:
    """A message within the window after a card was saved (or a voice note filled it): the touchpoint's summary
    and next action. The window stays open, so a 「下一步：…」 typed after a voice note still lands here."""
    assert draft.touchpoint_id is not None
    step = split_next_step(content, clock.now(), current_settings().business_tz)
    only_next_step = content.startswith("下一步") and step.action is not None
    touchpoint = add_to_touchpoint(
        incoming.session,
        incoming.member,
        touchpoint_id=draft.touchpoint_id,
        summary=None if only_next_step else step.summary,
        next_action=step.action,
        next_action_due=step.due if step.action else None,
    )
    people = describe_people(note_people_present(incoming.session, incoming.member, touchpoint.id, content))
    update_after_summary(incoming, draft, touchpoint)
    incoming.reply_text(f"✅ 已补充到触点：{describe(touchpoint, incoming)}" + (f"\n{people}" if people else ""))


def describe(touchpoint: Touchpoint, incoming: Incoming) -> str:
    parts = [touchpoint.customer.name, touchpoint.type.label, touchpoint.emotion.label]
    if touchpoint.summary:
        parts.append(f"纪要「{touchpoint.summary[:40]}」")
    if touchpoint.next_action:
        due = due_text(touchpoint.next_action_due, incoming)
        parts.append(f"下一步：{touchpoint.next_action}" + (f"（{due}）" if due else ""))
    return "，".join(parts)
