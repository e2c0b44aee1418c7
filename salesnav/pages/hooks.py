"""The inbound webhook for outside systems: POST /hooks/events (docs/journeys.md, "Inbound webhook").

Signed with HMAC-SHA256 of `<timestamp>.<body>` and the shared secret (SALESNAV_WEBHOOK_SECRET), headers
X-SalesNav-Timestamp and X-SalesNav-Signature; idempotent by the sender's event id. Answers in Chinese:
201 recorded, 200 duplicate (already recorded), 400 not a JSON object, 401 unsigned, badly signed or outside the
5-minute window (a replay), 413 too large, 422 a field is wrong or the customer cannot be found, 503 not enabled.

POST /hooks/events/batch takes up to 500 such events as {"events": [...]}, signed the same way, recorded in one
transaction; it answers 200 with each event's outcome in order (recorded, duplicate, or refused with its fields),
an event refused alone.
"""

from __future__ import annotations

import json
from typing import Any

import marshmallow as ma
from flask import Blueprint, current_app, jsonify, request
from marshmallow import fields, validate

from salesnav import clock, json_input
from salesnav.handlers import webhook_events
from salesnav.settings import Settings
from salesnav.web_session import request_session

bp = Blueprint("hooks", __name__)

MAX_BODY_BYTES = 64 * 1024
MAX_BATCH_BODY_BYTES = 2 * 1024 * 1024
MAX_PAYLOAD_BYTES = 8 * 1024
TIMESTAMP_HEADER = "X-SalesNav-Timestamp"
SIGNATURE_HEADER = "X-SalesNav-Signature"


