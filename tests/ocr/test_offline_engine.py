"""The offline engine really reads a generated Chinese VAT invoice photo (no network, no downloads)."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal

import pytest

from salesnav.ocr import read_invoice
from salesnav.ocr.invoice import engine_for
from salesnav.ocr.samples import SampleInvoice, invoice_jpeg
from salesnav.settings import Settings

OFFLINE = Settings(database_url="sqlite://")
INVOICE = SampleInvoice(
    code="310022118899", number="40127755", date=date(2025, 1, 9), amount=Decimal("3539.82"), tax=Decimal("460.18")
)


@pytest.mark.parametrize("photo", [{}, {"rotate": 90}, {"rotate": 180}], ids=["upright", "exif-90", "exif-180"])
def test_reads_number_date_and_total_exactly(photo: dict[str, int]) -> None:
    reading = read_invoice(invoice_jpeg(INVOICE, **photo), settings=OFFLINE)

    assert reading.number == "40127755"
    assert reading.date == date(2025, 1, 9)
    assert reading.total == Decimal("4000.00")
    assert reading.code == "310022118899"
    assert reading.buyer == INVOICE.buyer and reading.seller == INVOICE.seller
    assert reading.confidence["total"] > 0.8
    assert reading.engine.startswith("rapidocr")


def test_headless_opencv_is_the_one_imported() -> None:
    import importlib.metadata

    import cv2  # noqa: F401 - imported by the engine anyway

    installed = {dist.metadata["Name"].lower() for dist in importlib.metadata.distributions()}
    assert "opencv-python-headless" in installed
    assert "opencv-python" not in installed
    assert "cv2" in sys.modules


def test_offline_engine_is_chosen_without_baidu_credentials() -> None:
    assert engine_for(OFFLINE).name.startswith("rapidocr")
    assert engine_for(OFFLINE) is engine_for(OFFLINE)  # loaded once per process


def test_onnxruntime_threads_sleep_instead_of_spinning() -> None:
    from salesnav.ocr import offline

    engine = offline._rapidocr()
    sessions = (engine.text_det.infer, engine.text_cls.infer, engine.text_rec.session)  # type: ignore[attr-defined]
    for wrapper in sessions:
        options = wrapper.session.get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
