"""Voice notes and invoice photos: media → a draft the user confirms; nothing is recorded on a guess.

    POST /voice             audio → transcript → touchpoint draft (confirmed later via POST /touchpoints)
    POST /invoices/ocr      photo → invoice fields with confidence + the best matching open receivable
    POST /invoices/confirm  the (corrected) invoice → a payment, once per invoice number

The engines are slow (a second or more) and sit outside our control: the request gives back its
database connection before calling one, and an engine that cannot run is a 503 with a Chinese
message, never a bare 500. Bad media is the user's to fix: 400, or 415 when it is not audio / an image.
"""

from __future__ import annotations

import logging
from typing import Any

import filetype
import marshmallow as ma
from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from salesnav import clock
from salesnav.handlers.attachments import IMAGES, UploadRefused, UploadTooLarge, store_attachment
from salesnav.handlers.attachments import sniff as attachment_type
from salesnav.handlers.errors import DomainError
from salesnav.handlers.payments import (
    InvoiceFields,
    ReceivableMatch,
    confirm_invoice_payment,
    match_receivables,
    outstanding_fen,
    record_reading,
)
from salesnav.media_pool import read_invoice, transcribe
from salesnav.miniprogram_api.attachments import attachments_root, max_upload_bytes, read_upload
from salesnav.miniprogram_api.auth import current_actor
from salesnav.miniprogram_api.blueprint import bp
from salesnav.miniprogram_api.schemas import BusinessDate, BusinessDateTime, Code, ErrorOut, with_labels
from salesnav.miniprogram_api.unit_of_work import commit, db_session
from salesnav.models import Emotion, Payment
from salesnav.ocr import ImageRejected
from salesnav.voice import AudioRejected, draft_from_transcript
from salesnav.voice.audio import SUPPORTED_FORMATS, sniff

log = logging.getLogger(__name__)

TAGS_VOICE = ["语音"]
TAGS_INVOICE = ["发票回款"]
ENGINE_DOWN_VOICE = "语音识别服务暂时不可用，请稍后再试，或直接手动填写触点。"
ENGINE_DOWN_OCR = "发票识别服务暂时不可用，请稍后再试，或手动填写发票信息。"
_FEN = validate.Range(min=0, max=10**14, error="金额须在 0 到 1 万亿元之间（单位：分）")


class MediaRejected(DomainError):
    code = "media_rejected"  # 400: a real clip or photo we cannot use (too long, blurred, corrupt)


class NotMedia(DomainError):
    code = "unsupported_type"  # 415: not audio / not an image at all


class EngineUnavailable(DomainError):
    code = "engine_unavailable"  # 503: the speech or OCR engine cannot run; an operator must look


# --- schemas -------------------------------------------------------------------------------------


class MediaIn(ma.Schema):
    file = Upload(required=True, metadata={"description": "文件内容（按内容识别类型，文件名不作数）"})


@with_labels
class VoiceDraftOut(ma.Schema):
    summary = fields.String(required=True, metadata={"description": "纪要（识别出的文字）"})
    next_action = fields.String(allow_none=True, required=True)
    next_action_due = fields.AwareDateTime(allow_none=True, required=True)
    emotion = Code(Emotion, allow_none=True, required=True, metadata={"description": "情绪猜测；无线索时为空"})
    guessed_fields = fields.List(
        fields.String(), required=True, metadata={"description": "系统猜测的字段，确认时原样回传到 POST /touchpoints"}
    )


class VoiceOut(ma.Schema):
    transcript = fields.String(required=True, metadata={"description": "识别出的文字（简体中文，可能为空）"})
    engine = fields.String(required=True)
    duration_s = fields.Float(required=True)
    attachment_id = fields.Integer(required=True, metadata={"description": "已保存的语音附件，确认触点时带上"})
    draft = fields.Nested(VoiceDraftOut, required=True)