class CustomerRef(ma.Schema):
    id = fields.Integer(validate=validate.Range(min=1, max=2**53), error_messages={"invalid": "须为整数"})
    mobile = fields.String(validate=validate.Length(min=5, max=32, error="长度须在 5–32 个字符之间"))
    external_userid = fields.String(validate=validate.Length(min=1, max=64, error="长度须在 1–64 个字符之间"))

    class Meta:
        unknown = ma.RAISE

    @ma.validates_schema
    def _one_of(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not any(data.get(name) for name in ("id", "mobile", "external_userid")):
            raise ma.ValidationError("请给出 id、mobile 或 external_userid 之一")


class EventIn(ma.Schema):
    sender = fields.String(
        required=True,
        validate=validate.Regexp(webhook_events.NAME, error="须为 1–40 个字母、数字或 _.:- ，如 erp"),
    )
    event_id = fields.String(
        required=True,
        validate=validate.Regexp(webhook_events.EVENT_ID, error="须为 1–80 个字母、数字或 _.:/- ，发送方内唯一"),
    )
    kind = fields.String(
        required=True,
        validate=validate.Regexp(webhook_events.KIND, error="须为小写字母开头的 a-z 0-9 _ .（1–49 个），如 order.paid"),
    )
    occurred_at = fields.AwareDateTime(load_default=None, error_messages={"invalid": "须为带时区的 ISO 8601 时间"})
    customer = fields.Nested(CustomerRef, required=True)
    payload = fields.Dict(keys=fields.String(), load_default=dict, error_messages={"invalid": "须为 JSON 对象"})

    class Meta:
        unknown = ma.RAISE

    @ma.validates("payload")
    def _small(self, value: dict[str, Any], **_kwargs: Any) -> None:
        if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_PAYLOAD_BYTES:
            raise ma.ValidationError(f"payload 不能超过 {MAX_PAYLOAD_BYTES // 1024} KB")


def _chinese(messages: Any) -> Any:
    """marshmallow's own English words for the common cases, in Chinese."""
    if isinstance(messages, dict):
        return {key: _chinese(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_chinese(m) for m in messages]
    return {
        "Missing data for required field.": "必填",
        "Unknown field.": "无法识别的字段",
        "Not a valid string.": "须为字符串",
        "Not a valid integer.": "须为整数",
        "Invalid input type.": "类型不对",
        "Field may not be null.": "不能为 null",
    }.get(str(messages), messages)


def _refuse(status: int, error: str, message: str, **details: Any) -> tuple[Any, int]:
    return jsonify(error=error, message=message, **details), status


def _signed_document(limit: int) -> tuple[dict[str, Any] | None, tuple[Any, int] | None]:
    """The request's JSON object once its size, signature and window are checked; else the refusal."""
    settings: Settings = current_app.config["SALESNAV"]
    if not settings.webhook_secret:
        return None, _refuse(503, "disabled", "入站事件接口未启用：服务端未设置 SALESNAV_WEBHOOK_SECRET")
    if (request.content_length or 0) > limit:
        return None, _refuse(413, "too_large", f"请求体不能超过 {limit // 1024} KB")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        return None, _refuse(413, "too_large", f"请求体不能超过 {limit // 1024} KB")
    try:
        webhook_events.verify(
            settings.webhook_secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            raw,
            clock.now(),
        )
    except webhook_events.SignatureRefused as exc:
        return None, _refuse(401, exc.code, exc.message)
    if (problem := json_input.problem(raw)) is not None:
        return None, _refuse(400, "bad_request", problem)
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return None, _refuse(400, "bad_request", "请求体须为 UTF-8 编码的 JSON 对象")
    if not isinstance(document, dict):
        return None, _refuse(400, "bad_request", "请求体须为 UTF-8 编码的 JSON 对象")
    return document, None


@bp.post("/hooks/events")
def receive_event() -> Any:
    document, refused = _signed_document(MAX_BODY_BYTES)
    if document is None:
        return refused
    try:
        body = EventIn().load(document)
    except ma.ValidationError as exc:
        return _refuse(422, "invalid", "事件内容有误，请按 fields 修正", fields=_chinese(exc.messages))
    customer = body["customer"]
    session = request_session()
    try:
        recorded = webhook_events.record_webhook_event(
            session,
            sender=body["sender"],
            event_id=body["event_id"],
            kind=body["kind"],
            customer_id=customer.get("id"),
            mobile=customer.get("mobile"),
            external_userid=customer.get("external_userid"),
            occurred_at=body["occurred_at"],
            payload=body["payload"],
        )
    except webhook_events.EventRefused as exc:
        session.rollback()
        field = str(exc.details.get("field") or "customer")
        return _refuse(422, exc.code, exc.message, fields={field: [exc.message]})
    session.commit()
    event = recorded.event
    answer = {
        "status": "duplicate" if recorded.duplicate else "recorded",
        "message": "该事件已记录过（同一 event_id），未重复记录" if recorded.duplicate else "已记录",
        "id": event.id,
        "kind": event.kind,
        "customer_id": event.customer_id,
        "contact_id": event.contact_id,
    }
    return jsonify(answer), 200 if recorded.duplicate else 201


@bp.post("/hooks/events/batch")
def receive_events() -> Any:
    """Many events in one request and one transaction; each event's outcome in the answer, in order."""
    document, refused = _signed_document(MAX_BATCH_BODY_BYTES)
    if document is None:
        return refused
    listed = document.get("events")
    if set(document) != {"events"} or not isinstance(listed, list) or not listed:
        return _refuse(422, "invalid", '请求体须为 {"events": [事件, …]}，至少一个事件', fields={"events": ["必填"]})
    if len(listed) > webhook_events.MAX_BATCH:
        return _refuse(
            422,
            "invalid",
            f"一次最多 {webhook_events.MAX_BATCH} 个事件，请分批发送",
            fields={"events": [f"最多 {webhook_events.MAX_BATCH} 个"]},
        )
    schema = EventIn()
    results: list[dict[str, Any] | None] = [None] * len(listed)
    wanted: list[webhook_events.WebhookEvent] = []
    places: list[int] = []
    for index, one in enumerate(listed):
        if not isinstance(one, dict):
            results[index] = _refused_item(index, "事件须为 JSON 对象", {"event": ["须为 JSON 对象"]})
            continue
        try:
            body = schema.load(one)
        except ma.ValidationError as exc:
            results[index] = _refused_item(index, "事件内容有误，请按 fields 修正", _chinese(exc.messages))
            continue
        customer = body["customer"]
        places.append(index)
        wanted.append(
            webhook_events.WebhookEvent(
                sender=body["sender"],
                event_id=body["event_id"],
                kind=body["kind"],
                customer_id=customer.get("id"),
                mobile=customer.get("mobile"),
                external_userid=customer.get("external_userid"),
                occurred_at=body["occurred_at"],
                payload=body["payload"],
            )
        )
    session = request_session()
    items = webhook_events.record_webhook_events(session, wanted)
    session.commit()
    for index, item in zip(places, items, strict=True):
        if item.status == "refused":
            results[index] = _refused_item(index, item.refused or "", {item.field or "customer": [item.refused]})
        else:
            results[index] = {
                "index": index,
                "status": item.status,
                "message": "该事件已记录过（同一 event_id），未重复记录" if item.status == "duplicate" else "已记录",
                "id": item.id,
                "kind": item.kind,
                "customer_id": item.customer_id,
                "contact_id": item.contact_id,
            }
    counts = {status: sum(1 for r in results if r and r["status"] == status) for status in STATUSES}
    return jsonify(
        message="已记录 {recorded} 个，重复 {duplicate} 个，拒绝 {refused} 个".format(**counts),
        results=results,
        **counts,
    )


STATUSES = ("recorded", "duplicate", "refused")


def _refused_item(index: int, message: str, fields: Any) -> dict[str, Any]:
    return {"index": index, "status": "refused", "error": "invalid", "message": message, "fields": fields}
