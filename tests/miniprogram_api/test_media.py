"""Voice notes and invoice photos through HTTP with a token: media → a draft; only a confirmation records.

Speech is made by espeak-ng and recognised by the real offline engine (loaded once per module); invoices
are drawn with Pillow and read by the real offline OCR. Accuracy is the benchmark's business: here the
transcript must be non-empty Chinese and the draft must be the one the rules make of it.
"""

from __future__ import annotations

import io
import wave
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from salesnav.models import Attachment, AuditEntry, DomainEvent, Payment, Receivable, Touchpoint
from salesnav.ocr.samples import SampleInvoice, invoice_jpeg
from salesnav.voice import draft_from_transcript
from salesnav.voice.audio import to_amr
from salesnav.voice.samples import espeak_available, speak_wav
from tests import factories as f
from tests.miniprogram_api.test_attachments import bomb_png, png_bytes

SENTENCE = "明天下午三点给张主任回电话。"
INVOICE = SampleInvoice()  # buyer 上海市第六人民医院, number 08523671, total 14000.00


@pytest.fixture(scope="module")
def spoken_wav() -> bytes:
    if not espeak_available():
        pytest.fail("espeak-ng is missing: run `make system-deps`")
    return speak_wav(SENTENCE)


@pytest.fixture(scope="module")
def engines() -> None:
    """Load the speech and OCR models once for the module (1–4 s each), not inside a timed request."""
    from salesnav.ocr import offline
    from salesnav.voice import whisper

    whisper.load()
    offline.load()


@pytest.fixture(scope="module")
def invoice_photo() -> bytes:
    return invoice_jpeg(INVOICE)


