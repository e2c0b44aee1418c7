"""Voice notes and photos in the chat, end to end through the callback, the media job and the emulator.

The speech is espeak-ng reading Chinese, encoded to AMR as WeCom delivers it, recognised by the real
offline engine; the invoice is drawn with Pillow and read by the real offline OCR. The engine's exact
words are not asserted (espeak's Mandarin is robotic): the test recognises the same clip itself and
checks that the touchpoint carries the draft the rules make of that transcript.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from salesnav import clock
from salesnav import settings as app_settings
from salesnav.bot.emulator import callbacks
from salesnav.bot.emulator.state import STATE
from salesnav.models import (
    Attachment,
    AuditEntry,
    CaptureSource,
    Emotion,
    InboundStatus,
    Payment,
    Receivable,
    Touchpoint,
    TouchpointType,
)
from salesnav.models import session as db
from salesnav.ocr.samples import SampleInvoice, invoice_jpeg
from salesnav.settings import current_settings
from salesnav.voice import draft_from_transcript, transcribe
from salesnav.voice.audio import to_amr
from salesnav.voice.samples import espeak_available, speak_wav
from tests import factories as f
from tests.bot.chat import Chat, button, inbound_rows

SENTENCE = "明天下午三点给张主任回电话。"


@pytest.fixture(scope="module")
def spoken_amr() -> bytes:
    """A WeCom voice note: espeak-ng Mandarin, AMR-NB like the WeCom client records."""
    if not espeak_available():
        pytest.fail("espeak-ng is missing: run `make system-deps`")
    return to_amr(speak_wav(SENTENCE), "wav")


@pytest.fixture(scope="module")
def heard(spoken_amr: bytes) -> str:
    """What the offline engine hears in the clip (loads the model once for the module)."""
    text = transcribe(spoken_amr, "amr").text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    return text


@pytest.fixture(scope="module")
def invoice_photo() -> bytes:
    from salesnav.ocr import offline

    offline.load()
    return invoice_jpeg(SampleInvoice())  # 上海市第六人民医院, No. 08523671, ¥14,000.00


@pytest.fixture
def org(session, frozen_clock, live_app):
    org = f.org(session)
    f.customer(session, org.rep, name="北京协和医院")
    f.customer(session, org.rep, name="上海瑞金医院")
    recent = f.customer(session, org.rep, name="华山医院")
    f.touchpoint(session, org.rep, recent, occurred_at=clock.now() - timedelta(days=3), type=TouchpointType.PHONE)
    session.commit()
    return org


@pytest.fixture
def chat(live_app, org) -> Chat:
    return Chat(live_app, "rep01")


def send_voice(chat: Chat, audio: bytes) -> None:
    media = STATE.add_media("voice", "voice.amr", "audio/amr", audio)
    chat.post(callbacks.voice_xml(chat.settings, chat.userid, media.media_id))


def send_photo(chat: Chat, jpeg: bytes) -> None:
    media = STATE.add_media("image", "photo.jpg", "image/jpeg", jpeg)
    chat.post(callbacks.image_xml(chat.settings, chat.userid, media.media_id))


def two_taps(chat: Chat, customer: str) -> None:
    chat.click("TOUCHPOINT_NEW")
    chat.tap(chat.last_card(), button(chat.last_card(), customer))
    chat.tap(chat.last_card(), button(chat.last_card(), "积极"))


def touchpoints_of(customer: str) -> list[Touchpoint]:
    with db.transaction() as session:
        rows = list(session.scalars(select(Touchpoint).order_by(Touchpoint.id)))
        return [tp for tp in rows if tp.customer.name == customer]


def rows_of(card: dict) -> dict[str, str]:
    return {row["keyname"]: row["value"] for row in card.get("horizontal_content_list", [])}


# --- voice ---------------------------------------------------------------------------------------


def test_a_voice_note_after_two_taps_becomes_the_touchpoints_summary_and_next_action(chat, live_app, spoken_amr, heard):
    two_taps(chat, "北京协和医院")
    send_voice(chat, spoken_amr)

    expected = draft_from_transcript(heard, clock.now(), live_app.settings.business_tz)
    (tp,) = touchpoints_of("北京协和医院")
    assert tp.summary == expected.summary and tp.next_action == expected.next_action
    assert tp.next_action_due == expected.next_action_due
    assert (tp.source, tp.emotion) == (CaptureSource.CHAT_BUTTON, Emotion.POSITIVE)  # the taps stay as chosen
    assert "summary" in tp.guessed_fields and "emotion" not in tp.guessed_fields  # the rep tapped 积极
    with db.transaction() as session:
        voice = session.scalars(select(Attachment)).one()
        assert voice.content_type == "audio/amr" and tp.attachments == [voice.id]
    assert chat.last_text().startswith("✅ 语音已转成文字，补充到触点：北京协和医院")
    # where to correct it: the client's touchpoint page, on this very server
    assert chat.last_text().endswith(
        f"识别内容可能有误，在这里修改：{live_app.base_url}/m/pages/touchpoint/index?id={tp.id}"
    )
    assert rows_of(chat.last_card())["纪要"] != "（待补充）"  # the saved card now shows the summary


def test_a_voice_note_with_no_touchpoint_waiting_offers_a_draft_that_one_tap_saves(chat, live_app, spoken_amr, heard):
    send_voice(chat, spoken_amr)

    card = chat.last_card()
    assert card["main_title"]["title"] == "语音草稿 · 点客户即保存为触点"
    assert [b["text"] for b in card["button_list"]][-1] == "不保存"
    assert touchpoints_of("上海瑞金医院") == []  # a draft only

    chat.tap(card, button(card, "上海瑞金医院"))
    expected = draft_from_transcript(heard, clock.now(), live_app.settings.business_tz)
    (tp,) = touchpoints_of("上海瑞金医院")
    assert tp.source is CaptureSource.VOICE and tp.type is TouchpointType.PHONE  # the rep's usual type
    assert tp.summary == expected.summary and tp.next_action == expected.next_action
    assert {"summary", "type"} <= set(tp.guessed_fields)
    with db.transaction() as session:
        assert tp.attachments == [session.scalars(select(Attachment.id)).one()]
    assert chat.last_card()["main_title"]["title"] == "✅ 触点已保存 · 上海瑞金医院"

    chat.tap(card, button(card, "北京协和医院"))  # the old card tapped again
    assert "已经处理过了" in chat.last_text()
    assert touchpoints_of("北京协和医院") == []


DEC_8_18H_SHANGHAI = (12, 8, 18, 0)


def _local_due(tp: Touchpoint, live_app) -> tuple[int, int, int, int]:
    local = tp.next_action_due.astimezone(live_app.settings.business_tz)
    return local.month, local.day, local.hour, local.minute


def test_a_next_step_typed_after_the_voice_note_completes_the_same_touchpoint(chat, live_app, spoken_amr, heard):
    two_taps(chat, "北京协和医院")
    send_voice(chat, spoken_amr)
    (tp,) = touchpoints_of("北京协和医院")
    voice_summary = tp.summary

    chat.say("下一步：12月8日前送样")
    (tp,) = touchpoints_of("北京协和医院")
    assert tp.next_action == "送样" and _local_due(tp, live_app) == DEC_8_18H_SHANGHAI
    assert tp.summary == voice_summary  # the typed next step is not appended to the summary
    assert chat.last_text().startswith("✅ 已补充到触点：北京协和医院")
    assert "下一步：送样（12月8日 18:00）" in chat.last_text()


def test_a_next_step_typed_after_a_saved_voice_draft_completes_it_and_its_card(chat, live_app, spoken_amr, heard):
    send_voice(chat, spoken_amr)
    card = chat.last_card()
    chat.tap(card, button(card, "上海瑞金医院"))

    chat.say("下一步：12月8日前送样")
    (tp,) = touchpoints_of("上海瑞金医院")
    assert tp.next_action == "送样" and _local_due(tp, live_app) == DEC_8_18H_SHANGHAI
    assert rows_of(chat.last_card())["下一步"] == "送样（12月8日 18:00）"
    assert not chat.last_text().startswith("没看懂")


def test_a_voice_draft_can_be_dropped_and_nothing_is_recorded(chat, spoken_amr, heard):
    send_voice(chat, spoken_amr)
    card = chat.last_card()
    chat.tap(card, button(card, "不保存"))
    assert chat.last_card()["main_title"]["title"] == "语音草稿未保存"
    with db.transaction() as session:
        assert session.scalars(select(Touchpoint).where(Touchpoint.source == CaptureSource.VOICE)).all() == []


def test_when_the_speech_engine_cannot_start_the_note_is_kept_and_the_rep_is_told(
    chat, spoken_amr, tmp_path, monkeypatch
):
    # An operator set SALESNAV_ASR_MODEL_DIR to a directory without a model in it.
    running = current_settings()
    monkeypatch.setattr(app_settings, "_configured", replace(running, asr_model_dir=str(tmp_path)))
    two_taps(chat, "北京协和医院")
    send_voice(chat, spoken_amr)
    assert chat.last_text().startswith("语音已保存，但语音识别服务暂时不可用")
    (tp,) = touchpoints_of("北京协和医院")
    assert len(tp.attachments) == 1 and tp.summary == ""
    assert inbound_rows()[-1].status is InboundStatus.PROCESSED


def test_audio_too_short_to_hold_a_word_is_answered_in_chinese_not_failed(chat):
    send_voice(chat, b"#!AMR\n" + b"\x00" * 64)  # four silent frames: 80 ms
    assert chat.last_text() == "语音太短，请按住说话至少 1 秒。"
    assert inbound_rows()[-1].status is InboundStatus.PROCESSED


# --- photos and invoices -------------------------------------------------------------------------


@pytest.fixture
def receivables(session, org):
    mine = f.customer(session, org.rep, name="上海第六人民医院")
    theirs = f.customer(session, org.outsider_rep, name="上海市第六人民医院")
    rows = {
        "mine": Receivable(customer_id=mine.id, amount_fen=1_400_000, due_date=date(2024, 4, 5)),
        "theirs": Receivable(customer_id=theirs.id, amount_fen=1_400_000, due_date=date(2024, 4, 5)),
    }
    session.add_all(rows.values())
    session.commit()
    return rows


def test_an_invoice_photo_shows_its_fields_and_receivable_and_one_tap_records_the_payment_once(
    chat, receivables, invoice_photo, frozen_clock
):
    send_photo(chat, invoice_photo)
    card = chat.last_card()
    assert card["main_title"]["title"] == "识别到发票"
    fields = rows_of(card)
    assert fields["发票号码"] == "08523671" and fields["价税合计"] == "¥14,000.00"
    assert fields["对应应收"] == "上海第六人民医院 未回款 ¥14,000.00"  # the rep's own customer, not the namesake
    assert [b["text"] for b in card["button_list"]] == ["确认回款", "不是发票"]
    with db.transaction() as session:
        assert session.scalar(select(Payment.id)) is None

    chat.tap(card, button(card, "确认回款"))
    assert chat.last_card()["main_title"]["title"] == "✅ 已登记回款"
    assert chat.last_text() == "✅ 已登记回款：发票 08523671，¥14,000.00，该应收款尚余 ¥0.00。"
    frozen_clock.advance(timedelta(seconds=5))  # a second tap, not WeCom retrying the first
    chat.tap(card, button(card, "确认回款"))  # tapped twice: still one payment
    assert chat.last_text().startswith("该发票此前已登记，未重复记录")
    with db.transaction() as session:
        payment = session.scalars(select(Payment)).one()
        assert (payment.receivable_id, payment.amount_fen, payment.invoice_no) == (
            receivables["mine"].id,
            1_400_000,
            "08523671",
        )
        assert payment.invoice_date == date(2024, 3, 5) and payment.attachment_id is not None
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "payment")).one().after["corrected"]
            == []
        )


def test_not_an_invoice_files_the_photo_without_a_payment(chat, receivables, invoice_photo):
    two_taps(chat, "北京协和医院")
    send_photo(chat, invoice_photo)
    card = chat.last_card()
    chat.tap(card, button(card, "不是发票"))
    assert chat.last_card()["main_title"]["title"] == "已作为普通图片保存"
    assert chat.last_text() == "好的，不作为发票处理，图片已保存，并附到刚记录的触点（北京协和医院）。"
    (tp,) = touchpoints_of("北京协和医院")
    assert len(tp.attachments) == 1
    with db.transaction() as session:
        assert session.scalar(select(Payment.id)) is None


def test_a_photo_that_is_no_invoice_is_attached_to_the_touchpoint_waiting_for_it(chat, invoice_photo):
    photo = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 160, 200)).save(photo, format="JPEG")
    two_taps(chat, "北京协和医院")
    send_photo(chat, photo.getvalue())
    assert chat.last_text() == "图片已保存，并附到刚记录的触点（北京协和医院）。"
    (tp,) = touchpoints_of("北京协和医院")
    with db.transaction() as session:
        assert tp.attachments == [session.scalars(select(Attachment.id)).one()]


def test_a_forged_confirm_button_cannot_record_a_payment_on_another_reps_receivable(
    chat, live_app, receivables, invoice_photo
):
    send_photo(chat, invoice_photo)
    card = chat.last_card()
    attachment_id = button(card, "不是发票").split(":")[2]
    forged = f"inv:ok:{attachment_id}:{receivables['theirs'].id}"
    chat.post(
        callbacks.template_card_event_xml(
            live_app.settings, "rep01", task_id=card["task_id"], key=forged, response_code="rc-forged"
        )
    )
    assert chat.last_text() == "应收款不存在或您无权查看"
    with db.transaction() as session:
        assert session.scalar(select(Payment.id)) is None