class InvoiceFieldsOut(ma.Schema):
    code = fields.String(allow_none=True, required=True, metadata={"description": "发票代码"})
    number = fields.String(allow_none=True, required=True, metadata={"description": "发票号码"})
    date = fields.Date(allow_none=True, required=True, metadata={"description": "开票日期"})
    buyer = fields.String(allow_none=True, required=True, metadata={"description": "购买方名称"})
    seller = fields.String(allow_none=True, required=True, metadata={"description": "销售方名称"})
    amount_fen = fields.Integer(allow_none=True, required=True, metadata={"description": "金额（分）"})
    tax_fen = fields.Integer(allow_none=True, required=True, metadata={"description": "税额（分）"})
    total_fen = fields.Integer(allow_none=True, required=True, metadata={"description": "价税合计（分）"})


class InvoiceConfidenceOut(ma.Schema):
    """How sure the reading is of each field, 0–1, keyed exactly like InvoiceFieldsOut (so `amount_fen` here is the
    confidence of the amount, not money)."""

    code = fields.Float(required=True)
    number = fields.Float(required=True)
    date = fields.Float(required=True)
    buyer = fields.Float(required=True)
    seller = fields.Float(required=True)
    amount_fen = fields.Float(required=True, attribute="amount")
    tax_fen = fields.Float(required=True, attribute="tax")
    total_fen = fields.Float(required=True, attribute="total")


class ReceivableMatchOut(ma.Schema):
    receivable_id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    customer_name = fields.String(required=True)
    invoice_no = fields.String(allow_none=True, required=True, metadata={"description": "应收款登记的发票号"})
    amount_fen = fields.Integer(required=True)
    outstanding_fen = fields.Integer(required=True, metadata={"description": "未回款金额（分）"})
    due_date = fields.Date(required=True)
    name_score = fields.Float(required=True, metadata={"description": "购买方与客户名称相似度 0–100"})
    amount_matches = fields.Boolean(required=True, metadata={"description": "价税合计等于未回款金额"})
    invoice_no_matches = fields.Boolean(required=True)
    score = fields.Float(required=True, metadata={"description": "综合匹配度 0–1"})


class InvoiceReadOut(ma.Schema):
    attachment_id = fields.Integer(required=True, metadata={"description": "已保存的发票照片，确认时带上"})
    engine = fields.String(required=True)
    fields_ = fields.Nested(InvoiceFieldsOut, data_key="fields", required=True)
    confidence = fields.Nested(InvoiceConfidenceOut, required=True, metadata={"description": "各字段置信度 0–1"})
    match = fields.Nested(
        ReceivableMatchOut,
        allow_none=True,
        required=True,
        metadata={"description": "最可能对应的未结清应收款；没有则为空"},
    )
    candidates = fields.List(fields.Nested(ReceivableMatchOut), required=True)


class InvoiceConfirmIn(ma.Schema):
    receivable_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**53))
    attachment_id = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=2**53),
        metadata={"description": "识别时返回的照片；未填的字段取识别结果"},
    )
    number = fields.String(allow_none=True, validate=validate.Length(max=20))
    code = fields.String(allow_none=True, validate=validate.Length(max=20))
    date = BusinessDate(allow_none=True)
    buyer = fields.String(allow_none=True, validate=validate.Length(max=200))
    seller = fields.String(allow_none=True, validate=validate.Length(max=200))
    amount_fen = fields.Integer(
        allow_none=True, validate=_FEN, metadata={"description": "金额（分）", "example": 1238938}
    )
    tax_fen = fields.Integer(allow_none=True, validate=_FEN, metadata={"description": "税额（分）", "example": 161062})
    total_fen = fields.Integer(
        allow_none=True, validate=_FEN, metadata={"description": "价税合计（分）", "example": 1400000}
    )
    paid_at = BusinessDateTime(allow_none=True, metadata={"description": "回款时间，默认为确认时"})


class PaymentOut(ma.Schema):
    id = fields.Integer(required=True)
    created = fields.Boolean(required=True, metadata={"description": "false：该发票此前已登记，未重复记录"})
    receivable_id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    amount_fen = fields.Integer(required=True)
    paid_at = fields.AwareDateTime(required=True)
    invoice_no = fields.String(allow_none=True, required=True)
    invoice_code = fields.String(allow_none=True, required=True)
    invoice_date = fields.Date(allow_none=True, required=True)
    attachment_id = fields.Integer(allow_none=True, required=True)
    outstanding_fen = fields.Integer(required=True, metadata={"description": "登记后该应收款尚未回款（分）"})


