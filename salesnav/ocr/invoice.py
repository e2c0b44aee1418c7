"""`read_invoice`: photo bytes → InvoiceReading, with the engine chosen by settings."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol

from salesnav.ocr.baidu import BaiduInvoiceEngine
from salesnav.ocr.images import load_photo
from salesnav.ocr.offline import OfflineInvoiceEngine
from salesnav.ocr.reading import InvoiceReading
from salesnav.settings import Settings, current_settings

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["InvoiceEngine", "InvoiceReading", "engine_for", "read_invoice"]


class InvoiceEngine(Protocol):
    name: str

    def read(self, image: Image.Image) -> InvoiceReading: ...


_lock = threading.Lock()
_engines: dict[tuple[str, ...], InvoiceEngine] = {}


def engine_for(settings: Settings) -> InvoiceEngine:
    """Baidu's VAT-invoice OCR when BAIDU_* is configured, otherwise the offline engine (one per process)."""
    baidu = settings.baidu
    key = ("baidu", baidu.app_id, baidu.api_key, baidu.secret_key) if baidu.configured else ("offline",)
    with _lock:
        if key not in _engines:
            if baidu.configured:
                _engines[key] = BaiduInvoiceEngine(baidu)
            else:
                _engines[key] = OfflineInvoiceEngine()
        return _engines[key]


def read_invoice(image: bytes, *, settings: Settings | None = None) -> InvoiceReading:
    """Read a photo of a Chinese VAT invoice.

    Raises ImageRejected (Chinese message) for non-images, decompression bombs and oversized uploads.
    The result is a draft: the user confirms it before any payment is recorded.
    """
    photo = load_photo(image)
    return engine_for(settings or current_settings()).read(photo)
