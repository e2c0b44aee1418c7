"""批注: a manager's voice or text note on an alert, an opportunity or a touchpoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.handlers.attachments import attachment_for
from salesnav.handlers.errors import DomainError, Forbidden, NotFound
from salesnav.handlers.records import record_event
from salesnav.handlers.scope import alert_for, can_access_owner, opportunity_for, touchpoint_for
from salesnav.metrics.management import owner_of_alert
from salesnav.models import Alert, Annotation, Role, User
from salesnav.ports import notifications

ANNOTATOR_ROLES = (Role.MANAGER, Role.DIRECTOR, Role.ADMIN)
# A voice note we could not recognise is kept as octet-stream (bot/capture/annotate.py) and may still be heard.
VOICE_TYPES = ("audio/", "application/octet-stream")


def add_annotation(
    session: Session,
    actor: User,
    *,
    text: str = "",
    alert_id: int | None = None,
    opportunity_id: int | None = None,
    touchpoint_id: int | None = None,
    audio_attachment_id: int | None = None,
    transcript: str | None = None,
) -> Annotation:
    if actor.role not in ANNOTATOR_ROLES:
        raise Forbidden("只有销售主管、总监可以批注")
    text = (text or "").strip()
    if not (text or audio_attachment_id):
        raise DomainError("批注内容不能为空")
    if not (alert_id or opportunity_id or touchpoint_id):
        raise DomainError("请指定要批注的预警、商机或触点")

    # Every id the request names is checked against the actor's scope before anything is written.
    recipient_id: int | None = None
    alert = None
    if alert_id is not None:
        alert = alert_for(session, actor, alert_id)
        if alert.subject_type == "opportunity" and opportunity_id is None:
            opportunity_id = alert.subject_id
    if opportunity_id is not None:
        recipient_id = opportunity_for(session, actor, opportunity_id).owner_id
    if touchpoint_id is not None:
        recipient_id = recipient_id or touchpoint_for(session, actor, touchpoint_id).rep_id
    if audio_attachment_id is not None:
        audio = attachment_for(session, actor, audio_attachment_id)
        if not audio.content_type.startswith(VOICE_TYPES):
            raise DomainError("语音批注的附件必须是语音文件")
    if alert is not None and recipient_id is None:
        recipient_id = _alert_rep(session, actor, alert)

    now = clock.now()
    annotation = Annotation(
        author_id=actor.id,
        recipient_id=recipient_id,
        alert_id=alert_id,
        opportunity_id=opportunity_id,
        touchpoint_id=touchpoint_id,
        text=text,
        audio_attachment_id=audio_attachment_id,
        transcript=transcript,
    )
    session.add(annotation)
    if alert is not None and alert.manager_intervened_at is None:
        alert.manager_intervened_at = now  # feeds the manager intervention rate
    session.flush()
    record_event(
        session,
        "annotation.added",
        "annotation",
        annotation.id,
        actor,
        alert_id=alert_id,
        opportunity_id=opportunity_id,
        touchpoint_id=touchpoint_id,
        recipient_id=recipient_id,
    )
    return annotation


def _alert_rep(session: Session, actor: User, alert: Alert) -> int:
    """The rep a note on this alert reaches: the owner of what the alert is about (a customer's owner for a
    health alert, a deal's owner, a ticket's deal owner) — never one of the alert's recipients, who are the
    managers that received it. The annotator must have received the alert or have the rep in their scope."""
    owner_id = owner_of_alert(session, alert.id)
    if owner_id is None:
        raise DomainError("找不到该预警对应的负责销售，批注未发送")
    if actor.id not in (alert.recipient_ids or []) and not can_access_owner(session, actor, owner_id):
        raise NotFound("预警不存在或您无权查看")
    return owner_id


def annotate_and_notify(session: Session, actor: User, **fields: Any) -> Annotation:
    """`add_annotation`, then queue the note to the rep in WeCom (the card with its context and 收到 / 需要支援).

    The dashboard page and the mini-program API call this; the chat calls the two steps itself because a
    voice note also carries the uploaded voice.
    """
    annotation = add_annotation(session, actor, **fields)
    notifications.notify(session, notifications.AnnotationToRep(annotation))
    return annotation
