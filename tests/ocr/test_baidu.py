"""Baidu's VAT-invoice OCR: chosen when configured; request and response mapping (Baidu is unreachable here)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from PIL import Image

from salesnav.ocr.baidu import BaiduInvoiceEngine, BaiduOcrError, jpeg_for_upload, reading_from_response
from salesnav.ocr.invoice import engine_for
from salesnav.settings import BaiduSettings, Settings

BAIDU = Settings(database_url="sqlite://", baidu=BaiduSettings(app_id="1", api_key="k", secret_key="s"))


def test_baidu_engine_is_chosen_when_credentials_are_set() -> None:
    engine = engine_for(BAIDU)
    assert isinstance(engine, BaiduInvoiceEngine)
    assert (engine.client._appId, engine.client._apiKey) == ("1", "k")  # baidu-aip's own attribute names


def test_upload_is_a_jpeg_within_baidus_limit() -> None:
    data = jpeg_for_upload(Image.new("RGB", (2000, 1400), "white"))
    assert data[:2] == b"\xff\xd8" and len(data) < 3 * 1024 * 1024


def test_response_is_mapped_to_our_fields() -> None:
    response = {
        "log_id": 1,
        "words_result_num": 8,
        "words_result": {
            "InvoiceCode": "144031900111",
            "InvoiceNum": "08523671",
            "InvoiceDate": "2024年03月05日",
            "PurchaserName": "上海市第六人民医院",
            "SellerName": "杭州明远医疗器械有限公司",
            "TotalAmount": "12389.38",
            "TotalTax": "1610.62",
            "AmountInFiguers": "14000.00",
        },
    }
    reading = reading_from_response(response)
    assert reading.number == "08523671" and reading.date == date(2024, 3, 5)
    assert reading.total == Decimal("14000.00") and reading.tax == Decimal("1610.62")
    assert reading.confidence["total"] == 0.9 and reading.engine == "baidu-aip/vat_invoice"


def test_missing_fields_have_zero_confidence() -> None:
    reading = reading_from_response({"words_result": {"InvoiceNum": "08523671", "TotalTax": "***"}})
    assert reading.tax is None and reading.confidence["tax"] == 0.0
    assert reading.confidence["number"] == 0.9


def test_error_answer_is_an_operator_error() -> None:
    with pytest.raises(BaiduOcrError, match="17"):
        reading_from_response({"error_code": 17, "error_msg": "Open api daily request limit reached"})