def _post_file(client, path: str, headers, data: bytes, name: str):
    return client.post(f"/api/v1{path}", headers=headers, data={"file": (io.BytesIO(data), name)})


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _wav_seconds(seconds: float) -> bytes:
    samples = (0.2 * np.sin(2 * np.pi * 440 * np.arange(int(16_000 * seconds)) / 16_000) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(samples.tobytes())
    return out.getvalue()


# --- voice ---------------------------------------------------------------------------------------


def test_a_voice_note_becomes_a_draft_and_the_confirmed_touchpoint_keeps_audio_and_guesses(
    client, org, login, session, live_api, engines, spoken_wav
):
    customer = f.customer(session, org.rep, name="华山医院")
    session.commit()
    rep = login(org.rep)

    response = _post_file(client, "/voice", rep, spoken_wav, "note.wav")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert _has_chinese(body["transcript"]) and body["engine"].startswith("faster-whisper")
    assert 1.0 < body["duration_s"] <= 60
    expected = draft_from_transcript(body["transcript"], _now(), live_api.settings.business_tz)
    assert body["draft"]["summary"] == expected.summary
    assert body["draft"]["guessed_fields"] == expected.guessed_fields
    assert body["draft"]["next_action"] == expected.next_action
    with_audio = session.get(Attachment, body["attachment_id"])
    assert with_audio.content_type == "audio/wav" and with_audio.uploaded_by_id == org.rep.id
    assert session.scalar(select(Touchpoint.id)) is None  # a draft only: nothing is recorded yet

    draft = body["draft"]
    confirmed = client.post(
        "/api/v1/touchpoints",
        headers=rep,
        json={
            "customer_id": customer.id,
            "type": "phone",
            "emotion": draft["emotion"] or "neutral",
            "summary": draft["summary"],
            "next_action": draft["next_action"] or "回电话",
            "next_action_due": draft["next_action_due"],
            "attachment_ids": [body["attachment_id"]],
            "guessed_fields": draft["guessed_fields"] + ["summary"],
        },
    )
    assert confirmed.status_code == 201, confirmed.get_json()
    record = confirmed.get_json()
    assert record["attachment_ids"] == [body["attachment_id"]]
    assert record["guessed_fields"] == draft["guessed_fields"] + ["summary"]
    session.expire_all()
    stored = session.get(Touchpoint, record["id"])
    assert stored.attachments == [body["attachment_id"]] and "summary" in stored.guessed_fields


def _now():
    from salesnav import clock

    return clock.now()


def test_a_wecom_amr_voice_note_is_transcribed_too(client, org, login, engines, spoken_wav):
    amr = to_amr(spoken_wav, "wav")
    response = _post_file(client, "/voice", login(org.rep), amr, "voice.amr")
    assert response.status_code == 200, response.get_json()
    assert _has_chinese(response.get_json()["transcript"])


def test_a_rep_cannot_attach_another_reps_voice_note_to_a_touchpoint(client, org, login, session, engines, spoken_wav):
    customer = f.customer(session, org.rep)
    session.commit()
    theirs = _post_file(client, "/voice", login(org.outsider_rep), spoken_wav, "x.wav").get_json()["attachment_id"]
    response = client.post(
        "/api/v1/touchpoints",
        headers=login(org.rep),
        json={"customer_id": customer.id, "type": "phone", "attachment_ids": [theirs]},
    )
    assert response.status_code == 404
    assert session.scalar(select(Touchpoint.id)) is None
    own = f.touchpoint(session, org.rep, customer)
    session.commit()
    patched = client.patch(f"/api/v1/touchpoints/{own.id}", headers=login(org.rep), json={"attachment_ids": [theirs]})
    assert patched.status_code == 404


def test_a_file_that_is_not_audio_is_refused_with_415_in_chinese(client, org, login, session):
    response = _post_file(client, "/voice", login(org.rep), png_bytes(), "voice.amr")
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_type" and "不支持的语音格式" in response.get_json()["message"]
    assert session.scalar(select(Attachment.id)) is None


def test_a_voice_note_over_sixty_seconds_is_refused_with_400(client, org, login, session):
    response = _post_file(client, "/voice", login(org.rep), _wav_seconds(61), "long.wav")
    assert response.status_code == 400
    assert "60 秒" in response.get_json()["message"]
    assert session.scalar(select(Attachment.id)) is None


def test_a_corrupt_recording_is_refused_with_400_not_a_server_error(client, org, login):
    broken_m4a = b"\x00\x00\x00\x18ftypM4A " + b"\x00" * 300  # an m4a header and nothing playable
    response = _post_file(client, "/voice", login(org.rep), broken_m4a, "broken.m4a")
    assert response.status_code == 400
    assert response.get_json()["message"] == "语音文件已损坏或格式不对，无法解码，请重新录制。"


def test_a_speech_engine_that_cannot_start_answers_503_in_chinese(
    client, org, login, session, tmp_path, monkeypatch, spoken_wav
):
    # An operator pointed the offline model directory (SALESNAV_ASR_MODEL_DIR) at a folder with no model in it.
    app_settings = client.application.config["SALESNAV"]
    monkeypatch.setitem(client.application.config, "SALESNAV", replace(app_settings, asr_model_dir=str(tmp_path)))
    response = _post_file(client, "/voice", login(org.rep), spoken_wav, "note.wav")
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "engine_unavailable" and "语音识别服务暂时不可用" in body["message"]
    assert session.scalar(select(Attachment.id)) is None


# --- invoices ------------------------------------------------------------------------------------


@pytest.fixture
def receivables(session, org):
    """The rep's customer (everyday name) owes 14,000 on one receivable and 30,000 on another; another
    rep's customer carries the invoice's exact buyer name and amount, and must never be offered."""
    mine = f.customer(session, org.rep, name="上海第六人民医院")
    other = f.customer(session, org.rep, name="上海瑞金医院")
    theirs = f.customer(session, org.outsider_rep, name="上海市第六人民医院")
    rows = {
        "match": Receivable(customer_id=mine.id, amount_fen=1_400_000, due_date=date(2024, 4, 5)),
        "bigger": Receivable(customer_id=mine.id, amount_fen=3_000_000, due_date=date(2024, 3, 20)),
        "other_customer": Receivable(customer_id=other.id, amount_fen=1_400_000, due_date=date(2024, 4, 5)),
        "outsider": Receivable(customer_id=theirs.id, amount_fen=1_400_000, due_date=date(2024, 4, 5)),
    }
    session.add_all(rows.values())
    session.commit()
    return rows


def test_an_invoice_photo_is_read_with_confidence_and_matched_to_the_reps_open_receivable(
    client, org, login, session, engines, invoice_photo, receivables
):
    response = _post_file(client, "/invoices/ocr", login(org.rep), invoice_photo, "发票.jpg")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["fields"]["number"] == "08523671" and body["fields"]["date"] == "2024-03-05"
    assert body["fields"]["total_fen"] == 1_400_000 and body["fields"]["buyer"] == "上海市第六人民医院"
    assert min(body["confidence"][name] for name in ("number", "date", "total_fen")) > 0.8
    match = body["match"]
    assert match["receivable_id"] == receivables["match"].id
    assert match["amount_matches"] and match["outstanding_fen"] == 1_400_000 and match["name_score"] >= 90
    offered = {c["receivable_id"] for c in body["candidates"]}
    assert receivables["outsider"].id not in offered and receivables["other_customer"].id not in offered
    assert session.scalar(select(Payment.id)) is None  # read, not recorded
    assert session.get(Attachment, body["attachment_id"]).content_type == "image/jpeg"


def test_confirming_records_one_payment_with_an_audit_entry_and_an_event_and_is_idempotent(
    client, org, login, session, engines, invoice_photo, receivables
):
    rep = login(org.rep)
    read = _post_file(client, "/invoices/ocr", rep, invoice_photo, "发票.jpg").get_json()
    confirm = {
        "receivable_id": read["match"]["receivable_id"],
        "attachment_id": read["attachment_id"],
        "seller": "杭州明远医疗器械股份有限公司",
    }  # the rep corrects one field; the rest are as read

    first = client.post("/api/v1/invoices/confirm", headers=rep, json=confirm)
    assert first.status_code == 201, first.get_json()
    payment = first.get_json()
    assert (payment["amount_fen"], payment["invoice_no"], payment["invoice_date"]) == (
        1_400_000,
        "08523671",
        "2024-03-05",
    )
    assert payment["created"] is True and payment["outstanding_fen"] == 0

    again = client.post("/api/v1/invoices/confirm", headers=rep, json=confirm)
    assert again.status_code == 200 and again.get_json()["id"] == payment["id"] and again.get_json()["created"] is False
    assert len(session.scalars(select(Payment)).all()) == 1

    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "payment")).one()
    assert entry.actor_id == org.rep.id and entry.after["corrected"] == ["seller"]
    event = session.scalars(select(DomainEvent).where(DomainEvent.kind == "payment.recorded")).one()
    assert event.payload["receivable_id"] == receivables["match"].id and event.payload["amount_fen"] == 1_400_000

    # The same invoice cannot settle a second receivable.
    elsewhere = client.post(
        "/api/v1/invoices/confirm", headers=rep, json={**confirm, "receivable_id": receivables["bigger"].id}
    )
    assert elsewhere.status_code == 409 and "已登记过回款" in elsewhere.get_json()["message"]


