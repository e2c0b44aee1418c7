"""The WeCom adapter of the notification port: each kind of notification becomes outbox rows.

The rows are written in the caller's transaction; the outbox's `deliver` job sends them after commit
(salesnav/bot/outbox.py), with its retries, rate limits and digests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from salesnav import clock
from salesnav.bot import outbox
from salesnav.bot.battle_pack_card import render_markdown
from salesnav.bot.capture.annotate import deliver_to_rep, queue_alert_card, queue_digest_card
from salesnav.bot.ticket_cards import part_card, task_id_for
from salesnav.models import OutboundMessage
from salesnav.models.base import UTCDateTime
from salesnav.ports import notifications as port
from salesnav.settings import current_settings

BATTLE_PACK_MSG_TYPE = "markdown"


def register() -> None:
    port.register(port.TextToMember, text_to_member)
    port.register(port.CardToMember, card_to_member)
    port.register(port.FileToMember, file_to_member)
    port.register(port.AlertToAnnotate, alert_to_annotate)
    port.register(port.AlertDigestToMember, alert_digest_to_member)
    port.register(port.AnnotationToRep, annotation_to_rep)
    port.register(port.TicketPartToDepartment, ticket_part_to_department)
    port.register_batch(port.BattlePackToRep, battle_packs_to_reps)
    port.register_batch(port.TextToMember, texts_to_members)


def _session(session: Session | None) -> Session:
    if session is None:
        raise ValueError("WeCom messages are recorded in the outbox: a session is needed")
    return session


def text_to_member(session: Session | None, note: port.TextToMember) -> OutboundMessage:
    return outbox.queue_text(_session(session), note.userid, note.text, idempotency_key=note.key)


def card_to_member(session: Session | None, note: port.CardToMember) -> OutboundMessage:
    body = {"title": note.title[:128], "description": note.description[:512], "url": note.url, "btntxt": note.button}
    return outbox.queue_message(_session(session), note.userid, "textcard", body, idempotency_key=note.key)


def file_to_member(session: Session | None, note: port.FileToMember) -> OutboundMessage:
    return outbox.queue_file(_session(session), note.userid, note.attachment, idempotency_key=note.key)


def alert_to_annotate(session: Session | None, note: port.AlertToAnnotate) -> bool:
    return queue_alert_card(_session(session), note.alert, note.manager, note.tag, note.content)


def alert_digest_to_member(session: Session | None, note: port.AlertDigestToMember) -> None:
    queue_digest_card(_session(session), list(note.alerts), note.member, list(note.lines), note.rule_name, key=note.key)


def annotation_to_rep(session: Session | None, note: port.AnnotationToRep) -> None:
    deliver_to_rep(_session(session), note.annotation, voice_media_id=None)


def ticket_part_to_department(session: Session | None, note: port.TicketPartToDepartment) -> OutboundMessage:
    part, user, reminder = note.part, note.member, note.reminder
    tag = "reminder" if reminder else "card"
    card = part_card(part, task_id=task_id_for(part, user, reminder=reminder), now=clock.now(), reminder=reminder)
    return outbox.queue_template_card(
        _session(session), user.wecom_userid, card, idempotency_key=f"ticket_part:{part.id}:{tag}:{user.wecom_userid}"
    )


_INSERT = {
    "postgresql": """
        INSERT INTO outbound_messages (recipient_userid, msg_type, body, idempotency_key, status, attempts,
                                       next_attempt_at, created_at, updated_at)
        SELECT r.userid, :msg_type, r.body, r.key, 'queued', 0, :now, :now, :now
        FROM json_to_recordset(CAST(:rows AS json)) AS r(userid text, key text, body json)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id, recipient_userid
    """,
    # SQLite needs the WHERE to tell the upsert clause from a join constraint.
    "sqlite": """
        INSERT INTO outbound_messages (recipient_userid, msg_type, body, idempotency_key, status, attempts,
                                       next_attempt_at, created_at, updated_at)
        SELECT json_extract(value, '$.userid'), :msg_type, json_extract(value, '$.body'),
               json_extract(value, '$.key'), 'queued', 0, :now, :now, :now
        FROM json_each(:rows) WHERE true
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id, recipient_userid
    """,
}


def battle_packs_to_reps(session: Session, notes: Sequence[port.BattlePackToRep]) -> list[int]:
    """Put the packs in the outbox with one statement; a pack whose key is already there is skipped.
    Returns the new outbox ids; each is delivered by the outbox's own job after commit."""
    tz = current_settings().business_tz
    rows = [
        {"userid": n.pack.rep_userid, "key": n.pack.key, "body": {"content": render_markdown(n.pack, tz)}}
        for n in notes
    ]
    ids = [message_id for message_id, _ in _insert_rows(session, BATTLE_PACK_MSG_TYPE, rows)]
    outbox.deliver_after_commit(session, ids)  # a burst: BATCH rows to a job, within WeCom's rates
    return ids


def texts_to_members(session: Session, notes: Sequence[port.TextToMember]) -> list[int]:
    """Many texts in the outbox with one statement (a text whose key is already there is skipped), each delivered
    after commit as `text_to_member`'s is: a member's messages in the order given."""
    rows = [{"userid": n.userid, "key": n.key, "body": {"content": n.text}} for n in notes]
    inserted = _insert_rows(session, "text", rows)
    for message_id, userid in inserted:
        outbox.deliver_in_order_after_commit(session, message_id, userid)
    return [message_id for message_id, _ in inserted]


def _insert_rows(session: Session, msg_type: str, rows: Sequence[Mapping[str, object]]) -> list[tuple[int, str]]:
    """(id, recipient) of the rows newly inserted, in the order given."""
    statement = text(_INSERT[session.get_bind().dialect.name]).bindparams(bindparam("now", type_=UTCDateTime()))
    params = {"rows": json.dumps(rows, ensure_ascii=False), "msg_type": msg_type, "now": outbox.queue_time()}
    return sorted((int(r[0]), str(r[1])) for r in session.execute(statement, params))