# --- helpers -------------------------------------------------------------------------------------


def _read_media(files: dict[str, Any]) -> tuple[bytes, str]:
    data, filename = read_upload(files)
    if len(data) > max_upload_bytes():
        raise UploadTooLarge(f"文件过大（最大 {max_upload_bytes() // (1024 * 1024)} MB）")
    current_actor()  # signed in and still active, checked before any slow work
    return data, filename


def _release_connection() -> None:
    """Give the pooled connection back before a slow engine call; the session reconnects when used."""
    db_session().close()


def _match_out(match: ReceivableMatch) -> dict[str, Any]:
    receivable = match.receivable
    return {
        "receivable_id": receivable.id,
        "customer_id": match.customer.id,
        "customer_name": match.customer.name,
        "invoice_no": receivable.invoice_no,
        "amount_fen": receivable.amount_fen,
        "outstanding_fen": match.outstanding_fen,
        "due_date": receivable.due_date,
        "name_score": match.name_score,
        "amount_matches": match.amount_matches,
        "invoice_no_matches": match.invoice_no_matches,
        "score": match.score,
    }


def _media_error(message: str, data: bytes, is_kind: Any) -> DomainError:
    """415 when the bytes are not that kind of media at all, 400 when they are but unusable."""
    return MediaRejected(message) if is_kind(data) else NotMedia(message)


def _is_audio(data: bytes) -> bool:
    return sniff(data) is not None


# --- routes --------------------------------------------------------------------------------------


@bp.route("/voice", methods=["POST"])
@bp.arguments(MediaIn, location="files")
@bp.response(200, VoiceOut)
@bp.alt_response(400, schema=ErrorOut, description="语音无法使用（过长、过短、损坏）")
@bp.alt_response(415, schema=ErrorOut, description="不是支持的语音格式")
@bp.alt_response(503, schema=ErrorOut, description="语音识别引擎不可用")
@bp.doc(tags=TAGS_VOICE, summary="语音转触点草稿（amr/mp3/m4a/wav/silk，≤60 秒）；确认后用 POST /touchpoints 保存")
def voice(files: dict[str, Any]) -> dict[str, Any]:

    data, filename = _read_media(files)
    fmt = sniff(data)
    try:
        # Checked before the slow call: the clip must also be a file we keep (e.g. an mp4-branded
        # .m4a decodes but is refused as an attachment, so it is refused here at once).
        storable = attachment_type(data).content_type.startswith("audio/")
    except UploadRefused:
        storable = False
    if fmt not in SUPPORTED_FORMATS or not storable:
        raise NotMedia("不支持的语音格式，请上传 amr、mp3、m4a、wav 或 silk 录音。")
    settings = current_app.config["SALESNAV"]
    spoken_at = clock.now()
    _release_connection()
    try:
        transcript = transcribe(data, fmt, settings=settings)
    except AudioRejected as exc:
        raise _media_error(exc.message, data, _is_audio) from exc
    except Exception as exc:  # an engine that cannot load or answer: the operator's problem, not the rep's
        log.exception("speech engine failed")
        raise EngineUnavailable(ENGINE_DOWN_VOICE) from exc
    draft = draft_from_transcript(transcript.text, spoken_at, settings.business_tz)
    attachment = store_attachment(
        db_session(),
        current_actor(),
        data=data,
        filename=filename or "voice",
        root=attachments_root(),
        max_bytes=max_upload_bytes(),
    )
    commit()
    return {
        "transcript": transcript.text,
        "engine": transcript.engine,
        "duration_s": transcript.duration_s,
        "attachment_id": attachment.id,
        "draft": {
            "summary": draft.summary,
            "next_action": draft.next_action,
            "next_action_due": draft.next_action_due,
            "emotion": draft.emotion,
            "guessed_fields": draft.guessed_fields,
        },
    }


