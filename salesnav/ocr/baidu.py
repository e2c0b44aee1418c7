"""Baidu AIP VAT-invoice OCR (`AipOcr.vatInvoice`), used when BAIDU_* is configured.

Baidu cannot be reached from development machines; the request building and the response mapping
are plain functions so they are tested without the network. The client itself is the `baidu-aip`
package's, called exactly as its documentation shows.
"""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from salesnav.ocr.images import ImageRejected
from salesnav.ocr.reading import FIELDS, InvoiceReading

if TYPE_CHECKING:
    from PIL import Image

    from salesnav.settings import BaiduSettings

ENGINE_NAME = "baidu-aip/vat_invoice"
# The plain vat_invoice response carries no per-field score; a cloud read of a present field is trusted
# this much, and the rep still confirms every field before anything is recorded.
CLOUD_CONFIDENCE = 0.9
# Baidu refuses images whose base64 form exceeds 4 MB.
MAX_JPEG_BYTES = 3 * 1024 * 1024

# Our field → Baidu's words_result key (Baidu's own spelling, "Figuers" included).
BAIDU_KEYS = {
    "code": "InvoiceCode",
    "number": "InvoiceNum",
    "date": "InvoiceDate",
    "buyer": "PurchaserName",
    "seller": "SellerName",
    "amount": "TotalAmount",
    "tax": "TotalTax",
    "total": "AmountInFiguers",
}


class BaiduOcrError(RuntimeError):
    """Baidu answered with an error code (quota, auth, …): an operator problem, not the user's."""


def jpeg_for_upload(image: Image.Image) -> bytes:
    """The upright, downsized image as JPEG bytes small enough for Baidu."""
    for quality in (90, 80, 65):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() <= MAX_JPEG_BYTES:
            return out.getvalue()
    raise ImageRejected("图片过大，无法上传识别，请降低分辨率后重试。")


def vat_invoice_options() -> dict[str, str]:
    # "normal" = the recognition mode for paper and photo invoices (the default), stated for clarity.
    return {"type": "normal"}


def _money(raw: str) -> Decimal | None:
    cleaned = re.sub(r"[^\d.\-]", "", raw or "")
    try:
        return Decimal(cleaned) if cleaned else None
    except InvalidOperation:
        return None


def _date(raw: str) -> date | None:
    match = re.search(r"(\d{4})\D+(\d{1,2})\D+(\d{1,2})", raw or "")
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def reading_from_response(response: dict[str, Any]) -> InvoiceReading:
    """Map Baidu's vat_invoice JSON to our InvoiceReading (raises BaiduOcrError on an error answer)."""
    if "error_code" in response:
        raise BaiduOcrError(f"Baidu OCR error {response.get('error_code')}: {response.get('error_msg')}")
    words = response.get("words_result") or {}
    values: dict[str, Any] = {}
    for name, key in BAIDU_KEYS.items():
        raw = str(words.get(key) or "").strip()
        if name in ("amount", "tax", "total"):
            values[name] = _money(raw)
        elif name == "date":
            values[name] = _date(raw)
        else:
            values[name] = raw or None
    confidence = {name: (CLOUD_CONFIDENCE if values[name] is not None else 0.0) for name in FIELDS}
    return InvoiceReading(**values, confidence=confidence, engine=ENGINE_NAME)


class BaiduInvoiceEngine:
    name = ENGINE_NAME

    def __init__(self, baidu: BaiduSettings, *, timeout_ms: int = 10_000) -> None:
        from aip import AipOcr  # Baidu's SDK; loaded only when the Baidu engine is chosen

        self.client = AipOcr(baidu.app_id, baidu.api_key, baidu.secret_key)
        self.client.setConnectionTimeoutInMillis(timeout_ms)
        self.client.setSocketTimeoutInMillis(timeout_ms)

    def read(self, image: Image.Image) -> InvoiceReading:
        response = self.client.vatInvoice(jpeg_for_upload(image), vat_invoice_options())
        return reading_from_response(response)
