"""A spreadsheet sent to the bot in chat: preview summary with a 确认导入 button → commit → "done" message.

The download runs as a job on the "media" queue (no session open while fetching from WeCom); the import
itself is the same use case the mini-program and the CLI call (salesnav/handlers/excel_import/).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesnav.bot import outbox
from salesnav.bot.capture import media, record_chase, stage_move, ticket_answer
from salesnav.bot.client import get_client
from salesnav.bot.parse import parse_message
from salesnav.bot.router import Incoming, router
from salesnav.handlers.errors import DomainError
from salesnav.handlers.excel_import import commit
from salesnav.jobs.queue import enqueue_after_commit
from salesnav.models import ExcelImport, InboundMessage, User
from salesnav.models import session as db
from salesnav.settings import current_settings

SHEET_SUFFIXES = (".xlsx", ".xls", ".csv")
DECIDE = (
    "要拆分合并的客户、改为记在同事客户名下或逐个决定疑似重复，请在客户端处理：{link}；"
    "按上面的默认导入，点卡片上的“确认导入”。"
)
BUTTON_PREFIX = "xlsimp"


@router.message("file")
def on_file(incoming: Incoming) -> None:
    # A file may be the material a ticket card asked for, or a deal's evidence from the 待补录 list.
    if ticket_answer.claim(incoming) or record_chase.claim(incoming):
        return
    inbound_id = incoming.inbound.id
    if stage_move.waiting_for_file(incoming.session, incoming.member) is not None:
        # The file is the checklist item a deal's move asked for (a 报价单 PDF, a 演示PPT), not a sheet to import.
        enqueue_after_commit(
            incoming.session, media.store_checklist_file, inbound_id, key=f"media:{inbound_id}", queue="media"
        )
        incoming.note = "checklist file download queued"
        return
    name = incoming.message.get("FileName") or incoming.message.get("Title") or ""
    if name and not name.lower().endswith(SHEET_SUFFIXES):
        incoming.reply_text("目前只能导入 Excel（.xlsx / .xls）或 CSV 表格文件。")
        return
    enqueue_after_commit(incoming.session, preview_file, inbound_id, key=f"excel:{inbound_id}", queue="media")
    incoming.reply_text("收到表格，正在识别，请稍候…")


def preview_file(inbound_id: int) -> None:
    """The job: fetch the file, plan the import, and reply with the preview card."""
    with db.transaction() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None:
            return
        message = parse_message(row.raw_xml)
    content = get_client().download_media(message.get("MediaId") or "")
    settings = current_settings()
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.wecom_userid == message.actor_userid)).first()
        if user is None:
            return
        key = f"inbound:{inbound_id}:excel"
        try:
            imp, plan = commit.start_import(
                session,
                user,
                owner=user,
                data=content,
                filename=message.get("FileName") or "表格",
                root=settings.data_dir,
                tz=settings.business_tz,
                channel="wecom",
            )
        except DomainError as exc:
            session.rollback()
            outbox.queue_text(session, user.wecom_userid, f"表格无法导入：{exc.message}", idempotency_key=key)
            return
        if imp.status.value != "previewed":
            outbox.queue_text(
                session,
                user.wecom_userid,
                f"这份表格已经导入过了（{imp.status.label}），没有重复导入。",
                idempotency_key=key,
            )
            return
        outbox.queue_template_card(
            session, user.wecom_userid, preview_card(imp, plan.summary(), plan.blocking), idempotency_key=key
        )
        details = plan.lines()
        if details:  # merges, others' customers, near misses and every note, before anything is written
            link = current_settings().client_url(f"work/import/index?id={imp.id}")
            outbox.queue_text(
                session,
                user.wecom_userid,
                "\n".join(
                    [f"「{imp.filename}」导入预览（确认前未写入任何数据）：", *details, DECIDE.format(link=link)]
                ),
                idempotency_key=f"{key}:details",
            )


def preview_card(imp: ExcelImport, summary: dict[str, int], blocking: str | None) -> dict[str, Any]:
    lines = (
        f"共 {summary['rows']} 行：新客户 {summary['new_customers']}，已有客户 {summary['matched_customers']}，"
        f"触点 {summary['touchpoints']}，商机 {summary['opportunities']}"
    )
    extra = []
    if summary["near_misses"]:
        extra.append(f"疑似已有客户 {summary['near_misses']} 个（要逐个决定，点卡片在客户端处理）")
    if summary.get("merged_rows"):
        extra.append(f"同一客户的不同写法 {summary['merged_rows']} 行已合并")
    if summary.get("others_customers"):
        extra.append(
            f"其他同事的客户 {summary['others_customers']} 个，默认申请转交、暂不写入"
            "（要改为记在其名下，点卡片在客户端处理）"
        )
    if summary.get("notes"):
        extra.append(f"提示 {summary['notes']} 条（见下一条消息）")
    if summary["errors"]:
        extra.append(f"有问题的行 {summary['errors']} 行，将跳过并列出原因")
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "source": {"desc": "销售导航仪"},
        "main_title": {"title": f"导入预览：{short_name(imp.filename, 20)}", "desc": lines},
        "sub_title_text": blocking or ("；".join(extra) if extra else "确认后开始导入，可整体撤销"),
        "task_id": f"xls-{imp.id}",
        "card_action": {"type": 1, "url": current_settings().client_url(f"work/import/index?id={imp.id}")},
        "button_list": []
        if blocking
        else [{"text": "确认导入", "style": 1, "key": f"{BUTTON_PREFIX}:commit:{imp.id}"}],
    }
    return card


def short_name(filename: str, most: int) -> str:
    """A file's name in at most `most` characters for a card's title: shortened in the middle, its type kept
    (cut at the end, 「….xlsx」 read as 「….xls」, another kind of file)."""
    if len(filename) <= most:
        return filename
    stem, dot, suffix = filename.rpartition(".")
    if not dot or len(suffix) > 5:
        return filename[: most - 1] + "…"
    return stem[: most - len(suffix) - 2] + "…." + suffix


@router.card_button(BUTTON_PREFIX)
def tapped(incoming: Incoming) -> None:
    _, action, raw_id = ((incoming.message.event_key or "") + "::").split(":")[:3]
    if action != "commit" or not raw_id.isdigit():
        incoming.ignored, incoming.note = True, f"unknown excel button {incoming.message.event_key}"
        return
    settings = current_settings()
    assert incoming.user is not None
    imp = commit.commit_import(
        incoming.session,
        incoming.user,
        import_id=int(raw_id),
        root=settings.data_dir,
        tz=settings.business_tz,
        notify="salesnav.bot.capture.excel:import_finished",
    )
    incoming.reply_text(f"开始导入「{imp.filename}」，共 {imp.total_rows} 行，完成后告诉您。")


def import_finished(session: Session, imp: ExcelImport) -> None:
    """Called by the import job when it ends: tell the rep in chat."""
    user = session.get(User, imp.created_by_id)
    if user is None:
        return
    if imp.status.value == "done":
        c = imp.counts
        text = (
            f"「{imp.filename}」导入完成：新建客户 {c.get('customers', 0)}，联系人 {c.get('contacts', 0)}，"
            f"触点 {c.get('touchpoints', 0)}，商机 {c.get('opportunities', 0)}；失败 {c.get('failed', 0)} 行。"
        )
        if imp.errors:
            text += "失败行：" + "；".join(f"第{e['row']}行 {e['reason']}" for e in imp.errors[:5])
        if imp.notes:
            link = current_settings().client_url(f"work/import/index?id={imp.id}")
            text += f"（另有 {len(imp.notes)} 条提示，查看：{link}）"
    else:
        text = f"「{imp.filename}」导入未完成：{imp.message or '请稍后重试'}"
    outbox.queue_text(session, user.wecom_userid, text, idempotency_key=f"excel_import:{imp.id}:finished")
