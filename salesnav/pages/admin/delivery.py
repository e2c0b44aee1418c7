"""Delivery log pages: outbound messages (who, what, attempts, next attempt, the last error in Chinese; resend
a failed one or all of them) and unprocessed inbound messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from salesnav.bot import outbox, send_errors
from salesnav.handlers.admin import delivery as use_cases
from salesnav.models import OutboundStatus
from salesnav.pages.admin import audit_words, bp

STUCK = "stuck"  # the filter of messages queued too long (use_cases.STUCK_AFTER)
TYPE_LABELS = {
    "text": "文本",
    "markdown": "富文本",
    "textcard": "文本卡片",
    "template_card": "模板卡片",
    "file": "文件",
    "image": "图片",
    "voice": "语音",
    outbox.CARD_UPDATE: "卡片更新",
}


@dataclass(frozen=True)
class Row:
    """One outbound message as the log shows it."""

    id: int
    recipient_name: str | None
    recipient_userid: str
    kind: str
    preview: str
    status: OutboundStatus
    stuck: bool
    attempts: int
    max_attempts: int
    next_attempt_at: datetime | None  # only while queued
    error: str  # in Chinese
    raw_error: str
    at: datetime
    digest_id: int | None

    @classmethod
    def of(cls, logged: use_cases.LoggedMessage, max_attempts: int) -> Row:
        m = logged.message
        queued = m.status is OutboundStatus.QUEUED
        return cls(
            id=m.id,
            recipient_name=logged.recipient_name,
            recipient_userid=m.recipient_userid,
            kind=TYPE_LABELS.get(m.msg_type, m.msg_type),
            preview=outbox.summary(m, limit=80) or ("消息汇总（发送时生成）" if outbox.is_digest(m) else "—"),
            status=m.status,
            stuck=logged.stuck,
            attempts=m.attempts,
            max_attempts=max_attempts,
            next_attempt_at=m.next_attempt_at if queued else None,
            error=send_errors.explain(m.last_error),
            raw_error=m.last_error or "",
            at=m.sent_at or m.created_at,
            digest_id=m.digest_id,
        )


@bp.get("/delivery")
def delivery() -> str:
    s = g.admin_db
    wanted = request.args.get("status", "")
    status = next((st for st in OutboundStatus if st.value == wanted), None)
    logged = use_cases.outbound(s, status, stuck_only=wanted == STUCK)
    max_attempts = outbox.policy().max_attempts
    return render_template(
        "admin/delivery.html",
        inbound_kind=audit_words.inbound_kind,
        rows=[Row.of(m, max_attempts) for m in logged],
        counts=use_cases.outbound_counts(s),
        health=use_cases.delivery_health(s),
        stuck_minutes=int(use_cases.STUCK_AFTER.total_seconds() // 60),
        statuses=list(OutboundStatus),
        wanted=wanted if (status or wanted == STUCK) else "",
        inbound=use_cases.unprocessed_inbound(s),
    )


@bp.post("/delivery/outbound/<int(min=1, max=9007199254740991):message_id>/resend")
def resend(message_id: int) -> Response:
    use_cases.resend(g.admin_db, g.admin, message_id)
    g.admin_db.commit()
    flash(f"消息 #{message_id} 已重新排队，由后台任务发送")
    return redirect(url_for("admin.delivery", status=request.form.get("status", "")))


@bp.post("/delivery/outbound/resend-failed")
def resend_failed() -> Response:
    count = use_cases.resend_failed(g.admin_db, g.admin)
    g.admin_db.commit()
    flash(f"已重新排队 {count} 条发送失败的消息，由后台任务发送" if count else "没有发送失败的消息需要重发")
    return redirect(url_for("admin.delivery", status=request.form.get("status", "")))


@bp.post("/delivery/inbound/<int(min=1, max=9007199254740991):inbound_id>/reprocess")
def reprocess(inbound_id: int) -> Response:
    use_cases.reprocess(g.admin_db, g.admin, inbound_id)
    g.admin_db.commit()
    flash(f"收到的消息 #{inbound_id} 已重新排队处理")
    return redirect(url_for("admin.delivery"))
