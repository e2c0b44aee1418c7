"""The daily report in the chat: the card the clock sends, its buttons, and the line a rep adds.

    确认提交 (rpt:ok:<day>)  → the day's report is confirmed as built from the records; the card shows it
    补充 (rpt:add:<day>)     → the next text or voice (within reports.add_window_minutes) is added as a line
    日报                      → today's report card, built now
    日报 今天下午整理了投标资料 → a line added to today's report at once
    菜单「我的 › 今日日报」    → today's report card
Team report cards carry 发送Excel (rpt:xlsx:<daily|weekly>:<day>): the workbook is built by a job and sent
as a file in the chat. The text route calls `claim(incoming)` first; voice goes through `take_voice`.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from salesnav import clock
from salesnav.bot import report_cards, report_jobs
from salesnav.bot.capture import record_chase
from salesnav.bot.router import Incoming, router
from salesnav.handlers.reports import daily
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import Role
from salesnav.settings import current_settings

WORDS = ("日报", "今日日报")
MENU_KEY = "DAILY_REPORT"
STALE = "这个按钮已失效，请发「日报」查看今天的日报。"
ADD_PROMPT = "请直接发一句文字或一段语音，会补充到{day}的日报。"


def _tz() -> ZoneInfo:
    return current_settings().business_tz


def _today() -> date:
    return clock.now().astimezone(_tz()).date()


def _show(incoming: Incoming, report: daily.DailyReport, *, in_place: bool) -> None:
    # A card updated in place keeps the tapped card's task id; a new card gets one of its own.
    tapped = incoming.message.get("TaskId") if in_place else None
    task_id = tapped or report_cards.daily_task_id(report, version=incoming.inbound.id)
    card = report_cards.daily_card(report, _tz(), task_id=task_id)
    if in_place:
        incoming.show_card(card)
    else:
        incoming.reply_card(card)


@router.event("click", key=MENU_KEY)
def on_menu(incoming: Incoming) -> None:
    _show(incoming, daily.report_for(incoming.session, incoming.member, _today(), _tz()), in_place=False)


@router.card_button(report_cards.PREFIX)
def on_button(incoming: Incoming) -> None:
    _prefix, action, *rest = (incoming.message.event_key or "").split(":")
    if action == "xlsx" and len(rest) == 2:
        _send_workbook(incoming, rest[0], rest[1])
        return
    if action in ("tp", "ev") and rest and rest[0].isdigit():
        if action == "tp":
            record_chase.complete_touchpoint(incoming, int(rest[0]))
        else:
            record_chase.complete_deal(incoming, int(rest[0]))
        return
    try:
        day = date.fromisoformat(rest[0]) if rest else None
    except ValueError:
        day = None
    if day is None:
        incoming.reply_text(STALE)
        return
    session, rep = incoming.session, incoming.member
    if action == "ok":
        _show(incoming, daily.confirm(session, rep, day, _tz()), in_place=True)
    elif action == "add":
        daily.start_adding(session, rep, day)
        incoming.reply_text(ADD_PROMPT.format(day=report_cards.day_label(day)))
    elif action == "done":
        incoming.reply_text(f"{report_cards.day_label(day)}的日报已确认提交。")
    else:
        incoming.reply_text(STALE)


def claim(incoming: Incoming) -> bool:
    """Whether this text is for the daily report: 「日报 …」, or the line after 补充 was tapped."""
    if incoming.message.msg_type != "text" or incoming.user is None:
        return False
    content = (incoming.message.get("Content") or "").strip()
    head, _, rest = content.partition(" ")
    session, rep = incoming.session, incoming.member
    if head in WORDS:
        if rest.strip():
            report = daily.add_line(session, rep, _today(), rest, _tz(), source="text")
            incoming.reply_text("✅ 已补充到今天的日报。")
            _show(incoming, report, in_place=False)
        else:
            _show(incoming, daily.report_for(session, rep, _today(), _tz()), in_place=False)
        return True
    day = daily.pending_addition(session, rep)
    if day is None or not content:
        return False
    report = daily.add_line(session, rep, day, content, _tz(), source="text")
    incoming.reply_text(f"✅ 已补充到{report_cards.day_label(day)}的日报。")
    _show(incoming, report, in_place=False)
    return True


def take_voice(incoming: Incoming, transcript: str | None) -> bool:
    """A transcribed voice note sent after 补充: it becomes the line (True), else it is not ours (False)."""
    day = daily.pending_addition(incoming.session, incoming.member)
    if day is None:
        return False
    if not transcript or not transcript.strip():
        incoming.reply_text("没有听清这段语音，请重新录一条或直接发文字，补充到日报。")
        return True
    report = daily.add_line(incoming.session, incoming.member, day, transcript, _tz(), source="voice")
    incoming.reply_text(f"✅ 语音已转成文字，补充到{report_cards.day_label(day)}的日报（识别内容可能有误）。")
    _show(incoming, report, in_place=False)
    return True


def _send_workbook(incoming: Incoming, kind: str, day_text: str) -> None:
    user = incoming.member
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        day = None
    if kind not in ("daily", "weekly") or day is None or user.role not in (Role.MANAGER, Role.DIRECTOR, Role.ADMIN):
        incoming.reply_text("这个按钮已失效，请在看板「团队报告」页下载 Excel。")
        return
    enqueue_after_commit(
        incoming.session,
        report_jobs.send_workbook,
        user.id,
        kind,
        day.isoformat(),
        key=f"report-xlsx:{incoming.inbound.id}",
        queue="reports",
    )
    incoming.reply_text("正在生成 Excel，稍后以文件发给您。")