def test_a_rep_cannot_confirm_a_payment_on_another_reps_customers_receivable(client, org, login, session, receivables):
    response = client.post(
        "/api/v1/invoices/confirm",
        headers=login(org.rep),
        json={"receivable_id": receivables["outsider"].id, "number": "08523671", "total_fen": 1_400_000},
    )
    assert response.status_code == 404 and response.get_json()["message"] == "应收款不存在或您无权查看"
    assert session.scalar(select(Payment.id)) is None
    # The director sees every customer in sales, so may.
    allowed = client.post(
        "/api/v1/invoices/confirm",
        headers=login(org.director),
        json={"receivable_id": receivables["outsider"].id, "number": "08523671", "total_fen": 1_400_000},
    )
    assert allowed.status_code == 201


def test_an_invoice_larger_than_what_is_outstanding_or_without_a_number_is_refused(
    client, org, login, session, receivables
):
    rep = login(org.rep)
    too_much = client.post(
        "/api/v1/invoices/confirm",
        headers=rep,
        json={"receivable_id": receivables["match"].id, "number": "08523672", "total_fen": 1_400_001},
    )
    assert too_much.status_code == 400 and "超过该应收款未回款金额" in too_much.get_json()["message"]
    no_number = client.post(
        "/api/v1/invoices/confirm", headers=rep, json={"receivable_id": receivables["match"].id, "total_fen": 10_000}
    )
    assert no_number.status_code == 400 and no_number.get_json()["message"] == "请填写发票号码"
    bad_money = client.post(
        "/api/v1/invoices/confirm",
        headers=rep,
        json={"receivable_id": receivables["match"].id, "number": "08523672", "total_fen": "一万"},
    )
    assert bad_money.status_code == 422 and "必须是整数" in bad_money.get_json()["message"]
    assert session.scalar(select(Payment.id)) is None


def test_photos_that_cannot_be_invoices_are_refused_in_chinese(client, org, login, session):
    rep = login(org.rep)
    renamed = _post_file(client, "/invoices/ocr", rep, b"MZ\x90\x00" + b"\x00" * 500, "发票.jpg")
    assert renamed.status_code == 415 and "图片" in renamed.get_json()["message"]
    tiny = _post_file(client, "/invoices/ocr", rep, png_bytes((20, 20)), "发票.png")
    assert tiny.status_code == 400 and "图片太小" in tiny.get_json()["message"]
    bomb = _post_file(client, "/invoices/ocr", rep, bomb_png(), "发票.png")
    assert bomb.status_code == 400 and "像素过多" in bomb.get_json()["message"]
    assert session.scalar(select(Attachment.id)) is None


def test_both_endpoints_are_published_with_their_schemas(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    voice = spec["paths"]["/api/v1/voice"]["post"]
    assert "multipart/form-data" in voice["requestBody"]["content"]
    assert {"200", "400", "415", "503"} <= set(voice["responses"])
    ocr = spec["paths"]["/api/v1/invoices/ocr"]["post"]
    assert {"200", "400", "415", "503"} <= set(ocr["responses"])
    confirm = spec["paths"]["/api/v1/invoices/confirm"]["post"]
    assert {"201", "200", "409"} <= set(confirm["responses"])
    schemas = spec["components"]["schemas"]
    assert {"transcript", "engine", "attachment_id", "draft"} <= set(schemas["VoiceOut"]["properties"])
    assert {"fields", "confidence", "match", "candidates"} <= set(schemas["InvoiceReadOut"]["properties"])
    assert "receivable_id" in schemas["InvoiceConfirmIn"]["properties"]