@bp.route("/invoices/ocr", methods=["POST"])
@bp.arguments(MediaIn, location="files")
@bp.response(200, InvoiceReadOut)
@bp.alt_response(400, schema=ErrorOut, description="照片无法识别（过大、过小、损坏）")
@bp.alt_response(415, schema=ErrorOut, description="不是图片")
@bp.alt_response(503, schema=ErrorOut, description="发票识别引擎不可用")
@bp.doc(tags=TAGS_INVOICE, summary="发票照片识别：字段与置信度，并匹配我可见客户的未结清应收款（不记录回款）")
def read_invoice_photo(files: dict[str, Any]) -> dict[str, Any]:
    data, filename = _read_media(files)
    kind = filetype.guess(data[:8192])
    if kind is None or kind.extension not in IMAGES:  # checked before the slow call: a photo we also keep
        raise NotMedia("不支持的图片格式，请上传 JPG 或 PNG 格式的发票照片。")
    settings = current_app.config["SALESNAV"]
    _release_connection()
    try:
        reading = read_invoice(data, settings=settings)
    except ImageRejected as exc:
        raise _media_error(exc.message, data, filetype.is_image) from exc
    except Exception as exc:
        log.exception("invoice OCR engine failed")
        raise EngineUnavailable(ENGINE_DOWN_OCR) from exc
    session, actor = db_session(), current_actor()
    attachment = store_attachment(
        session, actor, data=data, filename=filename or "invoice", root=attachments_root(), max_bytes=max_upload_bytes()
    )
    invoice = InvoiceFields.from_reading(reading)
    record_reading(session, actor, attachment.id, invoice, dict(reading.confidence), reading.engine)
    matches = match_receivables(session, actor, invoice)
    commit()
    return {
        "attachment_id": attachment.id,
        "engine": reading.engine,
        "fields_": {
            "code": reading.code,
            "number": reading.number,
            "date": reading.date,
            "buyer": reading.buyer,
            "seller": reading.seller,
            "amount_fen": invoice.amount_fen,
            "tax_fen": invoice.tax_fen,
            "total_fen": invoice.total_fen,
        },
        "confidence": dict(reading.confidence),
        "match": _match_out(matches[0]) if matches else None,
        "candidates": [_match_out(m) for m in matches],
    }


@bp.route("/invoices/confirm", methods=["POST"])
@bp.arguments(InvoiceConfirmIn)
@bp.response(201, PaymentOut)
@bp.alt_response(200, schema=PaymentOut, description="该发票号此前已登记为这笔应收款的回款：原样返回，不重复记录")
@bp.alt_response(409, schema=ErrorOut, description="该发票已登记到其他应收款，或应收款已结清")
@bp.doc(tags=TAGS_INVOICE, summary="确认发票，登记回款（可修正识别字段；同一发票号只记一次）")
def confirm_invoice(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    session, actor = db_session(), current_actor()
    invoice = InvoiceFields(
        number=body.get("number"),
        code=body.get("code"),
        date=body.get("date"),
        buyer=body.get("buyer"),
        seller=body.get("seller"),
        amount_fen=body.get("amount_fen"),
        tax_fen=body.get("tax_fen"),
        total_fen=body.get("total_fen"),
    )
    payment, created = confirm_invoice_payment(
        session,
        actor,
        receivable_id=body["receivable_id"],
        invoice=invoice,
        attachment_id=body.get("attachment_id"),
        paid_at=body.get("paid_at"),
    )
    commit()
    return _payment_out(payment, created, outstanding_fen(session, payment.receivable)), 201 if created else 200


def _payment_out(payment: Payment, created: bool, outstanding: int) -> dict[str, Any]:
    return {
        "id": payment.id,
        "created": created,
        "receivable_id": payment.receivable_id,
        "customer_id": payment.receivable.customer_id,
        "amount_fen": payment.amount_fen,
        "paid_at": payment.paid_at,
        "invoice_no": payment.invoice_no,
        "invoice_code": payment.invoice_code,
        "invoice_date": payment.invoice_date,
        "attachment_id": payment.attachment_id,
        "outstanding_fen": outstanding,
    }
