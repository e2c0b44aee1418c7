"""Image → text and fields (invoices): an engine interface with a cloud (Baidu AIP) and an offline engine.

Public API (used by the mini-program API): `read_invoice(image) -> InvoiceReading`, raising
`ImageRejected` (a Chinese message for the user) for anything that is not a usable photo. The engine is
Baidu's VAT-invoice OCR when `BAIDU_*` is configured, otherwise RapidOCR (PP-OCRv4, shipped inside the
`rapidocr-onnxruntime` wheel) with our own field extraction — see docs/voice-ocr.md.
"""

import os

# onnxruntime 1.29+ makes telemetry DNS lookups from its own threads; this machine has no internet and
# production should not phone home. It must be set before onnxruntime is first imported.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from salesnav.ocr.images import ImageRejected
from salesnav.ocr.invoice import InvoiceReading, read_invoice

__all__ = ["ImageRejected", "InvoiceReading", "read_invoice"]
