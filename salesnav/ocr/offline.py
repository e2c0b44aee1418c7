"""The offline invoice engine: RapidOCR (PP-OCRv4 ONNX models shipped in its wheel) + our extraction.

Loaded once per process on first use; nothing is downloaded. The models run on onnxruntime with two
intra-op threads (this service runs on 2-core machines, and a third thread only adds contention).
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from salesnav.ocr.fields import extract_invoice
from salesnav.ocr.reading import InvoiceReading, OcrLine

if TYPE_CHECKING:
    from PIL import Image

ENGINE_NAME = "rapidocr-onnxruntime-1.4.4/PP-OCRv4"
THREADS = 2

_lock = threading.Lock()
_engine: object | None = None
load_seconds: float | None = None


def _rapidocr() -> object:
    global _engine, load_seconds
    with _lock:
        if _engine is None:
            started = time.perf_counter()
            from rapidocr_onnxruntime import RapidOCR  # the OCR engine (onnxruntime) is large; loaded on first use

            _without_spinning()
            _engine = RapidOCR(intra_op_num_threads=THREADS, inter_op_num_threads=1, print_verbose=False)
            load_seconds = time.perf_counter() - started
        return _engine


def _without_spinning() -> None:
    """Make onnxruntime's idle worker threads sleep instead of spin-waiting.

    By default they spin between operators, which on a 2-core machine shared with the web workers (and
    the speech model) steals the CPU the other thread needs: measured here under load, one invoice took
    3.0 s wall / 3.3 s CPU spinning and 1.3 s wall / 2.2 s CPU without. rapidocr-onnxruntime 1.4.4 (pinned)
    builds its SessionOptions in one static method and offers no option for this, so we wrap it.
    """
    from rapidocr_onnxruntime.utils import infer_engine  # the OCR engine; loaded on first use

    session = infer_engine.OrtInferSession
    build = session._init_sess_opts
    if getattr(build, "salesnav_no_spin", False):
        return

    def build_without_spinning(config: dict) -> object:
        options = build(config)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return options

    build_without_spinning.salesnav_no_spin = True  # type: ignore[attr-defined]  # a marker attribute on the function, read by the patched builder
    session._init_sess_opts = staticmethod(build_without_spinning)


def load() -> float:
    """Load the models now (e.g. at worker start or in a benchmark); returns the seconds it took."""
    _rapidocr()
    return load_seconds or 0.0


def recognise_lines(image: Image.Image) -> list[OcrLine]:
    """The text lines RapidOCR finds in an upright RGB image."""
    import numpy as np  # with the OCR engine, on first use

    engine = _rapidocr()
    # RapidOCR treats a 3-channel array as OpenCV's BGR order; Pillow gives RGB.
    pixels = np.ascontiguousarray(np.asarray(image)[:, :, ::-1])
    with _lock:
        # One inference at a time: on 2 cores two concurrent runs are slower than two in a row, and
        # RapidOCR's object keeps per-call state we do not want to share between threads.
        result, _elapsed = engine(pixels)  # type: ignore[operator]  # rapidocr's engine is callable; its package has no types
    lines = []
    for box, text, score in result or []:
        xs = [float(point[0]) for point in box]
        ys = [float(point[1]) for point in box]
        lines.append(OcrLine(text=str(text), score=float(score), box=(min(xs), min(ys), max(xs), max(ys))))
    return lines


class OfflineInvoiceEngine:
    name = ENGINE_NAME

    def read(self, image: Image.Image) -> InvoiceReading:
        return extract_invoice(recognise_lines(image), engine=self.name)
