"""Delivery log pages: outbound messages (resend failed ones) and unprocessed inbound messages."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from salesnav.handlers.admin import delivery as use_cases
from salesnav.models import OutboundStatus
from salesnav.pages.admin import bp


@bp.get("/delivery")
def delivery() -> str:
    s = g.admin_db
    wanted = request.args.get("status", "")
    status = next((st for st in OutboundStatus if st.value == wanted), None)
    return render_template(
        "admin/delivery.html",
        messages=use_cases.outbound(s, status),
        counts=use_cases.outbound_counts(s),
        statuses=list(OutboundStatus),
        status=status,
        inbound=use_cases.unprocessed_inbound(s),
    )


@bp.post("/delivery/outbound/<int:message_id>/resend")
def resend(message_id: int) -> Response:
    use_cases.resend(g.admin_db, g.admin, message_id)
    g.admin_db.commit()
    flash(f"消息 #{message_id} 已重新排队发送")
    return redirect(url_for("admin.delivery", status=request.form.get("status", "")))


@bp.post("/delivery/inbound/<int:inbound_id>/reprocess")
def reprocess(inbound_id: int) -> Response:
    use_cases.reprocess(g.admin_db, g.admin, inbound_id)
    g.admin_db.commit()
    flash(f"收到的消息 #{inbound_id} 已重新排队处理")
    return redirect(url_for("admin.delivery"))
